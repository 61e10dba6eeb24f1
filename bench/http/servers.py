"""The servers measured, each started as a process of its own and stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.commands.workload import ORGS
from recaudit.bootstrap import BACKGROUND_PARTS
from recaudit.http.server import free_port, http_url


class BenchError(RuntimeError):
    """The benchmark could not run as planned."""


# The embedded defaults have no relay (it publishes to Kafka).
EMBEDDED_PARTS = tuple(name for name in BACKGROUND_PARTS if name != "relay")


def part_names(text: str) -> list[str]:
    """`a,b` as a list of names; `none` (or nothing) as no part at all."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    return [] if names == ["none"] else names


def unknown_parts(names: list[str]) -> str | None:
    """What is wrong with `names` as background parts of the embedded defaults, if anything."""
    unknown = sorted(set(names) - set(EMBEDDED_PARTS))
    if not unknown:
        return None
    return (f"no background part named {', '.join(unknown)} in the embedded defaults "
            f"(known: {', '.join(EMBEDDED_PARTS)})")


def embedded_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any RECAUDIT_* setting (embedded defaults)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDIT_")}
    return env | {"RECAUDIT_LOG_LEVEL": "warning"} | (extra or {})


class ServerProcess:
    """A server process on a free loopback port; its output goes to `log`."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = http_url("127.0.0.1", self.port)
        self.log = log
        self._args, self._env = [*args, "--port", str(self.port)], env
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def __enter__(self) -> ServerProcess:
        with self.log.open("ab") as out:
            self._process = subprocess.Popen([sys.executable, *self._args], env=self._env,
                                             stdout=out, stderr=subprocess.STDOUT)
        self._wait_healthy(deadline=time.monotonic() + 120)
        return self

    def _wait_healthy(self, deadline: float) -> None:
        assert self._process is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BenchError(f"{' '.join(self._args)} exited: {self.tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise BenchError(f"{' '.join(self._args)} did not become healthy: {self.tail()}")

    def memory(self) -> dict[str, float]:
        """The process's resident memory now and at its peak, in MiB."""
        fields = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
        return {"rss_mib": fields.get("VmRSS", 0.0), "peak_rss_mib": fields.get("VmHWM", 0.0)}

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]

    def __exit__(self, *_exc: object) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def recaudit_serve(data_dir: Path, env: dict[str, str]) -> ServerProcess:
    return ServerProcess(["-m", "recaudit.cli", "serve", "--data-dir", str(data_dir)],
                         data_dir.with_suffix(".log"), env)


def partial_serve(data_dir: Path, env: dict[str, str], only: tuple[str, ...]) -> ServerProcess:
    """`recaudit serve`'s backend with only the background parts `only` (`bench.http.parts`)."""
    return ServerProcess(["-m", "bench.http.parts", "--data-dir", str(data_dir),
                          "--only", ",".join(only) or "none"],
                         data_dir.with_suffix(".log"), env)


def trivial_server(log: Path, env: dict[str, str]) -> ServerProcess:
    return ServerProcess(["-m", "bench.http.trivial"], log, env)


def set_policies(url: str) -> None:
    """Each mode's organisation gets its policy, as the generator's calls expect."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for mode, org in ORGS.items():
            answer = client.put(f"/policies/{org}", json={"mode": mode.value,
                                                          "changed_by": "bench"})
            if answer.status_code != 200:
                raise BenchError(f"setting the policy of {org} failed: {answer.text}")
