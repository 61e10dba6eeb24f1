"""The head of the chains, exported so it can be kept outside the database.

A head names the last sealed event (its position and global hash) and the last
sealed recording. Whoever rewrites the chain tables consistently after an edit
can fool a verification that trusts them; they cannot make the rewritten chain
lead to a head kept elsewhere, if the edit is at or before that head.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from recaudit.adapters.integrity.chain import GENESIS, RecordingSeal
from recaudit.adapters.integrity.database import ChainDatabase
from recaudit.adapters.integrity.errors import HeadFileInvalid
from recaudit.adapters.integrity.findings import Finding, Kind


@dataclass(frozen=True)
class ChainHead:
    position: int
    global_hash: str
    sealed_at: str | None
    recordings_seq: int = 0
    recordings_hash: str = GENESIS

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


def current_head(db: ChainDatabase, seals: list[RecordingSeal] | None = None) -> ChainHead:
    link = db.last_link()
    last = db.last_recording_seal() if seals is None else (seals[-1] if seals else None)
    return ChainHead(
        position=link.position if link else 0,
        global_hash=link.global_hash if link else GENESIS,
        sealed_at=link.sealed_at if link else None,
        recordings_seq=last.seq if last else 0,
        recordings_hash=last.hash if last else GENESIS,
    )


def write_head(head: ChainHead, path: Path) -> None:
    """Write the head file atomically (a reader never sees half of it)."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(head.to_json(), encoding="utf-8")
    os.replace(temp, path)


def read_head(path: Path) -> ChainHead:
    try:
        document: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HeadFileInvalid(f"cannot read the chain head {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise HeadFileInvalid(f"{path} is not a chain head (a JSON object)")
    try:
        return ChainHead(
            position=_number(document["position"]),
            global_hash=_digest(document["global_hash"]),
            sealed_at=document.get("sealed_at"),
            recordings_seq=_number(document.get("recordings_seq", 0)),
            recordings_hash=_digest(document.get("recordings_hash", GENESIS)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise HeadFileInvalid(f"{path} is not a valid chain head: {exc}") from exc


def check_head(head: ChainHead, db: ChainDatabase,
               seals: list[RecordingSeal]) -> list[Finding]:
    """Findings if the stored chains no longer lead to `head`."""
    findings = []
    if head.position > 0:
        link = db.link_at(head.position)
        if link is None or link.global_hash != head.global_hash:
            now = "no seal" if link is None else f"global hash {link.global_hash}"
            findings.append(Finding(
                Kind.REWRITTEN, f"the exported head has global hash {head.global_hash}, the "
                f"chain now has {now} there: the seals were rewritten at or before it",
                position=head.position))
    if head.recordings_seq > 0:
        by_seq = {seal.seq: seal for seal in seals}
        seal = by_seq.get(head.recordings_seq)
        if seal is None or seal.hash != head.recordings_hash:
            findings.append(Finding(
                Kind.REWRITTEN, f"the recording chain no longer leads to the exported head "
                f"(seal {head.recordings_seq}, hash {head.recordings_hash})"))
    return findings


def _number(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"expected a whole number >= 0, got {value!r}")
    return value


def _digest(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 64:
        raise ValueError(f"expected 64 hex digits, got {value!r}")
    int(value, 16)
    return value
