"""Headless Chromium for the console's tests: Debian's browser driven by Playwright.

Playwright's own browser download cannot be used here, so the tests launch the browser the
test script installs (`/usr/bin/chromium`, or `RECAUDIT_TEST_CHROMIUM`). Without it, or
without Playwright, the tests fail in CI and are skipped elsewhere.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.support import require_service

CHROMIUM_VAR = "RECAUDIT_TEST_CHROMIUM"
ARTIFACTS_VAR = "RECAUDIT_TEST_ARTIFACTS"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def chromium_path() -> str:
    """The browser to launch; fails (CI) or skips when there is none."""
    given = os.environ.get(CHROMIUM_VAR)
    found = given or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not Path(found).exists():
        require_service("a browser", f"no Chromium found (set {CHROMIUM_VAR}, or run "
                                     "scripts/test.sh, which installs Debian's chromium)")
    return found


def artifacts_dir() -> Path:
    """Where the browser tests leave their screenshots (ignored by git)."""
    path = Path(os.environ.get(ARTIFACTS_VAR) or ARTIFACTS) / "console"
    path.mkdir(parents=True, exist_ok=True)
    return path
