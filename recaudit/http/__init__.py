"""The HTTP entry point: routes, the access gate, body limits and the one table that
turns errors into answers."""
