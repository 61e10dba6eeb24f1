"""Verification reads; it never writes: not the SQLite file, not the PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import pytest

from recaudit.adapters.integrity.errors import DatabaseUnreachable
from recaudit.bootstrap import Backend
from recaudit.bootstrap.integrity import open_database
from recaudit.settings import Settings
from tests.integrity.scene import check, populate, summary


def stored_bytes(settings: Settings) -> dict[str, bytes]:
    if settings.postgres_url:
        return {}
    return {p.name: p.read_bytes() for p in Path(settings.data_dir).glob("events.sqlite*")
            if not p.name.endswith("-shm")}  # the shared-memory index readers also use


def test_verifying_an_unsealed_store_changes_nothing(backend: Backend,
                                                     settings: Settings) -> None:
    populate(backend)
    before = stored_bytes(settings)
    assert summary(check(settings)) == [("unsealed", None, None, None)]
    assert stored_bytes(settings) == before
    db = open_database(settings, read_only=True)
    try:
        assert not db.has_chain(), "verification must not create the chain tables"
    finally:
        db.close()


def test_the_verifying_connection_cannot_write(backend: Backend, settings: Settings) -> None:
    import psycopg

    db = open_database(settings, read_only=True)
    try:
        with pytest.raises((DatabaseUnreachable, psycopg.errors.ReadOnlySqlTransaction)), \
                db.snapshot():
            db.rows("CREATE TABLE intruder (n INTEGER)")
        assert not db.has_table("intruder")
    finally:
        db.close()
