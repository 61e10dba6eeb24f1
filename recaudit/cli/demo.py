"""`recaudit demo` and `recaudit timeline`: a guided look at the backend over HTTP."""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
from collections import Counter, defaultdict
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from domain.clock import iso_millis
from domain.rules import Mode
from recaudit.cli import demo_audio, demo_lifecycle
from recaudit.cli.exits import ExitCode
from recaudit.cli.remote import auth_headers
from recaudit.http.routes import command_path
from recaudit.workloads import CallScript, call_script

ORGS = {mode: f"org-{mode.value.replace('_', '-')}" for mode in Mode}
# The on-demand organisation caps its pauses: the longer ones resume by themselves.
PAUSE_CAPS = {Mode.ON_DEMAND: 45_000}


def run_demo(args: argparse.Namespace) -> int:
    if args.url is not None and not _may_write_to(args.url, args.calls, args.yes):
        return ExitCode.USAGE
    with ExitStack() as stack:
        url = args.url
        data_dir = args.data_dir
        if url is None:
            url, data_dir = _start_in_process(stack, data_dir)
        client = stack.enter_context(httpx.Client(base_url=url, timeout=30,
                                                  headers=auth_headers(args)))
        # Audio is sent to the in-process backend only, whose lateness bound it sets.
        audio = args.audio_calls if args.url is None else 0
        report = drive(client, calls=args.calls, seed=args.seed, audio_calls=audio)
        print_report(report, url, data_dir, in_process=args.url is None)
        print()
        example = report["timelines"][0][1] if report["timelines"] else None
        demo_lifecycle.print_set_up(demo_lifecycle.set_up(
            client, {m.value: org for m, org in ORGS.items()},
            example["call_id"] if example else None, example["org_id"] if example else ""))
        if example is not None:
            folder = (data_dir if data_dir is not None
                      else Path(tempfile.mkdtemp(prefix="recaudit-demo-"))) / "evidence"
            demo_lifecycle.print_bundle(
                demo_lifecycle.export_bundle(client, example["call_id"], folder))
    return ExitCode.OK


def _may_write_to(url: str, calls: int, yes: bool) -> bool:
    """Warn that the demo writes to a real server's store; on a terminal, only go on with
    --yes (a script or a pipe is taken to know what it does)."""
    print(f"recaudit demo: this sets the policies of {', '.join(ORGS.values())} and stores "
          f"{calls} calls in the server at {url}; they stay in its event store for good "
          "(events are never deleted).", file=sys.stderr)
    if yes or not sys.stdin.isatty():
        return True
    print("recaudit demo: run again with --yes to go ahead (nothing was sent)", file=sys.stderr)
    return False


def _start_in_process(stack: ExitStack, data_dir: Path | None) -> tuple[str, Path]:
    from recaudit.bootstrap import build
    from recaudit.http.server import BackgroundServer
    from recaudit.settings import Settings

    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="recaudit-demo-"))
    backend = build(Settings.from_env(data_dir=data_dir,
                                      audio_lateness_ms=demo_audio.LATENESS_MS,
                                      audio_held_call_bytes=demo_audio.HELD_CALL_BYTES))
    stack.callback(backend.close)
    backend.start()
    server = stack.enter_context(BackgroundServer(backend.app))
    return server.url, data_dir


def drive(client: httpx.Client, *, calls: int, seed: int,
          audio_calls: int = 0) -> dict[str, Any]:
    rng = random.Random(seed)
    for mode, org in ORGS.items():
        _ok(client.put(f"/policies/{org}", json={"mode": mode.value, "changed_by": "demo-admin",
                                                 "reason": "demo set-up",
                                                 "max_pause_ms": PAUSE_CAPS.get(mode)}))
    # One agent of the pause/resume organisation is held to always-on.
    _ok(client.put(f"/policies/{ORGS[Mode.PAUSE_RESUME]}/agents/agent-trainee",
                   json={"mode": "always_on", "changed_by": "demo-admin",
                         "reason": "trainee calls are always recorded"}))
    start = datetime.now(UTC) - timedelta(hours=3)
    run_tag = f"{seed}-{int(start.timestamp())}"
    refusals: dict[str, Counter[str]] = defaultdict(Counter)
    accepted: Counter[str] = Counter()
    transferred: Counter[str] = Counter()
    timelines = []
    heard: list[str] = []
    for n in range(calls):
        mode = list(Mode)[n % len(Mode)]
        agent = "agent-trainee" if mode is Mode.PAUSE_RESUME and n % 8 == 1 else f"agent-{n % 5}"
        # Every third call is handed to a colleague before it ends.
        colleague = f"agent-{(n + 1) % 5}" if n % 3 == 2 else None
        script = call_script(rng, f"demo-{run_tag}-{n:04d}", ORGS[mode], agent, mode,
                             start + timedelta(minutes=2 * n), transfer_to=colleague)
        call_mode = _play(client, script, accepted, refusals, transferred,
                          audio=n < audio_calls)
        if n < audio_calls:
            heard.append(script.call_id)
        # The timeline is a projection: wait for it to include this call's last event.
        position = _ok(client.get(f"/calls/{script.call_id}"))["position"]
        timelines.append((call_mode, _ok(client.get(f"/calls/{script.call_id}/timeline",
                                                    params={"min_position": position}))))
    closed = demo_audio.wait_closed(client, heard) if heard else 0
    return {"accepted": accepted, "refusals": refusals, "transfers": transferred,
            "timelines": timelines, "audio_calls": heard, "recordings": closed}


def _play(client: httpx.Client, script: CallScript, accepted: Counter[str],
          refusals: dict[str, Counter[str]], transferred: Counter[str], *,
          audio: bool = False) -> str:
    body = {"call_id": script.call_id, "org_id": script.org_id, "agent_id": script.agent_id,
            "direction": script.direction, "at": iso_millis(script.started_at),
            "command_id": f"{script.call_id}-start"}
    mode = str(_ok(client.post("/calls", json=body))["mode"])
    accepted[mode] += 1
    if audio:  # the whole call's audio, held until its commands decide it
        demo_audio.stream(client, script.call_id, script.started_at, script.steps[-1].at)
    agent = script.agent_id  # who has the call, and so sends its commands
    for i, step in enumerate(script.steps):
        command: dict[str, Any] = {"by": agent, "at": iso_millis(step.at),
                                   "command_id": f"{script.call_id}-{i}"}
        if step.to_agent_id is not None:
            command["to_agent_id"] = step.to_agent_id
        response = client.post(command_path(step.command, script.call_id), json=command)
        if response.status_code == 409:
            refusals[mode][response.json()["error"]["code"]] += 1
            continue
        _ok(response)
        accepted[mode] += 1
        if step.to_agent_id is not None:
            transferred[mode] += 1
            agent = step.to_agent_id
    return mode


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise SystemExit(f"recaudit demo: {response.request.method} {response.request.url} "
                         f"answered {response.status_code}: {response.text}")
    return dict(response.json())


def print_report(report: dict[str, Any], url: str, data_dir: Path | None, *,
                 in_process: bool) -> None:
    per_mode: dict[str, Counter[str]] = defaultdict(Counter)
    for mode, timeline in report["timelines"]:
        per_mode[mode]["calls"] += 1
        per_mode[mode]["auto_resumed"] += auto_resumes(timeline)
        for key, value in timeline["totals"].items():
            per_mode[mode][key] += value
    print(f"{'mode':<15}{'calls':>6}{'accepted':>10}{'refused':>9}{'transfers':>11}"
          f"{'recorded':>11}{'paused':>9}{'off':>9}  refusals by code")
    for mode in Mode:
        m = mode.value
        row = per_mode.get(m)
        if not row:
            continue
        refused = report["refusals"][m]
        codes = ", ".join(f"{c} {n}" for c, n in sorted(refused.items())) or "-"
        print(f"{m:<15}{row['calls']:>6}{report['accepted'][m]:>10}{sum(refused.values()):>9}"
              f"{report['transfers'][m]:>11}{_mins(row['recording_ms']):>11}{_mins(row['paused_ms']):>9}"
              f"{_mins(row['off_ms']):>9}  {codes}")
    for mode, cap in PAUSE_CAPS.items():
        resumed = per_mode.get(mode.value, Counter())["auto_resumed"]
        print(f"\n{mode.value} pauses are capped at {cap // 1000} s: {resumed} of them "
              "resumed by themselves (by system, at exactly the pause's start plus the cap)")
    example = report["timelines"][0][1]["call_id"] if report["timelines"] else None
    if report["audio_calls"]:
        print(f"\nAudio: {len(report['audio_calls'])} calls streamed a tone whose pitch steps "
              f"every second ({report['recordings']} recordings closed): a jump in the "
              "pitches is where a pause or a stop cut the recording.")
    print()
    if in_process:
        print(f"The backend ran in this process; its data is in {data_dir}.")
        print(f"Look at it with: recaudit serve --data-dir {data_dir}")
        url = "http://127.0.0.1:8080"
    if example:
        print(f"  console: {url}/console/  (this call: {url}/console/calls/{example})")
        print(f"  curl {url}/calls/{example}")
        print(f"  curl {url}/calls/{example}/timeline")
        print(f"  recaudit timeline {example} --url {url}")


def auto_resumes(timeline: dict[str, Any]) -> int:
    """Pauses of a timeline that ended by themselves: a recording opened by the system
    right after a pause."""
    intervals = timeline["intervals"]
    return sum(1 for before, after in pairwise(intervals)
               if before["state"] == "paused" and after["state"] == "recording"
               and after["by"] == "system")


def _mins(ms: int) -> str:
    return f"{ms / 60000:.1f}m"


def print_timeline(url: str, call_id: str, min_position: int | None = None, *,
                   headers: dict[str, str] | None = None) -> int:
    """Print a call's timeline; 0 if printed, 1 if the server refused, 2 if unreachable."""
    from domain.ids import ID_PATTERN

    if not re.fullmatch(ID_PATTERN, call_id):
        print(f"recaudit: {call_id!r} is not a call id (1-128 of A-Z a-z 0-9 . _ : @ -)",
              file=sys.stderr)
        return ExitCode.USAGE
    params = {} if min_position is None else {"min_position": min_position}
    target = f"{url.rstrip('/')}/calls/{quote(call_id, safe='')}/timeline"
    try:
        response = httpx.get(target, params=params, headers=headers, timeout=15)
    except httpx.HTTPError as exc:
        print(f"recaudit: cannot reach {url}: {exc} (is `recaudit serve` running?)",
              file=sys.stderr)
        return ExitCode.USAGE
    try:
        body = response.json()
    except ValueError:
        print(f"recaudit: {url} answered {response.status_code} with something that is not "
              f"JSON: {response.text[:200]!r}", file=sys.stderr)
        return ExitCode.FAILED
    if response.status_code != 200:
        error = body.get("error") or {} if isinstance(body, dict) else {}
        message = error.get("message") or (body.get("detail") if isinstance(body, dict) else body)
        print(f"recaudit: {response.status_code} {error.get('code', 'error')}: {message}",
              file=sys.stderr)
        return ExitCode.FAILED
    print(f"call {body['call_id']}  org {body['org_id']}  agent {body['agent_id']}  "
          f"mode {body['mode']}")
    print(f"{'#':>3}  {'state':<10}{'start':<26}{'end':<26}{'ms':>9}  rec  "
          f"{'reason':<12}by")
    for n, i in enumerate(body["intervals"], 1):
        print(f"{n:>3}  {i['state']:<10}{i['start']:<26}{i['end'] or '(open)':<26}"
              f"{i['duration_ms'] if i['duration_ms'] is not None else '':>9}  "
              f"{i['recording_no'] or '':>3}  {i['reason'] or '':<12}{i.get('by') or ''}")
    totals = body["totals"]
    print(f"totals: recording {totals['recording_ms']} ms, paused {totals['paused_ms']} ms, "
          f"off {totals['off_ms']} ms")
    for r in body["rejected"]:
        print(f"refused: {r['command']} at {r['at']} by {r['by']}: {r['code']}")
    for a in body.get("agents", []):
        print(f"agent: {a['agent_id']} from {a['start']} to {a['end'] or '(now)'}")
    return ExitCode.OK
