"""The files of an evidence bundle, and the manifest of their SHA-256 digests.

The manifest is in the format `sha256sum` reads (`<hex digest>  <name>` per line), so
`sha256sum -c MANIFEST.sha256` checks it too. It lists every file but itself, the
heads and their signature; the heads carry the manifest's own digest, and the
signature covers the heads, so every byte of the bundle is signed.
"""

from __future__ import annotations

from importlib import resources

FORMAT = "recaudit-evidence/1"
README = "README.txt"
MANIFEST = "MANIFEST.sha256"
HEADS = "heads.json"
SIGNATURE = "heads.sig"
PUBLIC_KEY = "public-key.pem"
CALL_EVENTS = "events/call.json"
ACCESS_EVENTS = "events/access.json"
LINKS = "chain/links.json"
SEALS = "chain/recordings.json"
TIMELINE = "timeline.json"
ACCESS_LOG = "access-log.json"
UNLISTED = frozenset({MANIFEST, HEADS, SIGNATURE})
STREAM_FILES = {"call": CALL_EVENTS, "access": ACCESS_EVENTS}


def manifest_path(recording_no: int) -> str:
    return f"recordings/{recording_no}/manifest.json"


def wav_path(recording_no: int) -> str:
    return f"recordings/{recording_no}/recording.wav"


def manifest_text(digests: dict[str, str]) -> bytes:
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(digests.items())).encode()


def parse_manifest(data: bytes) -> dict[str, str] | None:
    """{name: digest}, or None if `data` is not a manifest."""
    found: dict[str, str] = {}
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return None
    for line in text.splitlines():
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name or name in found:
            return None
        found[name] = digest
    return found


def readme() -> bytes:
    return resources.files(__package__).joinpath("README.txt").read_bytes()
