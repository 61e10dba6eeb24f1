"""Errors of access control, one root, each saying how the HTTP layer answers it."""

from __future__ import annotations

from recaudit.settings import SettingsError


class AccessError(Exception):
    """Root of every error access control raises on purpose."""


class TokenConfigError(AccessError, SettingsError):
    """The token configuration is malformed; the process must not start."""


class Refused(AccessError):
    """A request is refused before it reaches a route; nothing was recorded."""

    status = 403
    code = "forbidden"
    headers: dict[str, str] | None = None
    fields: list[str] | None = None


class Unauthenticated(Refused):
    status = 401
    code = "unauthenticated"

    def __init__(self, message: str, *, invalid: bool = False) -> None:
        super().__init__(message)
        challenge = 'Bearer realm="recaudit"'
        if invalid:
            challenge += ', error="invalid_token"'
        self.headers = {"WWW-Authenticate": challenge}


class Forbidden(Refused):
    status = 403
    code = "forbidden"


class NotVisible(Refused):
    """A call the principal may not see: answered exactly as an unknown call."""

    status = 404
    code = "unknown_call"


class CallIdTaken(Refused):
    """A new call's id is already used by a call the principal may not see."""

    status = 409
    code = "call_id_taken"


class ActorMismatch(Refused):
    """The body names another actor than the token's."""

    status = 422
    code = "invalid_request"

    def __init__(self, field: str, expected: str) -> None:
        super().__init__(
            f"{field}: the actor is taken from the access token; send {expected!r} "
            "(the token's name) or use that name's token"
        )
        self.fields = [field]


class BodyTooLarge(Refused):
    status = 413
    code = "body_too_large"


class StoreDown(Refused):
    """The event store cannot be read to decide on the request; retry later."""

    status = 503
    code = "store_unavailable"
