"""Console sessions: who signed in with which token, kept on the server.

The browser holds only a random session id (an HttpOnly, SameSite=Strict cookie), never
the token. Each session has its own CSRF token, which every state-changing request from
the console must carry (a form field, or the `X-CSRF-Token` header of the page's
scripts). Sessions expire after the configured time (`RECAUDIT_CONSOLE_SESSION_S`) and
live in this process's memory: a restart signs everyone out.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from recaudit.access.tokens import Principal

COOKIE = "recaudit_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
# Most sessions kept at once; past it the oldest are dropped (their holders sign in again).
CAPACITY = 10_000


@dataclass(frozen=True)
class Session:
    id: str
    principal: Principal
    csrf: str
    expires: float  # on the store's clock

    def allows(self, given: str | None) -> bool:
        """Whether `given` is this session's CSRF token (compared in constant time)."""
        return given is not None and hmac.compare_digest(given.encode(), self.csrf.encode())


class SessionStore:
    def __init__(self, lifetime_s: float, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.lifetime_s = lifetime_s
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, principal: Principal) -> Session:
        session = Session(secrets.token_urlsafe(32), principal, secrets.token_urlsafe(32),
                          self.clock() + self.lifetime_s)
        with self._lock:
            self._drop_expired()
            while len(self._sessions) >= CAPACITY:
                del self._sessions[next(iter(self._sessions))]
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session of that id; None for none, or one that has expired."""
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.expires <= self.clock():
                del self._sessions[session_id]
                return None
            return session

    def close(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def __len__(self) -> int:
        with self._lock:
            self._drop_expired()
            return len(self._sessions)

    def _drop_expired(self) -> None:
        now = self.clock()
        for key in [k for k, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[key]


def cookie_value(headers: list[tuple[bytes, bytes]] | tuple[tuple[bytes, bytes], ...],
                 name: str = COOKIE) -> str | None:
    """The value of cookie `name` in a request's headers (the first one sent)."""
    for key, value in headers:
        if key != b"cookie":
            continue
        for part in value.decode("latin-1").split(";"):
            found, _, given = part.strip().partition("=")
            if found == name:
                return given
    return None
