"""`recaudit demo`: its closing hint is a command that serves the data it wrote; with
`--url` it warns that it writes into that server's store for good, and on a terminal it
does nothing without `--yes`."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx

from recaudit.bootstrap import Backend
from recaudit.cli.exits import ExitCode
from recaudit.http.server import BackgroundServer, free_port
from tests.security.test_serve import wait_for_health

DEMO = [sys.executable, "-m", "recaudit.cli", "demo", "--calls", "4"]


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("RECAUDIT_")}


def test_the_hint_serves_the_data_the_demo_wrote(tmp_path: Path) -> None:
    demo = subprocess.run(DEMO, env={**env(), "TMPDIR": str(tmp_path)}, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert demo.returncode == 0, demo.stderr
    hint = re.search(r"^Look at it with: (recaudit serve --data-dir (\S+))$", demo.stdout,
                     re.MULTILINE)
    assert hint, demo.stdout
    assert "make serve" not in demo.stdout, "make serve serves ./recaudit-data, not this"
    # Every third call is transferred: with 4 calls, the third (on_demand) one.
    # (The second call's agent is held to always_on, so no pause_resume row.)
    header, *rows = demo.stdout.split("\n\n", 1)[0].splitlines()
    assert header.split()[:5] == ["mode", "calls", "accepted", "refused", "transfers"]
    assert {row.split()[0]: int(row.split()[4]) for row in rows} == {
        "always_on": 0, "on_demand": 1, "on_demand_uis": 0}
    assert Path(hint.group(2)).parent == tmp_path  # where the demo wrote
    # Every call streamed its tone, and every recording holds all its audio.
    assert re.search(r"^Audio: 4 calls streamed a tone", demo.stdout, re.MULTILINE)
    manifests = [json.loads(p.read_text())
                 for p in Path(hint.group(2)).glob("recordings/*/*/*/manifest.json")]
    assert manifests and {m["audio"] for m in manifests} == {"complete"}
    assert all(m["duration_ms"] > 0 for m in manifests)
    assert re.search(r"^  console: http://127\.0\.0\.1:8080/console/", demo.stdout,
                     re.MULTILINE)
    call = re.search(r"curl http://127\.0\.0\.1:8080/calls/(\S+)$", demo.stdout, re.MULTILINE)
    assert call, demo.stdout

    port = free_port()
    command = [*hint.group(1).split()[1:], "--port", str(port)]
    server = subprocess.Popen([sys.executable, "-m", "recaudit.cli", *command], env=env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_health(f"http://127.0.0.1:{port}", server)  # type: ignore[arg-type]
        answer = httpx.get(f"http://127.0.0.1:{port}/calls/{call.group(1)}", timeout=30)
        assert answer.status_code == 200, answer.text
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def test_demo_url_on_a_terminal_needs_yes_and_always_warns(sqlite_backend: Backend) -> None:
    sqlite_backend.start()  # as `recaudit serve` does
    with BackgroundServer(sqlite_backend.app) as server:
        head = sqlite_backend.store.head()
        refused = on_a_terminal([*DEMO, "--url", server.url])
        assert refused.returncode == ExitCode.USAGE
        assert "stay in its event store for good" in refused.stderr
        assert "run again with --yes" in refused.stderr and "nothing was sent" in refused.stderr
        assert sqlite_backend.store.head() == head, "nothing was stored"

        piped = subprocess.run([*DEMO, "--url", server.url], env=env(), capture_output=True,
                               text=True, timeout=300, stdin=subprocess.DEVNULL)
        assert piped.returncode == 0, piped.stderr
        assert "stay in its event store for good" in piped.stderr
        assert sqlite_backend.store.head() > head
        head = sqlite_backend.store.head()

        agreed = on_a_terminal([*DEMO, "--url", server.url, "--yes"])
        assert agreed.returncode == 0, agreed.stderr
        assert "stay in its event store for good" in agreed.stderr
        assert sqlite_backend.store.head() > head


def on_a_terminal(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run `args` with a pseudo-terminal as stdin."""
    primary, secondary = pty.openpty()
    try:
        return subprocess.run(args, env=env(), stdin=secondary, capture_output=True,
                              text=True, timeout=300)
    finally:
        os.close(secondary)
        os.close(primary)


def test_the_demo_sets_retention_holds_a_call_and_exports_a_bundle_that_verifies(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    demo = subprocess.run([*DEMO, "--data-dir", str(data_dir)], env=env(),
                          capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    assert demo.returncode == 0, demo.stderr
    assert re.search(r"^Retention \(audio kept after a call ends\): org-always-on 2555 days",
                     demo.stdout, re.MULTILINE), demo.stdout
    held = re.search(r"^Legal hold (\S+) \(case \S+\) on call (\S+):", demo.stdout,
                     re.MULTILINE)
    shown = re.search(r"^  check it yourself, offline: recaudit verify-bundle (\S+) "
                      r"--public-key (\S+)$", demo.stdout, re.MULTILINE)
    assert held and shown, demo.stdout
    bundle, key = Path(shown.group(1)), Path(shown.group(2))
    assert bundle.parent.parent == data_dir and held.group(2) in bundle.name
    # Checked again here, by the command a third party would run, in a folder of its own.
    check = [sys.executable, "-m", "recaudit.cli", "verify-bundle", str(bundle),
             "--public-key", str(key)]
    clean = subprocess.run(check, env=env(), cwd=tmp_path, capture_output=True, text=True,
                           timeout=120)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    with zipfile.ZipFile(bundle) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    files["timeline.json"] = files["timeline.json"].replace(b'"recording"', b'"paused"', 1)
    with zipfile.ZipFile(bundle, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    broken = subprocess.run(check, env=env(), cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert broken.returncode == ExitCode.FAILED, broken.stdout
    assert "timeline.json" in broken.stdout
