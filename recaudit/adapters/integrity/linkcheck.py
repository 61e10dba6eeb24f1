"""Checking the seals among themselves: each hashes to its contents and follows the one
before it, in the global chain and in its stream's chain."""

from __future__ import annotations

from dataclasses import dataclass, field

from recaudit.adapters.integrity.chain import GENESIS, GLOBAL, STREAM, Link, canonical, chained
from recaudit.adapters.integrity.findings import Finding, Kind


@dataclass
class LinkChecker:
    """Fed the links in position order; collects what does not chain."""

    findings: list[Finding] = field(default_factory=list)
    last_global: str = GENESIS
    last_position: int = 0
    streams: dict[str, tuple[int, str]] = field(default_factory=dict)  # stream -> (version, hash)
    count: int = 0

    def add(self, link: Link) -> None:
        body = canonical(link.event())
        if link.global_prev != self.last_global:
            self._broken(link, "it does not follow the seal before it in the global chain")
        if chained(GLOBAL, link.global_prev, body) != link.global_hash:
            self._broken(link, "its global hash does not match its contents")
        self._check_stream(link, body)
        self.last_global = link.global_hash
        self.last_position = link.position
        self.count += 1

    def _check_stream(self, link: Link, body: bytes) -> None:
        version, stream_hash = self.streams.get(link.stream, (0, GENESIS))
        if link.stream_prev != stream_hash:
            self._broken(link, "it does not follow the seal before it in its stream's chain")
        if chained(STREAM, link.stream_prev, body) != link.stream_hash:
            self._broken(link, "its stream hash does not match its contents")
        if link.version != version + 1:
            missing = "was sealed twice" if link.version <= version else (
                f"follows version {version}: the versions between were missing when sealed")
            self.findings.append(Finding(Kind.DELETED if link.version > version else
                                         Kind.CHAIN_BROKEN, f"this version {missing}",
                                         link.position, link.stream, link.version))
        self.streams[link.stream] = (link.version, link.stream_hash)

    def _broken(self, link: Link, why: str) -> None:
        self.findings.append(Finding(Kind.CHAIN_BROKEN, why, link.position, link.stream,
                                     link.version))
