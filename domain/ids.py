"""Deterministic aggregate ids, so a retried create can never make a second stream."""

from __future__ import annotations

from uuid import UUID, uuid5

NAMESPACE = UUID("6f1c2b9e-5d7a-4c1e-9b0e-3a2f8d4c7e61")


def call_stream_id(call_id: str) -> UUID:
    return uuid5(NAMESPACE, f"call:{call_id}")


def policy_stream_id(org_id: str) -> UUID:
    return uuid5(NAMESPACE, f"org:{org_id}")
