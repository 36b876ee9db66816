"""Built-in probes, one sub-package per target kind; registered as entry points like any plugin."""
