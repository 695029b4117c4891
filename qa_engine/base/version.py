"""The package's version, in one place below everything that records it (run.json, --version)."""

__version__ = "0.1.0"
