"""Errors of access control, one root; each says why a request is refused.

How each is answered over HTTP is decided by `recaudit.http.errors`.
"""

from __future__ import annotations

from recaudit.settings import SettingsError


class AccessError(Exception):
    """Root of every error access control raises on purpose."""


class TokenConfigError(AccessError, SettingsError):
    """The token configuration is malformed; the process must not start."""


class Refused(AccessError):
    """A request is refused before it reaches a route; nothing was recorded."""

    fields: list[str] | None = None


class Unauthenticated(Refused):
    """No usable access token; `invalid` when one was sent but is not valid."""

    def __init__(self, message: str, *, invalid: bool = False) -> None:
        super().__init__(message)
        self.invalid = invalid


class Forbidden(Refused):
    """The token's role or organisation does not allow the request."""


class CsrfMissing(Refused):
    """A state-changing request of a console session without the session's CSRF token."""


class NotVisible(Refused):
    """A call the principal may not see: answered exactly as an unknown call."""


class CallIdTaken(Refused):
    """A new call's id is already used by a call the principal may not see."""


class ActorMismatch(Refused):
    """The body names another actor than the token's."""

    def __init__(self, field: str, expected: str) -> None:
        super().__init__(
            f"{field}: the actor is taken from the access token; send {expected!r} "
            "(the token's name) or use that name's token"
        )
        self.fields = [field]


class BodyTooLarge(Refused):
    """The request body is larger than the configured limit."""
