"""The demo's compliance part: a retention for every organisation, one legal hold, and one
evidence bundle exported and verified offline with the server's public key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from recaudit.adapters.integrity.bundle.check import check_bundle
from recaudit.adapters.integrity.signing import parse_public_key

# Days of audio kept per mode's organisation (MiFID II keeps telephone records 5-7 years,
# FINRA's taping rule 3, CFTC 1).
RETENTION_DAYS = {"always_on": 2555, "pause_resume": 1825, "on_demand": 1095,
                  "on_demand_uis": 365}
CASE = "DEMO-2026-001"


def set_up(client: httpx.Client, orgs: dict[str, str], held_call: str | None,
           held_org: str) -> dict[str, Any]:
    """Set each organisation's retention, and place a hold on `held_call`."""
    for mode, org in orgs.items():
        _ok(client.put(f"/policies/{org}/retention", json={
            "audio_days": RETENTION_DAYS[mode], "changed_by": "demo-admin",
            "reason": "demo: records kept as the regulator asks"}))
    hold = None
    if held_call is not None:
        hold = _ok(client.post("/legal-holds", json={
            "org_id": held_org, "call_id": held_call, "case": CASE, "by": "demo-admin",
            "reason": "demo: a dispute about this call"}))
    return {"retention": {orgs[m]: d for m, d in RETENTION_DAYS.items() if m in orgs},
            "hold": hold}


def export_bundle(client: httpx.Client, call_id: str, folder: Path) -> dict[str, Any]:
    """Download the call's evidence bundle into `folder` and verify it offline, with the
    public key the server publishes."""
    answer = client.get(f"/calls/{call_id}/evidence")
    if answer.status_code != 200:
        raise SystemExit(f"recaudit demo: GET /calls/{call_id}/evidence answered "
                         f"{answer.status_code}: {answer.text[:300]}")
    key = client.get("/integrity/public-key")
    folder.mkdir(parents=True, exist_ok=True)
    bundle, pem = folder / f"evidence-{call_id}.zip", folder / "recaudit-public-key.pem"
    bundle.write_bytes(answer.content)
    pem.write_bytes(key.content)
    report = check_bundle(bundle.read_bytes(),
                          parse_public_key(key.content, "GET /integrity/public-key"))
    return {"bundle": bundle, "key": pem, "clean": report.clean, "summary": report.summary()}


def print_bundle(done: dict[str, Any]) -> None:
    print(f"Evidence bundle: {done['bundle']} ({'verified' if done['clean'] else 'FAILED'}: "
          f"{done['summary']})")
    print(f"  check it yourself, offline: recaudit verify-bundle {done['bundle']} "
          f"--public-key {done['key']}")


def print_set_up(done: dict[str, Any]) -> None:
    kept = ", ".join(f"{org} {days} days" for org, days in done["retention"].items())
    print(f"Retention (audio kept after a call ends): {kept}")
    hold = done["hold"]
    if hold is not None:
        print(f"Legal hold {hold['hold_id']} (case {hold['case']}) on call {hold['call_id']}: "
              "its recordings are kept whatever the retention says")


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise SystemExit(f"recaudit demo: {response.request.method} {response.request.url} "
                         f"answered {response.status_code}: {response.text}")
    return dict(response.json())
