"""Comparing the stored events with their seals.

Links and events are walked together by position, a page at a time; only the
pairs that disagree are kept, then classified by the events' identity, the
(stream, version) pair the store keeps unique:
- an event whose identity was sealed at another position was moved, or, if it is
  what was sealed at its own position, renumbered within its stream (reordered);
- an event sealed at its position whose topic or state changed was edited, or
  carries the state sealed for another position (reordered);
- an event at a sealed position whose identity was never sealed, in place of
  one that is gone, was edited (its stream or version);
- an event nobody sealed, at a position below the sealed head, was inserted;
- a seal whose event is gone was deleted.
Events after the sealed head are simply not sealed yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from recaudit.adapters.integrity.chain import Link, RawEvent
from recaudit.adapters.integrity.classify import classify
from recaudit.adapters.integrity.findings import Finding
from recaudit.adapters.integrity.linkcheck import LinkChecker

Triple = tuple[Link | None, RawEvent | None, bool]


@dataclass
class EventCheck:
    links: LinkChecker = field(default_factory=LinkChecker)
    odd_links: dict[int, Link] = field(default_factory=dict)
    odd_events: dict[int, RawEvent] = field(default_factory=dict)
    unsealed: int = 0
    _odd_keys: set[tuple[str, int]] | None = None

    def run(self, links: Iterator[Link], events: Iterator[RawEvent]) -> list[Finding]:
        for link, event, below_head in align(links, events):
            if link is not None:
                self.links.add(link)
            self._compare(link, event, below_head)
        return self.links.findings + classify(self.odd_links, self.odd_events)

    def _compare(self, link: Link | None, event: RawEvent | None, below_head: bool) -> None:
        if link is not None and event is not None and link.event() == event:
            return
        if link is not None:
            self.odd_links[link.position] = link
        if event is None:
            return
        if below_head or self._sealed_elsewhere(event):
            self.odd_events[event.position] = event
        else:
            self.unsealed += 1

    def _sealed_elsewhere(self, event: RawEvent) -> bool:
        """An event after the sealed head whose identity was sealed at another position.
        Every link has been seen by then, so the odd ones are known."""
        if self._odd_keys is None:
            self._odd_keys = {link.key for link in self.odd_links.values()}
        return event.key in self._odd_keys


def align(links: Iterator[Link], events: Iterator[RawEvent]) -> Iterator[Triple]:
    """Links and events side by side by position (None where one side has nothing), and
    whether a lone event lies below the sealed head (some link comes after it)."""
    link, event = next(links, None), next(events, None)
    while link is not None or event is not None:
        if event is None or (link is not None and link.position < event.position):
            yield link, None, True
            link = next(links, None)
        elif link is None or event.position < link.position:
            yield None, event, link is not None
            event = next(events, None)
        else:
            yield link, event, True
            link, event = next(links, None), next(events, None)
