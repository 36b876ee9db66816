"""Detectors: each reads the few files that matter for one area and yields evidence."""
