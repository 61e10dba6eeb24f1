"""The relay's partitioner: the default one's choice, each key's hash worked out once.

Events are keyed by their call (their organisation for policy events), so a consumer
in any language finds a call's events on the partition the Java client's default
partitioner picks: murmur2 of the key, made positive, modulo the topic's partition
count. kafka-python computes that hash in Python for every record, about 6 us, and
sorts and copies the partition sets around it; a call's few events share one key, so
the hash is kept per key. The choice is the same as `DefaultPartitioner`'s, for every
key and partition count (tests/kafka/test_partitioner.py).
"""

from __future__ import annotations

from typing import Any

from kafka.partitioner.default import DefaultPartitioner, murmur2

# Keys whose hash is kept; past it the table starts again (live calls' keys come back).
KEPT_KEYS = 65_536


class KeyHashPartitioner(DefaultPartitioner):
    def __init__(self, kept: int = KEPT_KEYS) -> None:
        self.kept = kept
        self._hashes: dict[bytes, int] = {}
        self._sorted: dict[str, tuple[frozenset[int], list[int]]] = {}

    def partition(self, topic: str, key: Any, serialized_key: bytes | None, value: Any,
                  serialized_value: bytes | None, cluster: Any) -> int:
        partitions = cluster.partitions_for_topic(topic)
        if serialized_key is None or not partitions:
            # No key (a random pick), or a topic not known: as the library does it.
            return int(super().partition(topic, key, serialized_key, value,
                                         serialized_value, cluster))
        known = self._sorted.get(topic)
        if known is None or known[0] != partitions:
            known = self._sorted[topic] = (frozenset(partitions), sorted(partitions))
        hashed = self._hashes.get(serialized_key)
        if hashed is None:
            if len(self._hashes) >= self.kept:
                self._hashes.clear()
            hashed = self._hashes[serialized_key] = murmur2(serialized_key) & 0x7FFFFFFF
        in_order = known[1]
        return in_order[hashed % len(in_order)]
