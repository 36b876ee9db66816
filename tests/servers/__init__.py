"""Session-scoped fixtures that start real servers. Every module here is loaded as a pytest
plugin by tests/conftest.py, so a fixture defined here is available to every test."""
