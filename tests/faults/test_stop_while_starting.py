"""A SIGTERM that arrives while `recaudit consume` or `recaudit relay` is still starting
(opening its stores) stops it as gracefully as one that arrives later: exit code 0."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from recaudit.settings import Settings
from tests.kafka.helpers import kafka_env

# Runs the command line with `build` sending the process a SIGTERM before it returns,
# as a service manager stopping it mid-start would.
PROGRAM = textwrap.dedent("""
    import os, signal, sys
    import recaudit.bootstrap as bootstrap
    real_build = bootstrap.build
    def build(settings):
        backend = real_build(settings)
        os.kill(os.getpid(), signal.SIGTERM)
        return backend
    bootstrap.build = build
    from recaudit.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def _run(args: list[str], data_dir: Path, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PROGRAM, *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=120,
                          env=env)


def test_a_consumer_stopped_while_starting_exits_cleanly(tmp_path: Path) -> None:
    done = _run(["consume", "call-states"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reading the local event log" in done.stdout


@pytest.mark.kafka
def test_the_relay_stopped_while_starting_exits_cleanly(kafka_settings: Settings,
                                                         tmp_path: Path) -> None:
    done = _run(["relay"], tmp_path, kafka_env(kafka_settings))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stopped at position" in done.stdout
