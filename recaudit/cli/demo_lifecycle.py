"""The demo's compliance part: a retention for every organisation, one legal hold."""

from __future__ import annotations

from typing import Any

import httpx

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
