"""recaudit: an event-sourced audit backend for call recording."""

__version__ = "0.1.0"
