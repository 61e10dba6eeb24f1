"""The consumers a process runs, each on its own runner thread, from one feed."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from consumers.framework import Consumer, ConsumerRunner, EventFeed


@dataclass
class Pipeline:
    feed: EventFeed
    consumers: list[Consumer] = field(default_factory=list)
    runners: dict[str, ConsumerRunner] = field(default_factory=dict)
    _threads: list[threading.Thread] = field(default_factory=list)

    def add(self, consumer: Consumer) -> None:
        self.consumers.append(consumer)

    def start(self) -> None:
        for consumer in self.consumers:
            if consumer.name in self.runners:
                continue
            runner = ConsumerRunner(self.feed, consumer)
            self.runners[consumer.name] = runner
            self._threads.append(runner.start())

    def wait_for(self, position: int, timeout: float) -> bool:
        """True once every consumer has applied the event at `position` (or later)."""
        return all(r.wait_for(position, timeout) for r in self.runners.values())

    def stop(self) -> None:
        for runner in self.runners.values():
            runner.stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads.clear()
        self.runners.clear()
