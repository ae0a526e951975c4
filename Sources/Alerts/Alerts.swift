// Alerts module.
