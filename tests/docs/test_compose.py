"""docker-compose.yml and the Dockerfile start: each service built from this repository
runs its exact command line with its exact environment, as a real process.

There is no container engine here, so what a container would see is mapped onto this
machine: its volume paths (/data, /config) onto temporary directories, its published port
onto a free one, and the hosts of the other services onto the local PostgreSQL and Kafka
(ClickHouse, which has no server here, onto the embedded engine, a value the same variable
documents). Each run gets topics of its own on the shared broker.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import yaml

from recaudit.http.server import free_port
from tests.security.test_serve import wait_for_health

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
BUILT = {name: s for name, s in SERVICES.items() if s.get("build") == "."}


def dockerfile() -> tuple[dict[str, str], list[str]]:
    """The Dockerfile's ENV settings and its CMD (exec form)."""
    env: dict[str, str] = {}
    cmd: list[str] = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        instruction, _, rest = line.partition(" ")
        if instruction == "ENV":
            for pair in shlex.split(rest):
                key, sep, value = pair.partition("=")
                assert sep, f"ENV in key=value form only: {line}"
                env[key] = value
        elif instruction == "CMD":
            cmd = json.loads(rest)
    assert cmd, "the Dockerfile has a CMD in exec form"
    return env, cmd


class Container:
    """What one service's container would run, mapped onto this machine."""

    def __init__(self, service: dict[str, Any], root: Path, hosts: dict[str, str]) -> None:
        self.paths = {}
        for mount in service.get("volumes", []):
            volume, target = mount.split(":")[:2]
            self.paths[target] = root / volume
            self.paths[target].mkdir(parents=True, exist_ok=True)
        self.hosts = hosts
        image_env, image_cmd = dockerfile()
        self.command = (service.get("entrypoint") or []) + (service.get("command") or [])
        if not self.command:
            self.command = image_cmd
        self.environment = {**image_env, **{k: str(v) for k, v in
                                            service.get("environment", {}).items()}}

    def args(self, port: int | None = None) -> list[str]:
        assert self.command[0] == "recaudit", self.command
        args = [self.path(a) for a in self.command[1:]]
        if "--port" in args:
            args[args.index("--port") + 1] = str(port)
        return [sys.executable, "-m", "recaudit.cli", *args]

    def env(self, **extra: str) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDIT_")}
        mine = {k: self.host(self.path(v)) for k, v in self.environment.items()}
        return {**clean, **mine, **extra}

    def path(self, value: str) -> str:
        for target, local in self.paths.items():
            if value == target or value.startswith(target + "/"):
                return str(local) + value[len(target):]
        return value

    def host(self, value: str) -> str:
        for name, local in self.hosts.items():
            if re.search(rf"(^|@|//){name}:\d+", value):
                return local
        return value


def make_token(root: Path) -> tuple[str, Path]:
    """Run the one-shot token service; the token it printed and the tokens file it wrote."""
    service = SERVICES["token"]
    container = Container(service, root, {})
    result = subprocess.run(container.args(), env=container.env(), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("token for admin") and "was added to" in lines[2]
    tokens = container.paths["/config"] / "tokens"
    assert tokens.stat().st_mode & 0o077 == 0, "the tokens file is for its owner only"
    assert "sha256=" in tokens.read_text() and lines[1].strip() not in tokens.read_text()
    return lines[1].strip(), tokens


def run_and_check(container: Container, token: str, **extra_env: str) -> None:
    port = free_port()
    process = subprocess.Popen(container.args(port), env=container.env(**extra_env),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process, timeout=120)
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base}/policies/acme").status_code == 401
        policy = httpx.put(f"{base}/policies/acme", headers=auth, timeout=30,
                           json={"mode": "always_on", "changed_by": "admin"})
        assert policy.status_code == 200, policy.text
        read = httpx.get(f"{base}/policies/acme", headers=auth, timeout=30)
        assert (read.status_code, read.json()["mode"]) == (200, "always_on")
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "access control on, 1 tokens" in out and f"listening on http://0.0.0.0:{port}" in out


def test_every_service_is_used() -> None:
    assert set(BUILT) == {"token", "recaudit"}
    api = SERVICES["recaudit"]
    servers = set(SERVICES) - set(BUILT)
    assert servers == set(api["depends_on"]), "every server is one the API depends on"
    values = " ".join(str(v) for v in api["environment"].values())
    assert all(f"{name}:" in values for name in servers), "and the API is pointed at it"
    volumes = {m.split(":")[0] for s in SERVICES.values() for m in s.get("volumes", [])}
    assert volumes == set(COMPOSE["volumes"])


def test_the_token_service_makes_a_tokens_file_that_serve_accepts(tmp_path: Path) -> None:
    token, tokens = make_token(tmp_path)
    again, _ = make_token(tmp_path)  # a second token is appended, the first one kept
    assert len(tokens.read_text().splitlines()) == 2 and again != token


def test_the_compose_api_starts_with_its_command_and_environment(
        tmp_path: Path, postgres_url: str, kafka_bootstrap: str) -> None:
    token, _ = make_token(tmp_path)
    hosts = {"postgres": postgres_url, "kafka": kafka_bootstrap,
             "clickhouse": f"chdb://{tmp_path / 'clickhouse-data'}"}
    container = Container(SERVICES["recaudit"], tmp_path, hosts)
    assert SERVICES["recaudit"]["ports"] == ["127.0.0.1:8080:8080"]
    assert container.args(8080)[-2:] == ["--port", "8080"], "the published port is served"
    tag = uuid.uuid4().hex[:10]
    run_and_check(container, token, RECAUDIT_KAFKA_TOPIC=f"test-compose-{tag}",
                  RECAUDIT_KAFKA_DLQ_TOPIC=f"test-compose-{tag}.dlq")


def test_the_image_default_command_starts_on_the_embedded_defaults(tmp_path: Path) -> None:
    token, _ = make_token(tmp_path)
    image = {"volumes": SERVICES["recaudit"]["volumes"]}  # `docker run -v ...` of the same
    run_and_check(Container(image, tmp_path, {}), token)
