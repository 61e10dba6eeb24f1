"""The access log: every successful read of a call, once per read, with who read it."""

from __future__ import annotations

from pathlib import Path

from tests.lifecycle.rig import Rig, days_ago, rig_settings, started
from tests.security.helpers import Tokens


def entries(rig: Rig, call_id: str) -> list[tuple[str, int | None, str, str | None]]:
    answer = rig.http.get(f"/calls/{call_id}/access")
    assert answer.status_code == 200, answer.text
    return [(e["what"], e["recording_no"], e["by"], e["role"]) for e in answer.json()]


def test_every_read_kind_is_recorded_once_per_read(rig: Rig) -> None:
    rig.policy("acme", mode="on_demand_uis")
    rig.recorded_call("c1", "acme", start=days_ago(1))
    assert entries(rig, "c1") == []
    assert rig.http.get("/calls/c1/timeline").status_code == 200
    assert rig.http.get("/calls/c1/recordings").status_code == 200
    assert rig.http.get("/calls/c1/recordings/1.wav").status_code == 200
    assert rig.http.get("/calls/c1/recordings/1.wav",
                        headers={"Range": "bytes=100-199"}).status_code == 206
    assert rig.http.head("/calls/c1/recordings/1.wav").status_code == 200
    assert rig.http.get("/calls/c1").status_code == 200  # the status is not a record
    assert entries(rig, "c1") == [
        ("timeline", None, "loopback", None),
        ("recordings", None, "loopback", None),
        ("audio", 1, "loopback", None),
    ]


def test_refused_reads_leave_no_entry(rig: Rig) -> None:
    rig.policy("acme", mode="on_demand_uis")
    rig.recorded_call("c1", "acme", start=days_ago(1))
    head = rig.backend.store.head()
    assert rig.http.get("/calls/c1/recordings/2.wav").status_code == 404
    assert rig.http.get("/calls/c1/timeline", params={"min_position": -1}).status_code == 422
    assert rig.http.get("/calls/nope/timeline").status_code == 404
    assert rig.http.get("/calls/nope/access").status_code == 404
    assert entries(rig, "c1") == []
    assert rig.backend.store.head() == head


def test_reads_can_be_left_unrecorded_to_measure_their_cost(tmp_path: Path) -> None:
    with started(rig_settings(tmp_path, RECAUDIT_ACCESS_LOG="off")) as rig:
        rig.policy("acme", mode="on_demand_uis")
        rig.recorded_call("c1", "acme", start=days_ago(1))
        assert rig.http.get("/calls/c1/timeline").status_code == 200
        assert entries(rig, "c1") == []


def test_reads_are_recorded_with_the_tokens_name_and_role(tmp_path: Path) -> None:
    tokens = Tokens.issue()
    with started(rig_settings(tmp_path, RECAUDIT_TOKENS=tokens.config())) as rig:
        admin = tokens.header("admin-all")
        rig.http.headers.update(admin)
        assert rig.put("/policies/acme", mode="on_demand_uis", changed_by="root").status_code == 200
        rig.http.headers.clear()
        assert rig.backend.service.start_call(call_id="c1", org_id="acme", agent_id="bob",
                                              direction="inbound").refusal is None
        rig.settle()
        reads = [
            ("auditor-acme", 200), ("agent-bob", 200), ("supervisor-acme", 200),
            ("agent-amy", 404), ("supervisor-globex", 404), ("media-acme", 403), (None, 401),
        ]
        for who, status in reads:
            headers = tokens.header(who) if who else {}
            answer = rig.http.get("/calls/c1/timeline", headers=headers)
            assert answer.status_code == status, (who, answer.text)
        log = rig.http.get("/calls/c1/access", headers=tokens.header("auditor-acme")).json()
        assert [(e["what"], e["by"], e["role"]) for e in log] == [
            ("timeline", "aud", "auditor"), ("timeline", "bob", "agent"),
            ("timeline", "sue", "supervisor")]
