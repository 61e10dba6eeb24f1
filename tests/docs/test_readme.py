"""The README's example session, run against a live server.

Every `curl` command of the session is executed as written (with the server's
address in place of localhost:8080); the `# ...` lines after it are the answer
it shows: an optional status code, then JSON fragments whose `"key": value`
pairs must all be found in the real answer.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from recaudit.bootstrap import Backend
from recaudit.http.server import BackgroundServer

README = Path(__file__).resolve().parents[2] / "README.md"
PAIR = re.compile(r'"(\w+)": ("(?:[^"\\]|\\.)*"|-?\d+|null|true|false)')


SECTIONS = ("## An example session", "## Compliance")


def session(section: str = SECTIONS[0]) -> list[tuple[str, str]]:
    """(command, expected answer) pairs of one of the README's curl sessions."""
    text = README.read_text()
    block = text.split(section + "\n", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    steps: list[tuple[str, str]] = []
    command: list[str] = []
    for line in block.splitlines():
        if line.startswith("# "):
            if command:
                steps.append((" ".join(command), ""))
                command = []
            cmd, answer = steps[-1]
            steps[-1] = (cmd, f"{answer} {line[2:]}".strip())
        elif line.strip():
            command.append(line.rstrip("\\").strip())
    if command:
        steps.append((" ".join(command), ""))
    return steps


def contains(answer: Any, key: str, value: Any) -> bool:
    if isinstance(answer, dict):
        return (key in answer and answer[key] == value) or any(
            contains(v, key, value) for v in answer.values())
    if isinstance(answer, list):
        return any(contains(v, key, value) for v in answer)
    return False


@pytest.fixture
def server(sqlite_backend: Backend) -> Iterator[BackgroundServer]:
    sqlite_backend.start()  # as `recaudit serve` does: relay (if any) and consumers
    with BackgroundServer(sqlite_backend.app) as running:
        yield running


@pytest.mark.parametrize("section", SECTIONS)
def test_the_session_has_steps(section: str) -> None:
    steps = session(section)
    assert len(steps) >= 6
    assert all(cmd.startswith(("curl ", "recaudit ")) and answer for cmd, answer in steps)


@pytest.mark.parametrize("section", SECTIONS)
def test_readme_session_answers_as_shown(server: BackgroundServer, section: str,
                                         tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.fail("curl is needed to run the README's session")
    host = server.url.removeprefix("http://")
    for command, expected in session(section):
        command = command.replace("localhost:8080", host)
        if command.startswith("recaudit "):
            run_recaudit(command, expected, tmp_path)
            continue
        done = subprocess.run(f"{command} -w '\\n%{{http_code}}'", shell=True, check=True,
                              capture_output=True, text=True, timeout=30, cwd=tmp_path)
        body, status = done.stdout.rsplit("\n", 1)
        if " -o " in command:  # the answer went to a file: only its status is shown
            assert status == expected.split()[0], f"{command}: {status}"
            continue
        answer = json.loads(body)
        code = re.match(r"(\d{3}) ", expected)
        assert int(status) == (int(code.group(1)) if code else int(status) if int(status) < 300
                               else 200), f"{command}: {status} {body}"
        for key, raw in PAIR.findall(expected):
            assert contains(answer, key, json.loads(raw)), (
                f"{command}\nexpected {key}={raw} in {body}")


def run_recaudit(command: str, expected: str, cwd: Path) -> None:
    """A `recaudit` line of a session: run it in the session's folder; the answer shown is
    the start of what it prints (up to a `...`)."""
    done = subprocess.run([sys.executable, "-m", "recaudit.cli", *shlex.split(command)[1:]],
                          capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={k: v for k, v in os.environ.items()
                               if not k.startswith("RECAUDIT_")})
    assert done.returncode == 0, f"{command}: {done.returncode} {done.stdout}{done.stderr}"
    assert expected.split("...")[0].strip() in done.stdout, f"{command}: {done.stdout}"
