"""The systems measured: a bare `eventsourcing` baseline, recaudit in-process and over HTTP.

Each target opens one session per client thread; a session sends a call's start and
steps and returns the answer each got (`accepted`, or the refusal code).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID, uuid5

import httpx
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from bench.commands.workload import ACCEPTED, ORGS, PlannedCall
from domain.clock import iso_millis
from recaudit.bootstrap import Backend, build
from recaudit.core.service import CallResult
from recaudit.http.routes import command_path
from recaudit.http.server import BackgroundServer
from recaudit.settings import Settings
from recaudit.workloads import CallScript

BARE_NAMESPACE = UUID("0b9f5a52-3c1d-4e7f-8a6b-2d4c9e1f7a30")


class BenchError(RuntimeError):
    """The benchmark could not run its workload as planned."""


class Session(Protocol):
    """One client thread's connection to the system under test."""

    def start(self, call: CallScript) -> str: ...
    def step(self, call: CallScript, index: int) -> str: ...
    def close(self) -> None: ...


class Target(Protocol):
    name: str

    def prepare(self) -> None: ...
    def session(self) -> Session: ...
    def stored_events(self) -> int: ...
    def batch_counts(self) -> tuple[int, int] | None: ...
    def expected(self, call: PlannedCall) -> tuple[tuple[str, ...], int]: ...
    def store_settings(self) -> dict[str, str]: ...
    def close(self) -> None: ...


# A target on a fresh data directory, closed (and its server stopped) by the stack.
Opener = Callable[[Path, ExitStack], Target]


def store_pragmas(app: Application[Any]) -> dict[str, str]:
    recorder: Any = app.recorder
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal = str(cursor.fetchone()[0])
        cursor.execute("PRAGMA synchronous")
        synchronous = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[cursor.fetchone()[0]]
    return {"journal_mode": journal, "synchronous": synchronous}


def store_env(data_dir: Path) -> dict[str, str]:
    """The event store settings recaudit uses, for any application on `data_dir`."""
    return Settings.from_env({}, data_dir=data_dir).event_store_env()


# -- the baseline: bare eventsourcing ------------------------------------------------


class BareCall(Aggregate):
    """The smallest aggregate that does the same job: one event per command."""

    TOPIC = "bench.BareCall"

    class Created(Aggregate.Created):
        TOPIC = "bench.BareCall.Created"
        call_id: str
        org_id: str
        at: datetime

    class CommandRecorded(Aggregate.Event):
        TOPIC = "bench.BareCall.CommandRecorded"
        command: str
        at: datetime

        def apply(self, aggregate: Any) -> None:
            aggregate.commands += 1

    def __init__(self, *, call_id: str, org_id: str, at: datetime) -> None:
        self.call_id = call_id
        self.commands = 0

    @classmethod
    def start(cls, call_id: str, org_id: str, at: datetime) -> BareCall:
        return cls._create(cls.Created, id=uuid5(BARE_NAMESPACE, call_id), call_id=call_id,
                           org_id=org_id, at=at)

    def record(self, command: str, at: datetime) -> None:
        self.trigger_event(self.CommandRecorded, command=command, at=at)


class BareSession:
    def __init__(self, app: Application[UUID]) -> None:
        self.app = app
        self.calls: dict[str, BareCall] = {}

    def start(self, call: CallScript) -> str:
        aggregate = BareCall.start(call.call_id, call.org_id, call.started_at)
        self.app.save(aggregate)
        self.calls[call.call_id] = aggregate
        return ACCEPTED

    def step(self, call: CallScript, index: int) -> str:
        aggregate = self.calls[call.call_id]
        step = call.steps[index]
        aggregate.record(step.command.value, step.at)
        self.app.save(aggregate)
        if index == len(call.steps) - 1:
            del self.calls[call.call_id]
        return ACCEPTED

    def close(self) -> None:
        self.calls.clear()


class BareTarget:
    """A plain eventsourcing application: one `save()` (one transaction) per command."""

    name = "bare eventsourcing"

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.app: Application[UUID] = Application(env=store_env(data_dir))

    def prepare(self) -> None:
        pass

    def session(self) -> Session:
        return BareSession(self.app)

    def stored_events(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def batch_counts(self) -> None:
        return None

    def expected(self, call: PlannedCall) -> tuple[tuple[str, ...], int]:
        return (ACCEPTED,) * call.commands, call.commands

    def store_settings(self) -> dict[str, str]:
        return store_pragmas(self.app)

    def close(self) -> None:
        self.app.close()


# -- recaudit in-process ---------------------------------------------------------------


class ServiceSession:
    def __init__(self, backend: Backend) -> None:
        self.service = backend.service

    def start(self, call: CallScript) -> str:
        result = self.service.start_call(call_id=call.call_id, org_id=call.org_id,
                                         agent_id=call.agent_id, direction=call.direction,
                                         at=call.started_at, command_id=f"{call.call_id}-start")
        if result.status.mode is not call.mode:
            return f"started in mode {result.status.mode.value}"
        return _answer(result)

    def step(self, call: CallScript, index: int) -> str:
        step = call.steps[index]
        result = self.service.command(call.call_id, step.command, by=call.agent_id,
                                      at=step.at, command_id=f"{call.call_id}-{index}")
        return _answer(result)

    def close(self) -> None:
        pass


def _answer(result: CallResult) -> str:
    if result.replayed:
        return "replayed"
    return result.refusal.value if result.refusal is not None else ACCEPTED


class ServiceTarget:
    """recaudit's RecordingService, called directly: writes go through group commit."""

    name = "recaudit in-process"

    def __init__(self, data_dir: Path) -> None:
        self.backend = build(Settings.from_env({}, data_dir=data_dir))

    def prepare(self) -> None:
        for mode, org in ORGS.items():
            self.backend.service.set_policy(org, mode=mode, changed_by="bench")

    def session(self) -> Session:
        return ServiceSession(self.backend)

    def stored_events(self) -> int:
        return self.backend.store.head()

    def batch_counts(self) -> tuple[int, int]:
        return self.backend.committer.jobs, self.backend.committer.batches

    def expected(self, call: PlannedCall) -> tuple[tuple[str, ...], int]:
        return call.outcomes, call.events

    def store_settings(self) -> dict[str, str]:
        return store_pragmas(self.backend.store)

    def close(self) -> None:
        self.backend.close()


# -- recaudit over HTTP ------------------------------------------------------------------


class HttpSession:
    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=60)

    def start(self, call: CallScript) -> str:
        body = {"call_id": call.call_id, "org_id": call.org_id, "agent_id": call.agent_id,
                "direction": call.direction, "at": iso_millis(call.started_at),
                "command_id": f"{call.call_id}-start"}
        response = self.client.post("/calls", json=body)
        if response.status_code == 201 and response.json()["mode"] != call.mode.value:
            return f"started in mode {response.json()['mode']}"
        return _outcome(response, success=201)

    def step(self, call: CallScript, index: int) -> str:
        step = call.steps[index]
        body = {"by": call.agent_id, "at": iso_millis(step.at),
                "command_id": f"{call.call_id}-{index}"}
        path = command_path(step.command, call.call_id)
        return _outcome(self.client.post(path, json=body), success=200)

    def close(self) -> None:
        self.client.close()


def _outcome(response: httpx.Response, *, success: int) -> str:
    if response.status_code == success:
        return ACCEPTED
    if response.status_code == 409:
        return str(response.json()["error"]["code"])
    raise BenchError(f"{response.request.method} {response.request.url} answered "
                     f"{response.status_code}: {response.text[:300]}")


class HttpTarget(ServiceTarget):
    """The same service behind the FastAPI app, served by uvicorn on a background thread."""

    name = "recaudit HTTP"

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.server = BackgroundServer(self.backend.app)  # started by the caller

    def prepare(self) -> None:
        with httpx.Client(base_url=self.server.url, timeout=30) as client:
            for mode, org in ORGS.items():
                response = client.put(f"/policies/{org}",
                                      json={"mode": mode.value, "changed_by": "bench"})
                if response.status_code != 200:
                    raise BenchError(f"setting the policy of {org} failed: {response.text}")

    def session(self) -> Session:
        return HttpSession(self.server.url)


# -- opening each target on a fresh store ------------------------------------------------


def open_bare(data_dir: Path, stack: ExitStack) -> Target:
    target = BareTarget(data_dir)
    stack.callback(target.close)
    return target


def open_in_process(data_dir: Path, stack: ExitStack) -> Target:
    target = ServiceTarget(data_dir)
    stack.callback(target.close)
    return target


def open_http(data_dir: Path, stack: ExitStack) -> Target:
    target = HttpTarget(data_dir)
    stack.callback(target.close)
    stack.enter_context(target.server)  # stopped before the backend closes
    return target
