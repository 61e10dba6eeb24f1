"""Writing the evidence bundle of one call from the store.

The call's events are sealed first (the caller's `seal`), then everything is read in
one snapshot of the database: the rows of the call's stream and of its access log
with their links, and its recordings' seals. The timeline is replayed at the last
sealed version of the call, so it says what the bundled events say.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.clock import iso_millis
from domain.errors import UnknownCall
from domain.ids import access_stream_id, call_stream_id
from recaudit.adapters.integrity.bundle import layout
from recaudit.adapters.integrity.bundle.rows import StoredRow, link_json, row_json
from recaudit.adapters.integrity.chain import Link, RecordingSeal
from recaudit.adapters.integrity.database import ChainDatabase
from recaudit.adapters.integrity.recordings import RecordingFiles, sha256_of
from recaudit.adapters.integrity.signing import public_pem

# The timeline JSON of a call at a version of its stream.
TimelineAt = Callable[[str, int], dict[str, Any]]
ACCESS_FIELDS = ("what", "recording_no", "by", "role")


@dataclass(frozen=True)
class Stream:
    name: str
    rows: list[StoredRow]
    links: list[Link]

    def head(self) -> dict[str, Any]:
        last = self.links[-1] if self.links else None
        return {"name": self.name, "stream": self.rows[0][1] if self.rows else None,
                "version": last.version if last else 0,
                "position": last.position if last else 0,
                "stream_hash": last.stream_hash if last else None}


@dataclass(frozen=True)
class BundleSource:
    connect: Callable[[], ChainDatabase]  # a read-only connection
    files: RecordingFiles
    timeline: TimelineAt
    seal: Callable[[], object]
    key: Ed25519PrivateKey
    clock: Callable[[], datetime]


def build_bundle(source: BundleSource, call_id: str) -> bytes:
    """The bundle of `call_id`, a zip archive; UnknownCall if the store has no such call."""
    source.seal()
    db = source.connect()
    try:
        with db.snapshot():
            call = _sealed(db, "call", call_stream_id(call_id).hex)
            access = _sealed(db, "access", access_stream_id(call_id).hex)
            seals = db.call_seals(call_id)
    finally:
        db.close()
    if not call.rows:
        raise UnknownCall(call_id)
    files = _contents(source, call_id, call, access, seals)
    return _archive(source.key, files, _heads(source, call_id, call, access, seals, files))


def _sealed(db: ChainDatabase, name: str, stream: str) -> Stream:
    """The stream's rows up to its last sealed event, with their links."""
    links = db.stream_links(stream)
    sealed = {link.position for link in links}
    rows = [row for row in db.stream_rows(stream) if row[0] in sealed]
    return Stream(name, rows, links)


def _contents(source: BundleSource, call_id: str, call: Stream, access: Stream,
              seals: list[RecordingSeal]) -> dict[str, bytes]:
    files = {
        layout.README: layout.readme(),
        layout.PUBLIC_KEY: public_pem(source.key),
        layout.CALL_EVENTS: _json([row_json(row) for row in call.rows]),
        layout.ACCESS_EVENTS: _json([row_json(row) for row in access.rows]),
        layout.LINKS: _json([link_json(link) for link in call.links + access.links]),
        layout.SEALS: _json([vars(seal) for seal in seals]),
        layout.TIMELINE: _json(source.timeline(call_id, call.links[-1].version)),
        layout.ACCESS_LOG: _json(access_log(access.rows)),
    }
    org_id = str(row_json(call.rows[0])["state"]["org_id"])
    files.update(_recordings(source.files, org_id, call_id))
    return files


def _recordings(recordings: RecordingFiles, org_id: str, call_id: str) -> dict[str, bytes]:
    files = {}
    for org, call, number in recordings.of_call(org_id, call_id):
        manifest = recordings.manifest((org, call, number))
        if manifest is None:
            continue
        files[layout.manifest_path(number)] = manifest
        audio = recordings.audio((org, call, number))
        if audio is not None:
            files[layout.wav_path(number)] = audio
    return files


def access_log(rows: list[StoredRow]) -> list[dict[str, Any]]:
    """The access log's entries, from its stored RecordAccessed events."""
    entries = []
    for row in rows:
        state = row_json(row)["state"]
        if not isinstance(state, dict) or "what" not in state:
            continue
        entry = {name: state.get(name) for name in ACCESS_FIELDS}
        entry["at"] = stored_iso(state.get("at"))
        entry["version"] = row[2]
        entries.append(entry)
    return entries


def stored_iso(value: Any) -> str | None:
    text = value.get("_data_") if isinstance(value, dict) else value
    return iso_millis(datetime.fromisoformat(text)) if isinstance(text, str) else None


def _heads(source: BundleSource, call_id: str, call: Stream, access: Stream,
           seals: list[RecordingSeal], files: dict[str, bytes]) -> dict[str, Any]:
    manifest = layout.manifest_text({name: sha256_of(data) for name, data in files.items()})
    files[layout.MANIFEST] = manifest
    return {
        "format": layout.FORMAT,
        "call_id": call_id,
        "created_at": iso_millis(source.clock()),
        "manifest_sha256": sha256_of(manifest),
        "streams": [call.head(), access.head()],
        "recordings": [{"seq": s.seq, "recording_no": s.recording_no, "hash": s.hash}
                       for s in seals],
    }


def _archive(key: Ed25519PrivateKey, files: dict[str, bytes], heads: dict[str, Any]) -> bytes:
    heads_bytes = _json(heads)
    files[layout.HEADS] = heads_bytes
    files[layout.SIGNATURE] = key.sign(heads_bytes)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(name, files[name])
    return buffer.getvalue()


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
