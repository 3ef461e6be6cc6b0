"""The notifier tests use the real local sinks of ``tests/sinks.py`` (see tests/conftest.py)."""
