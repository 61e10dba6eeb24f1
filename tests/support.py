"""Helpers shared by the test suites."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require_service(name: str, reason: str) -> NoReturn:
    """A needed service is missing: fail in CI, skip elsewhere."""
    message = f"{name} is not available: {reason}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: services must be running)")
    pytest.skip(message)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0,
               what: str = "condition") -> None:
    """Poll `condition` until it holds; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)
