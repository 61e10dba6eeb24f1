"""Every role against representative routes: what is allowed, and how a refusal answers.

A refusal must leave every store as it was: the event store's head and the audio held.
Calls of another organisation (and, for agents, of another agent) answer exactly like
calls that do not exist: 404 `unknown_call`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.security import routes as r
from tests.security.helpers import Secured, error_of


@dataclass(frozen=True)
class Expect:
    who: str | None
    build: r.Builder
    target: tuple[str, str | None]
    status: int
    code: str | None = None  # for refusals

    def id(self) -> str:
        return f"{self.who or 'no-token'}-{self.build.__name__}-{'/'.join(map(str, self.target))}"


def allow(who: str, build: r.Builder, target: tuple[str, str | None], status: int) -> Expect:
    return Expect(who, build, target, status)


def forbid(who: str | None, build: r.Builder, target: tuple[str, str | None]) -> Expect:
    return Expect(who, build, target, 403, "forbidden")


def hidden(who: str, build: r.Builder, target: tuple[str, str | None]) -> Expect:
    return Expect(who, build, target, 404, "unknown_call")


def anonymous(build: r.Builder, target: tuple[str, str | None]) -> Expect:
    return Expect(None, build, target, 401, "unauthenticated")


OWN, COLLEAGUE, OTHER = r.OWN, r.COLLEAGUE, r.OTHER_ORG
TO_BOB, FROM_BOB = r.HANDED_TO_BOB, r.HANDED_FROM_BOB
ACME, GLOBEX, NONE = r.ACME, r.GLOBEX, r.NO_TARGET

MATRIX = [
    # An agent: its own calls only.
    allow("agent-bob", r.start_call, OWN, 201),
    forbid("agent-bob", r.start_call, COLLEAGUE),
    forbid("agent-bob", r.start_call, OTHER),
    allow("agent-bob", r.command, OWN, 200),
    allow("agent-bob", r.end_call, OWN, 200),
    hidden("agent-bob", r.command, COLLEAGUE),
    hidden("agent-bob", r.command, OTHER),
    allow("agent-bob", r.read_call, OWN, 200),
    hidden("agent-bob", r.read_call, COLLEAGUE),
    hidden("agent-bob", r.timeline, COLLEAGUE),
    allow("agent-bob", r.recordings, OWN, 200),
    forbid("agent-bob", r.audio, OWN),
    forbid("agent-bob", r.set_policy, ACME),
    forbid("agent-bob", r.read_policy, ACME),
    forbid("agent-bob", r.rebuild, NONE),
    # After a transfer: the agent who has the call now may do everything; the one who had
    # it may read it (403 for commands, which store nothing); others still see nothing.
    allow("agent-bob", r.transfer, OWN, 200),
    hidden("agent-bob", r.transfer, COLLEAGUE),
    hidden("agent-bob", r.transfer, OTHER),
    allow("agent-bob", r.command, TO_BOB, 200),
    allow("agent-bob", r.transfer, TO_BOB, 200),
    allow("agent-bob", r.read_call, TO_BOB, 200),
    allow("agent-bob", r.read_call, FROM_BOB, 200),
    allow("agent-bob", r.timeline, FROM_BOB, 200),
    allow("agent-bob", r.recordings, FROM_BOB, 200),
    forbid("agent-bob", r.command, FROM_BOB),
    forbid("agent-bob", r.end_call, FROM_BOB),
    forbid("agent-bob", r.transfer, FROM_BOB),
    allow("agent-amy", r.command, FROM_BOB, 200),
    forbid("agent-amy", r.transfer, TO_BOB),
    allow("agent-amy", r.read_call, TO_BOB, 200),
    allow("supervisor-acme", r.transfer, COLLEAGUE, 200),
    allow("supervisor-acme", r.command, FROM_BOB, 200),
    hidden("supervisor-acme", r.transfer, OTHER),
    forbid("auditor-acme", r.transfer, OWN),
    allow("auditor-acme", r.read_call, FROM_BOB, 200),
    forbid("admin-acme", r.transfer, OWN),
    forbid("media-acme", r.transfer, OWN),
    anonymous(r.transfer, OWN),
    # A supervisor: every call of its organisation.
    allow("supervisor-acme", r.start_call, COLLEAGUE, 201),
    forbid("supervisor-acme", r.start_call, OTHER),
    allow("supervisor-acme", r.command, COLLEAGUE, 200),
    allow("supervisor-acme", r.end_call, OWN, 200),
    hidden("supervisor-acme", r.command, OTHER),
    hidden("supervisor-acme", r.end_call, OTHER),
    allow("supervisor-acme", r.read_call, COLLEAGUE, 200),
    hidden("supervisor-acme", r.read_call, OTHER),
    hidden("supervisor-acme", r.recordings, OTHER),
    forbid("supervisor-acme", r.audio, OWN),
    allow("supervisor-acme", r.read_policy, ACME, 200),
    forbid("supervisor-acme", r.read_policy, GLOBEX),
    forbid("supervisor-acme", r.set_policy, ACME),
    forbid("supervisor-acme", r.rebuild, NONE),
    allow("supervisor-globex", r.command, OTHER, 200),
    hidden("supervisor-globex", r.command, OWN),
    # An auditor: reads only, in its organisation (or all of them).
    allow("auditor-acme", r.read_call, OWN, 200),
    allow("auditor-acme", r.timeline, OWN, 200),
    allow("auditor-acme", r.recordings, COLLEAGUE, 200),
    hidden("auditor-acme", r.read_call, OTHER),
    hidden("auditor-acme", r.timeline, OTHER),
    forbid("auditor-acme", r.command, OWN),
    forbid("auditor-acme", r.end_call, OWN),
    forbid("auditor-acme", r.start_call, OWN),
    forbid("auditor-acme", r.audio, OWN),
    allow("auditor-acme", r.read_policy, ACME, 200),
    forbid("auditor-acme", r.read_policy, GLOBEX),
    forbid("auditor-acme", r.set_policy, ACME),
    forbid("auditor-acme", r.rebuild, NONE),
    allow("auditor-all", r.read_call, OTHER, 200),
    allow("auditor-all", r.read_policy, GLOBEX, 200),
    forbid("auditor-all", r.command, OTHER),
    forbid("auditor-all", r.set_policy, GLOBEX),
    # An admin: policies (of its organisation, or all) and, for every org, the rebuild.
    allow("admin-acme", r.set_policy, ACME, 200),
    allow("admin-acme", r.set_override, ACME, 200),
    forbid("admin-acme", r.set_policy, GLOBEX),
    forbid("admin-acme", r.set_override, GLOBEX),
    allow("admin-acme", r.remove_override, ACME, 200),
    forbid("admin-acme", r.remove_override, GLOBEX),
    allow("admin-all", r.remove_override, GLOBEX, 200),
    forbid("supervisor-acme", r.remove_override, ACME),
    forbid("auditor-all", r.remove_override, ACME),
    forbid("agent-bob", r.list_calls, GLOBEX),
    allow("supervisor-acme", r.list_calls, ACME, 200),
    forbid("admin-all", r.list_calls, ACME),
    allow("admin-acme", r.read_policy, ACME, 200),
    forbid("admin-acme", r.read_call, OWN),
    forbid("admin-acme", r.command, OWN),
    forbid("admin-acme", r.start_call, OWN),
    forbid("admin-acme", r.rebuild, NONE),
    allow("admin-all", r.set_policy, GLOBEX, 200),
    allow("admin-all", r.rebuild, NONE, 200),
    forbid("admin-all", r.read_call, OTHER),
    # The media side: audio of its organisation's calls.
    allow("media-acme", r.audio, OWN, 202),
    hidden("media-acme", r.audio, OTHER),
    forbid("media-acme", r.read_call, OWN),
    forbid("media-acme", r.recordings, OWN),
    forbid("media-acme", r.command, OWN),
    forbid("media-acme", r.set_policy, ACME),
    # The compliance lifecycle: admins set retention and erase; auditors and admins place
    # and release holds and read access logs, in their organisation.
    allow("admin-acme", r.set_retention, ACME, 200),
    forbid("admin-acme", r.set_retention, GLOBEX),
    forbid("auditor-acme", r.set_retention, ACME),
    forbid("supervisor-acme", r.set_retention, ACME),
    allow("admin-all", r.run_retention, NONE, 200),
    forbid("admin-acme", r.run_retention, NONE),
    forbid("auditor-all", r.run_retention, NONE),
    Expect("admin-acme", r.erase, OWN, 404, "unknown_recording"),
    hidden("admin-acme", r.erase, OTHER),
    forbid("auditor-acme", r.erase, OWN),
    forbid("supervisor-acme", r.erase, OWN),
    forbid("agent-bob", r.erase, OWN),
    allow("auditor-acme", r.place_hold, ACME, 201),
    allow("admin-acme", r.place_hold, ACME, 201),
    forbid("auditor-acme", r.place_hold, GLOBEX),
    forbid("supervisor-acme", r.place_hold, ACME),
    forbid("agent-bob", r.place_hold, ACME),
    allow("auditor-acme", r.release_hold, ACME, 200),
    forbid("auditor-acme", r.release_hold, GLOBEX),
    forbid("supervisor-acme", r.release_hold, ACME),
    allow("auditor-acme", r.list_holds, ACME, 200),
    forbid("auditor-acme", r.list_holds, GLOBEX),
    forbid("agent-bob", r.list_holds, ACME),
    allow("auditor-acme", r.access_log, OWN, 200),
    allow("admin-acme", r.access_log, COLLEAGUE, 200),
    hidden("auditor-acme", r.access_log, OTHER),
    forbid("supervisor-acme", r.access_log, OWN),
    forbid("agent-bob", r.access_log, OWN),
    anonymous(r.set_retention, ACME),
    anonymous(r.place_hold, ACME),
    anonymous(r.access_log, OWN),
    # No token at all.
    anonymous(r.start_call, OWN),
    anonymous(r.command, OWN),
    anonymous(r.read_call, OWN),
    anonymous(r.timeline, OWN),
    anonymous(r.audio, OWN),
    anonymous(r.set_policy, ACME),
    anonymous(r.read_policy, ACME),
    anonymous(r.rebuild, NONE),
    anonymous(r.remove_override, ACME),
    anonymous(r.list_calls, ACME),
]


@pytest.mark.parametrize("case", MATRIX, ids=Expect.id)
def test_role_matrix(secured: Secured, case: Expect) -> None:
    request = case.build(secured, case.who, case.target)
    head, held = secured.head(), secured.held_bytes()
    response = secured.request(case.who, request.method, request.path, **request.kwargs)
    if case.code is None:
        assert response.status_code == case.status, response.text
        return
    assert error_of(response) == (case.status, case.code), response.text
    assert (secured.head(), secured.held_bytes()) == (head, held), "a refusal changed a store"
    if case.status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_every_role_appears_in_the_matrix() -> None:
    from recaudit.access.rules import PERMISSIONS

    roles = {r.PRINCIPALS[e.who].role for e in MATRIX if e.who is not None}
    assert roles == set(PERMISSIONS)
