// Sensor module.
