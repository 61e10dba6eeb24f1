"""Classifying the events and seals that disagree (see `eventcheck`), by identity."""

from __future__ import annotations

from recaudit.adapters.integrity.chain import Link, RawEvent
from recaudit.adapters.integrity.findings import Finding, Kind


def classify(odd_links: dict[int, Link], odd_events: dict[int, RawEvent]) -> list[Finding]:
    return _Classifier(odd_links, odd_events).findings()


class _Classifier:
    def __init__(self, odd_links: dict[int, Link], odd_events: dict[int, RawEvent]) -> None:
        self.odd_links, self.odd_events = odd_links, odd_events
        self.by_key = {link.key: link for link in odd_links.values()}
        self.event_keys = {event.key for event in odd_events.values()}
        self.payload_home = {link.payload_sha256: link.position for link in odd_links.values()}
        self.used: set[int] = set()  # positions of seals whose event was found
        self.found: list[Finding] = []
        self.moves: list[tuple[RawEvent, Link]] = []

    def findings(self) -> list[Finding]:
        for event in sorted(self.odd_events.values(), key=lambda e: e.position):
            self._event(event)
        self.found += [_deleted(link) for position, link in self.odd_links.items()
                       if position not in self.used]
        self.found += coalesce(self.moves)
        return sorted(self.found, key=lambda f: (f.position or 0, f.kind.value))

    def _event(self, event: RawEvent) -> None:
        sealed = self.by_key.get(event.key)
        here = self.odd_links.get(event.position)
        if sealed is not None:
            self.used.add(sealed.position)
            self._sealed(event, sealed, here)
        elif here is not None and here.key not in self.event_keys:
            self.used.add(here.position)
            self.found.append(_identity(event, here))
        else:
            self.found.append(Finding(Kind.INSERTED, "no seal accounts for this event, which "
                                      "lies below the sealed head", event.position,
                                      event.stream, event.version))

    def _sealed(self, event: RawEvent, sealed: Link, here: Link | None) -> None:
        """An event whose identity was sealed, here or elsewhere."""
        if sealed.position == event.position:
            self.found += _content(event, sealed, self.payload_home)
        elif _same_content(event, sealed):
            self.moves.append((event, sealed))
        elif here is not None and here.stream == event.stream and _same_content(event, here):
            self.found.append(_renumbered(event, here))
        else:
            self.moves.append((event, sealed))
            self.found += _content(event, sealed, self.payload_home)


def _content(event: RawEvent, sealed: Link, payload_home: dict[str, int]) -> list[Finding]:
    found = []
    if event.topic != sealed.topic:
        found.append(Finding(Kind.EDITED, f"its topic is {event.topic!r}, sealed as "
                             f"{sealed.topic!r}", event.position, event.stream, event.version))
    if event.payload_sha256 != sealed.payload_sha256:
        home = payload_home.get(event.payload_sha256)
        if home is not None and home != sealed.position:
            found.append(Finding(Kind.REORDERED, f"it carries the state sealed for position "
                                 f"{home}", event.position, event.stream, event.version))
        else:
            found.append(Finding(Kind.EDITED, "its state differs from the sealed one "
                                 f"(sha256 {event.payload_sha256}, sealed "
                                 f"{sealed.payload_sha256})", event.position, event.stream,
                                 event.version))
    return found


def _same_content(event: RawEvent, link: Link) -> bool:
    return (event.topic, event.payload_sha256) == (link.topic, link.payload_sha256)


def _renumbered(event: RawEvent, sealed: Link) -> Finding:
    return Finding(Kind.REORDERED, f"its version is {event.version}, sealed as version "
                   f"{sealed.version} here", event.position, event.stream, event.version)


def _identity(event: RawEvent, sealed: Link) -> Finding:
    return Finding(Kind.EDITED, f"it is stream {event.stream} version {event.version}, "
                   f"sealed as stream {sealed.stream} version {sealed.version}",
                   event.position, event.stream, event.version)


def _deleted(link: Link) -> Finding:
    return Finding(Kind.DELETED, f"the event sealed here (topic {link.topic!r}) is gone",
                   link.position, link.stream, link.version)


def coalesce(moves: list[tuple[RawEvent, Link]]) -> list[Finding]:
    """One finding per run of events moved by the same distance, one after the other."""
    runs: list[list[tuple[RawEvent, Link]]] = []
    for event, link in moves:
        if runs and _offset(runs[-1][-1]) == event.position - link.position:
            runs[-1].append((event, link))
        else:
            runs.append([(event, link)])
    return [_moved(run) for run in runs]


def _offset(move: tuple[RawEvent, Link]) -> int:
    return move[0].position - move[1].position


def _moved(run: list[tuple[RawEvent, Link]]) -> Finding:
    event, link = run[0]
    if len(run) == 1:
        detail = f"it was sealed at position {link.position}"
    else:
        last_event, last_link = run[-1]
        detail = (f"{len(run)} events at positions {event.position}..{last_event.position} "
                  f"were sealed at positions {link.position}..{last_link.position}")
    return Finding(Kind.REORDERED, detail, event.position, event.stream, event.version)
