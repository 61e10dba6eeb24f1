"""The Avro schemas of the published events, shipped with the project as package data.

`<EventType>.avsc` in this folder is the current schema of each event type;
`released/<version>/` keeps every set ever released, unchanged, so that
messages written with an old schema can still be read. This module finds and
parses the files and computes the fingerprint that names a schema in messages;
`recaudit.adapters.kafka.codec` turns them into a codec.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from fastavro.schema import fingerprint, to_parsing_canonical_form

SUFFIX = ".avsc"
RELEASED = "released"
_VERSION = re.compile(r"v(\d+)")

Schema = dict[str, Any]


def folder(version: str | None = None) -> Traversable:
    """The folder of the current schemas, or of one released version (e.g. "v1")."""
    root = files(__name__)
    return root if version is None else root / RELEASED / version


def current() -> dict[str, Schema]:
    """The current schema of each event type, by type name."""
    return _load(folder())


def released_versions() -> list[str]:
    """The released versions, oldest first ("v1", "v2", ...)."""
    names = [entry.name for entry in folder().joinpath(RELEASED).iterdir() if entry.is_dir()]
    versions = [name for name in names if _VERSION.fullmatch(name)]
    return sorted(versions, key=lambda name: int(name[1:]))


def released(version: str) -> dict[str, Schema]:
    """The schemas of one released version, by type name."""
    if version not in released_versions():
        raise ValueError(f"no released schema set {version!r}; have {released_versions()}")
    return _load(folder(version))


def parsing_fingerprint(schema: Mapping[str, Any]) -> bytes:
    """The 8-byte CRC-64-AVRO fingerprint of a schema's Parsing Canonical Form."""
    canonical = to_parsing_canonical_form(dict(schema))
    return bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))


def _load(where: Traversable) -> dict[str, Schema]:
    schemas: dict[str, Schema] = {}
    for entry in sorted(where.iterdir(), key=lambda e: e.name):
        if entry.is_file() and entry.name.endswith(SUFFIX):
            schemas[entry.name.removesuffix(SUFFIX)] = json.loads(entry.read_text("utf-8"))
    return schemas
