"""cms: command-line administration for the university course platform."""

__version__ = "0.1.0"
