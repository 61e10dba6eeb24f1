"""Fixtures of the console's browser tests: one browser per session, one server per module.

Each module gets a backend of its own (SQLite events, a database of its own in the one
embedded ClickHouse engine) served over real HTTP on a free loopback port, and each test a
fresh browser context (no cookies shared between tests).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from clickhouse_connect.driver.client import Client

from recaudit.bootstrap import Backend, build
from recaudit.http.server import BackgroundServer
from recaudit.settings import Settings
from tests.console.browser import artifacts_dir, chromium_path
from tests.support import in_ci, require_service

try:
    import playwright.sync_api  # noqa: F401
except ImportError:  # without Playwright the browser tests are skipped, except in CI
    if in_ci():
        raise
    collect_ignore_glob = ["test_*.py"]

# The browser logs every answer of 4xx as a failed load: refusals are expected, other
# console errors (a script error, a blocked inline script or style) fail the test.
REFUSED_LOAD = "Failed to load resource: the server responded with a status of 4"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        require_service("Playwright", f"the playwright package cannot be imported: {exc}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable,
                                              args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="package")
def clickhouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    try:
        import chdb  # noqa: F401
    except ImportError as exc:
        require_service("ClickHouse (chdb)", f"the chdb package cannot be imported: {exc}")
    from projections import engine

    client = engine.connect(f"chdb://{tmp_path_factory.mktemp('clickhouse')}")
    yield client
    client.close()


@dataclass
class Console:
    """A running server: its address, its backend, and a JSON client of its API."""

    url: str
    backend: Backend
    api: httpx.Client


def serve_console(tmp_path_factory: pytest.TempPathFactory, clickhouse: Client,
                  env: dict[str, str] | None = None) -> Iterator[Console]:
    database = f"console_{uuid.uuid4().hex[:12]}"
    # Audio sent for a call dated back waits for its commands however slow the machine is
    # (ten minutes of lateness), so a test's audio never races the lateness sweep.
    settings = Settings.from_env(env or {}, data_dir=tmp_path_factory.mktemp(database),
                                 clickhouse_database=database, pause_poll_ms=50,
                                 audio_lateness_ms=600_000)
    backend = build(settings, clickhouse=clickhouse)
    backend.start()
    try:
        with BackgroundServer(backend.app) as server, \
                httpx.Client(base_url=server.url, timeout=30) as api:
            yield Console(server.url, backend, api)
    finally:
        backend.close()
        clickhouse.command("DROP DATABASE IF EXISTS {db:Identifier}", parameters={"db": database})


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, clickhouse: Client) -> Iterator[Console]:
    yield from serve_console(tmp_path_factory, clickhouse)


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a fresh context; its last view is kept as a screenshot artifact."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on("console", lambda message: errors.append(message.text)
              if message.type == "error" and not message.text.startswith(REFUSED_LOAD) else None)
    yield opened
    name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    opened.screenshot(path=str(artifacts_dir() / f"{name}.png"), full_page=True)
    context.close()
    assert not errors, f"the page's scripts failed: {errors}"
