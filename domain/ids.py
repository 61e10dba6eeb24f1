"""Deterministic aggregate ids, so a retried create can never make a second stream."""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID, uuid5

# What a call, organisation, agent or command id may be: 1-128 of A-Z a-z 0-9 . _ : @ -,
# starting with a letter or digit (safe in paths, file names and terminals).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"

NAMESPACE = UUID("6f1c2b9e-5d7a-4c1e-9b0e-3a2f8d4c7e61")
# Every command asks for its call's and its organisation's stream ids, and a SHA-1 per ask
# was a few percent of the writer thread: the ids of recent streams are remembered.
RECENT_IDS = 65_536


@lru_cache(maxsize=RECENT_IDS)
def call_stream_id(call_id: str) -> UUID:
    return uuid5(NAMESPACE, f"call:{call_id}")


@lru_cache(maxsize=RECENT_IDS)
def policy_stream_id(org_id: str) -> UUID:
    return uuid5(NAMESPACE, f"org:{org_id}")


def access_stream_id(call_id: str) -> UUID:
    """The stream of a call's access log (apart from the call's own stream)."""
    return uuid5(NAMESPACE, f"access:{call_id}")
