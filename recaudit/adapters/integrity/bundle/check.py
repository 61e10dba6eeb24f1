"""Checking an evidence bundle offline, with only the bundle and a public key.

In order: the signature over the heads; the manifest against the heads, and every file
against the manifest (none missing, none extra); each stream's events recomputed from
their stored rows and chained in order up to the signed head; the recordings' seals,
audio and manifests (a deleted recording against its `RecordingDeleted`); and the
timeline and access log against the events. Every problem is one finding naming the
file, and the event or recording where there is one.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from recaudit.adapters.integrity.bundle import layout
from recaudit.adapters.integrity.bundle.consistency import check_access_log, check_timeline
from recaudit.adapters.integrity.bundle.recordings import check_recordings
from recaudit.adapters.integrity.bundle.rows import BundleRow, StreamChain, parse_row
from recaudit.adapters.integrity.chain import Link
from recaudit.adapters.integrity.errors import BundleUnreadable, SigningKeyInvalid
from recaudit.adapters.integrity.findings import Finding, Kind
from recaudit.adapters.integrity.recordings import sha256_of
from recaudit.adapters.integrity.signing import parse_public_key, signature_valid


@dataclass
class BundleReport:
    call_id: str | None = None
    findings: list[Finding] = field(default_factory=list)
    events: int = 0
    recordings: int = 0
    deleted: int = 0
    key_from_bundle: bool = False

    @property
    def clean(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        verdict = "clean" if self.clean else f"{len(self.findings)} finding(s)"
        key = ("the public key inside the bundle (give --public-key to know who signed it)"
               if self.key_from_bundle else "the public key given")
        return (f"{verdict}: call {self.call_id}, {self.events} events, {self.recordings} "
                f"recordings ({self.deleted} deleted with a record); signature checked "
                f"against {key}")


def read_archive(data: bytes) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {info.filename: archive.read(info) for info in archive.infolist()
                    if not info.is_dir()}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise BundleUnreadable(f"not a readable zip archive: {exc}") from exc


def check_bundle(data: bytes, public_key: Ed25519PublicKey | None = None) -> BundleReport:
    return _Checker(read_archive(data), public_key).run()


class _Checker:
    def __init__(self, files: dict[str, bytes], key: Ed25519PublicKey | None) -> None:
        self.files = files
        self.key = key
        self.report = BundleReport(key_from_bundle=key is None)
        self.found = self.report.findings

    def run(self) -> BundleReport:
        heads = self._heads()
        self._manifest(heads)
        rows = {name: self._rows(path) for name, path in layout.STREAM_FILES.items()}
        links = self._links()
        for name, path in layout.STREAM_FILES.items():
            self._chain(name, path, rows[name], links, heads)
        call_rows = rows["call"]
        self.report.events = sum(len(r) for r in rows.values())
        self.report.recordings, self.report.deleted = check_recordings(
            self.files, call_rows, heads, self.found)
        self.found += check_timeline(self._json(layout.TIMELINE), call_rows,
                                     self.report.call_id)
        self.found += check_access_log(self._json(layout.ACCESS_LOG), rows["access"])
        return self.report

    # -- the signature and the manifest ----------------------------------------------

    def _heads(self) -> dict[str, Any]:
        data, signature = self.files.get(layout.HEADS), self.files.get(layout.SIGNATURE)
        for name, present in ((layout.HEADS, data), (layout.SIGNATURE, signature)):
            if present is None:
                self.found.append(Finding(Kind.FILE_MISSING, "the bundle has no such file",
                                          file=name))
        key = self.key or self._bundled_key()
        if data is not None and signature is not None and key is not None and \
                not signature_valid(key, signature, data):
            self.found.append(Finding(Kind.SIGNATURE_INVALID, "the signature over "
                                      f"{layout.HEADS} does not verify with the public key",
                                      file=layout.SIGNATURE))
        heads = self._json(layout.HEADS) if data is not None else None
        if not isinstance(heads, dict):
            return {}
        self.report.call_id = heads.get("call_id") if isinstance(heads.get("call_id"),
                                                                 str) else None
        return heads

    def _bundled_key(self) -> Ed25519PublicKey | None:
        data = self.files.get(layout.PUBLIC_KEY)
        try:
            return parse_public_key(data, layout.PUBLIC_KEY) if data is not None else None
        except SigningKeyInvalid:  # reported through the manifest, whose digest it fails
            return None

    def _manifest(self, heads: dict[str, Any]) -> None:
        data = self.files.get(layout.MANIFEST)
        if data is None:
            self.found.append(Finding(Kind.FILE_MISSING, "the bundle has no manifest",
                                      file=layout.MANIFEST))
            return
        if sha256_of(data) != heads.get("manifest_sha256"):
            self.found.append(Finding(Kind.FILE_ALTERED, "its SHA-256 is not the one the "
                                      "signed heads give", file=layout.MANIFEST))
        listed = layout.parse_manifest(data)
        if listed is None:
            self.found.append(Finding(Kind.FILE_ALTERED, "it is not a list of SHA-256 "
                                      "digests and file names", file=layout.MANIFEST))
            return
        for name, digest in sorted(listed.items()):
            present = self.files.get(name)
            if present is None:
                self.found.append(Finding(Kind.FILE_MISSING, "listed in the manifest, not "
                                          "in the bundle", file=name))
            elif sha256_of(present) != digest:
                self.found.append(Finding(Kind.FILE_ALTERED, f"its SHA-256 is "
                                          f"{sha256_of(present)}, the manifest says {digest}",
                                          file=name))
        for name in sorted(set(self.files) - set(listed) - layout.UNLISTED):
            self.found.append(Finding(Kind.FILE_EXTRA, "in the bundle, not in the manifest",
                                      file=name))

    # -- the events --------------------------------------------------------------------

    def _rows(self, path: str) -> list[BundleRow]:
        documents = self._json(path)
        if not isinstance(documents, list):
            return []
        rows = []
        for n, document in enumerate(documents, start=1):
            try:
                rows.append(parse_row(document))
            except (ValueError, KeyError, TypeError) as exc:
                self.found.append(Finding(Kind.EDITED, f"event {n} of the file is malformed: "
                                          f"{exc}", file=path))
        return rows

    def _links(self) -> dict[int, Link]:
        documents = self._json(layout.LINKS)
        links: dict[int, Link] = {}
        for n, document in enumerate(documents if isinstance(documents, list) else [], 1):
            try:
                link = Link(**document)
            except TypeError as exc:
                self.found.append(Finding(Kind.CHAIN_BROKEN, f"link {n} is malformed: {exc}",
                                          file=layout.LINKS))
                continue
            links[link.position] = link
        return links

    def _chain(self, name: str, path: str, rows: list[BundleRow], links: dict[int, Link],
               heads: dict[str, Any]) -> None:
        streams = heads.get("streams")
        head = next((s for s in (streams if isinstance(streams, list) else [])
                     if isinstance(s, dict) and s.get("name") == name), {})
        chain = StreamChain(path, links, self.found)
        chain.walk(rows)
        if (chain.version, chain.prev if rows else None) != (head.get("version"),
                                                               head.get("stream_hash")):
            self.found.append(Finding(
                Kind.REWRITTEN, f"the events end at version {chain.version}, the signed "
                f"head of the {name} stream is version {head.get('version')} with another "
                "hash: events were added, removed or changed", file=path,
                stream=head.get("stream") if isinstance(head.get("stream"), str) else None))

    def _json(self, name: str) -> Any:
        data = self.files.get(name)
        if data is None:
            return None
        try:
            return json.loads(data)
        except ValueError:
            self.found.append(Finding(Kind.INCONSISTENT, "it is not valid JSON", file=name))
            return None
