// Flows module.
