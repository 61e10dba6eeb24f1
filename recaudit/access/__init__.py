"""Access control: bearer tokens with roles, what each role may do, and whose a call is.

The HTTP gate that enforces it is `recaudit.http.access`.
"""

from __future__ import annotations

from recaudit.access.errors import AccessError, TokenConfigError
from recaudit.access.rules import PERMISSIONS, Action, Reach
from recaudit.access.tokens import Principal, Role, TokenTable, digest, load
from recaudit.settings import Settings

__all__ = [
    "PERMISSIONS",
    "AccessError",
    "Action",
    "Principal",
    "Reach",
    "Role",
    "TokenConfigError",
    "TokenTable",
    "digest",
    "load_tokens",
]


def load_tokens(settings: Settings) -> TokenTable:
    """The tokens configured by RECAUDIT_TOKENS_FILE and RECAUDIT_TOKENS (may be empty)."""
    files = [settings.tokens_file] if settings.tokens_file is not None else []
    texts = [("RECAUDIT_TOKENS", settings.tokens)] if settings.tokens is not None else []
    return load(files, texts)
