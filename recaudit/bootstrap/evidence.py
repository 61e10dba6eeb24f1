"""Wiring evidence bundles: the server's signing key, and the bundle of a call built from
the configured store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.clock import Clock, system_clock
from domain.errors import UnknownCall
from recaudit.adapters.integrity.bundle.build import BundleSource, build_bundle
from recaudit.adapters.integrity.errors import SigningKeyInvalid
from recaudit.adapters.integrity.recordings import RecordingFiles
from recaudit.adapters.integrity.signing import load_or_create
from recaudit.bootstrap.integrity import open_database
from recaudit.core.eventstore import EventStore
from recaudit.core.views import TimelineView
from recaudit.settings import Settings, SettingsError


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The key that signs bundles; a bad configured key stops start-up."""
    try:
        return load_or_create(settings.data_dir, settings.signing_key_file)
    except SigningKeyInvalid as exc:
        raise SettingsError(f"RECAUDIT_SIGNING_KEY_FILE: {exc}" if settings.signing_key_file
                            else str(exc)) from exc


def timeline_at(store: EventStore) -> Callable[[str, int], dict[str, Any]]:
    def timeline(call_id: str, version: int) -> dict[str, Any]:
        call = store.call(call_id, version=version)
        if call is None:
            raise UnknownCall(call_id)
        return TimelineView.of(call).to_json()

    return timeline


def bundles(settings: Settings, store: EventStore, files: RecordingFiles,
            seal: Callable[[], object], key: Ed25519PrivateKey,
            clock: Clock = system_clock) -> Callable[[str], bytes]:
    """`bundle(call_id)`: the call's evidence bundle, sealed first with `seal`."""
    source = BundleSource(lambda: open_database(settings, read_only=True), files,
                          timeline_at(store), seal, key, clock)
    return lambda call_id: build_bundle(source, call_id)
