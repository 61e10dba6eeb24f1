"""Access tokens: who holds one, and the configuration that lists them by hash only.

A token is a random string given to one client; the server keeps only its SHA-256
hash, with the name the client acts as, its role and its organisation. One entry per
line, whitespace-separated `key=value` pairs, `#` starts a comment:

    sha256=<64 hex digits> name=<actor> role=<role> org=<org_id or *> [agent=<agent_id>]

`agent` is required for (and only allowed on) the agent role; `org=*` (every
organisation) is allowed for auditor, admin and media only.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from recaudit.access.errors import TokenConfigError

EVERY_ORG = "*"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")
DIGEST = re.compile(r"[0-9a-f]{64}")
# What a presented token may look like: printable ASCII, no spaces, bounded.
PRESENTED = re.compile(r"[\x21-\x7e]{16,512}")
KEYS = ("sha256", "name", "role", "org", "agent")


class Role(str, Enum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"
    MEDIA = "media"


# Roles whose tokens may cover every organisation (org=*).
GLOBAL_ROLES = frozenset({Role.AUDITOR, Role.ADMIN, Role.MEDIA})


@dataclass(frozen=True)
class Principal:
    """Who a request comes from, as its token says."""

    name: str
    role: Role
    org: str
    agent_id: str | None = None

    def covers(self, org_id: str) -> bool:
        return self.org in (EVERY_ORG, org_id)

    def describe(self) -> str:
        agent = f", agent {self.agent_id}" if self.agent_id else ""
        return f"{self.name} ({self.role.value}, org {self.org}{agent})"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenTable:
    """The configured tokens, by hash. Empty: access control is off."""

    def __init__(self, entries: Mapping[str, Principal] | None = None) -> None:
        self._by_digest = dict(entries or {})

    def __len__(self) -> int:
        return len(self._by_digest)

    @property
    def enabled(self) -> bool:
        return bool(self._by_digest)

    def principal(self, token: str) -> Principal | None:
        """The holder of `token`, or None for an unknown or malformed token."""
        if not PRESENTED.fullmatch(token):
            return None
        # Looked up by hash: timing can only reveal something about the SHA-256 of the
        # presented string, which a caller cannot steer towards a configured hash.
        return self._by_digest.get(digest(token))

    def digests(self) -> frozenset[str]:
        return frozenset(self._by_digest)


def parse(text: str, source: str) -> dict[str, Principal]:
    """The entries of one configuration text; `source` names it in error messages."""
    entries: dict[str, Principal] = {}
    for number, raw in enumerate(re.split(r"[\n;]", text), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source}, entry {number}"
        hashed, principal = _entry(line, where)
        if hashed in entries:
            raise TokenConfigError(f"{where}: this token hash is listed twice")
        entries[hashed] = principal
    return entries


def _entry(line: str, where: str) -> tuple[str, Principal]:
    fields = _fields(line, where)
    hashed = fields.get("sha256", "")
    if not DIGEST.fullmatch(hashed):
        raise TokenConfigError(f"{where}: sha256 must be the token's SHA-256 as 64 lowercase "
                               "hex digits (`recaudit token` prints the line to add)")
    try:
        role = Role(fields.get("role", ""))
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise TokenConfigError(f"{where}: role must be one of {roles}") from None
    principal = Principal(fields.get("name", ""), role, fields.get("org", ""),
                          fields.get("agent"))
    check_principal(principal, where)
    return hashed, principal


def _fields(line: str, where: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in line.split():
        key, sep, value = pair.partition("=")
        if key == "token":
            raise TokenConfigError(f"{where}: the configuration holds token hashes only, "
                                   "never tokens: write sha256=<hash> (see `recaudit token`)")
        if not sep or key not in KEYS:
            raise TokenConfigError(f"{where}: expected key=value pairs with keys "
                                   f"{', '.join(KEYS)}; got {pair[:40]!r}")
        if key in fields:
            raise TokenConfigError(f"{where}: {key} is given twice")
        fields[key] = value
    return fields


def check_principal(principal: Principal, where: str) -> None:
    """Raise TokenConfigError unless `principal` is a coherent token holder."""
    if not NAME.fullmatch(principal.name):
        raise TokenConfigError(f"{where}: name must be 1-128 of A-Z a-z 0-9 . _ : @ - "
                               "(it is recorded as the actor of every command)")
    if principal.org == EVERY_ORG:
        if principal.role not in GLOBAL_ROLES:
            raise TokenConfigError(f"{where}: org=* (every organisation) is for auditor, "
                                   f"admin and media tokens, not {principal.role.value}")
    elif not NAME.fullmatch(principal.org):
        raise TokenConfigError(f"{where}: org must be an organisation id or *")
    if principal.role is Role.AGENT:
        if principal.agent_id is None or not NAME.fullmatch(principal.agent_id):
            raise TokenConfigError(f"{where}: an agent token needs agent=<agent_id>")
    elif principal.agent_id is not None:
        raise TokenConfigError(f"{where}: agent= is only for agent tokens")


def load(files: Iterable[Path], texts: Iterable[tuple[str, str]]) -> TokenTable:
    """The table from token files and (source, text) pairs; a named file must list one."""
    entries: dict[str, Principal] = {}
    sources = [(str(f), _read(f)) for f in files] + list(texts)
    for source, text in sources:
        found = parse(text, source)
        if not found:
            raise TokenConfigError(f"{source} lists no tokens; remove the setting to run "
                                   "without access control")
        duplicates = entries.keys() & found.keys()
        if duplicates:
            raise TokenConfigError(f"{source}: a token hash is also listed elsewhere")
        entries |= found
    return TokenTable(entries)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise TokenConfigError(f"cannot read the tokens file {path}: {exc.strerror}") from None


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe). It never starts with `-`, which a command
    line would read as an option (`--token -x...`)."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def entry_line(token: str, principal: Principal) -> str:
    """The configuration line for `token` held by `principal` (the hash, not the token)."""
    line = (f"sha256={digest(token)} name={principal.name} role={principal.role.value} "
            f"org={principal.org}")
    return line + (f" agent={principal.agent_id}" if principal.agent_id else "")
