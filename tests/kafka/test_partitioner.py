"""The relay's partitioner picks the partition kafka-python's default one picks."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.partitioner.default import DefaultPartitioner

from recaudit.adapters.kafka.partitioner import KeyHashPartitioner


class Cluster:
    """The two questions a partitioner asks of the client's cluster metadata."""

    def __init__(self, partitions: dict[str, set[int]]) -> None:
        self.partitions = partitions

    def topics(self) -> set[str]:
        return set(self.partitions)

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return self.partitions.get(topic)

    def available_partitions_for_topic(self, topic: str) -> set[int] | None:
        return self.partitions.get(topic)


@settings(max_examples=300, deadline=None)
@given(keys=st.lists(st.binary(min_size=1, max_size=64), min_size=1, max_size=20),
       counts=st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=4))
def test_the_same_partition_as_the_default_partitioner(keys: list[bytes],
                                                       counts: list[int]) -> None:
    ours, theirs = KeyHashPartitioner(kept=8), DefaultPartitioner()
    for count in counts:  # the topic grows or shrinks between sends: the choice follows
        cluster = Cluster({"t": set(range(count))})
        for key in keys + keys:  # again: from the kept hash
            assert ours.partition("t", None, key, None, b"v", cluster) == \
                theirs.partition("t", None, key, None, b"v", cluster)


def test_partition_numbers_need_not_be_contiguous() -> None:
    cluster = Cluster({"t": {7, 3, 11}})
    ours, theirs = KeyHashPartitioner(), DefaultPartitioner()
    for n in range(200):
        key = f"call-{n}".encode()
        assert ours.partition("t", None, key, None, b"v", cluster) == \
            theirs.partition("t", None, key, None, b"v", cluster)


def test_no_key_and_unknown_topics_are_left_to_the_library() -> None:
    cluster = Cluster({"t": {0, 1, 2}})
    random.seed(3)
    picks = {KeyHashPartitioner().partition("t", None, None, None, b"v", cluster)
             for _ in range(100)}
    assert picks == {0, 1, 2}  # random, as the library picks
    with pytest.raises(ValueError, match="not found"):
        KeyHashPartitioner().partition("other", None, b"k", None, b"v", cluster)


def test_the_kept_hashes_are_bounded() -> None:
    partitioner = KeyHashPartitioner(kept=10)
    cluster = Cluster({"t": set(range(6))})
    for n in range(95):
        partitioner.partition("t", None, f"k{n}".encode(), None, b"v", cluster)
    assert len(partitioner._hashes) <= 10
