"""Where things live in the segment store (keys relative to its root, `<data_dir>/recordings`).

    _progress.json                                 the consumer's position
    _calls/<call_id>.json                          one call's state (see callstate.py)
    _quiet_calls.json                              the states of the open calls that have
                                                   no audio, stored together (quiet.py)
    <org_id>/<call_id>/<recording_no>/parts/<first sample>.pcm
                                                   decided audio of a recording still open
    <org_id>/<call_id>/<recording_no>/recording.wav    the finished recording
    <org_id>/<call_id>/<recording_no>/manifest.json    its manifest

Ids start with a letter or digit (the API's id pattern), so they never clash
with the `_` names.
"""

from __future__ import annotations

PROGRESS = "_progress.json"
CALLS = "_calls/"
QUIET_CALLS = "_quiet_calls.json"
PARTS = "parts/"
WAV = "recording.wav"
MANIFEST = "manifest.json"


def call_key(call_id: str) -> str:
    return f"{CALLS}{call_id}.json"


def recording_prefix(org_id: str, call_id: str, recording_no: int) -> str:
    return f"{org_id}/{call_id}/{recording_no}/"


def part_key(org_id: str, call_id: str, recording_no: int, first: int) -> str:
    return f"{recording_prefix(org_id, call_id, recording_no)}{PARTS}{first:016d}.pcm"


def wav_key(org_id: str, call_id: str, recording_no: int) -> str:
    return recording_prefix(org_id, call_id, recording_no) + WAV


def manifest_key(org_id: str, call_id: str, recording_no: int) -> str:
    return recording_prefix(org_id, call_id, recording_no) + MANIFEST


def manifest_recording(key: str) -> tuple[str, str, int] | None:
    """(org_id, call_id, recording_no) if `key` is a recording's manifest, else None."""
    parts = key.split("/")
    if len(parts) == 4 and parts[3] == MANIFEST and parts[2].isdigit():
        return parts[0], parts[1], int(parts[2])
    return None


def finished_parts(keys: list[str]) -> list[str]:
    """Part keys of recordings that already have a manifest (left by an interrupted cleanup)."""
    finished = {k[: -len(MANIFEST)] for k in keys if k.endswith("/" + MANIFEST)}
    return [
        k for k in keys
        if f"/{PARTS}" in k and k[: k.index(f"/{PARTS}") + 1] in finished
    ]
