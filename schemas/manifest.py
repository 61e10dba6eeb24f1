"""fingerprints.json: which schema file each fingerprint names, for readers without CRC-64-AVRO.

Regenerate after adding or releasing a schema: `python -m schemas.manifest`.
The test suite fails while the file is out of date.
"""

from __future__ import annotations

import json
from typing import Any

import schemas

FILE_NAME = "fingerprints.json"
ABOUT = (
    "Key: the CRC-64-AVRO fingerprint of the schema's Parsing Canonical Form, as the 8 bytes "
    "at offset 2 of every message (little-endian), in hex; the same text as the "
    "schema_fingerprint header. Paths are relative to this folder."
)


def build() -> dict[str, Any]:
    entries: dict[str, dict[str, Any]] = {}
    sets = [("", schemas.current())] + [
        (f"{schemas.RELEASED}/{v}/", schemas.released(v)) for v in schemas.released_versions()
    ]
    for prefix, schema_set in sets:
        for event_type, schema in schema_set.items():
            key = schemas.parsing_fingerprint(schema).hex()
            entry = entries.setdefault(key, {"type": event_type, "files": []})
            entry["files"].append(f"{prefix}{event_type}{schemas.SUFFIX}")
    return {"about": ABOUT, "fingerprints": dict(sorted(entries.items()))}


def render() -> str:
    return json.dumps(build(), indent=2) + "\n"


def stored() -> str:
    return schemas.folder().joinpath(FILE_NAME).read_text("utf-8")


def main() -> None:
    target = schemas.folder().joinpath(FILE_NAME)
    with open(str(target), "w", encoding="utf-8") as out:
        out.write(render())
    print(f"wrote {FILE_NAME}")


if __name__ == "__main__":
    main()
