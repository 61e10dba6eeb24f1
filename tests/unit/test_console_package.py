"""The console's templates and static files are packaged with the project."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "recaudit" / "http" / "console"


def test_every_template_and_static_file_is_package_data() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "tool"]["setuptools"]["package-data"]["recaudit"]
    files = [p.relative_to(ROOT / "recaudit").as_posix()
             for folder in ("templates", "static") for p in (CONSOLE / folder).rglob("*")
             if p.is_file()]
    assert files, "no console files found"
    # Globbed as setuptools does: a `*` never crosses a `/`.
    packaged = {p.relative_to(ROOT / "recaudit").as_posix()
                for pattern in patterns for p in (ROOT / "recaudit").glob(pattern)}
    missing = [f for f in files if f not in packaged]
    assert not missing, f"not packaged: {missing}"
