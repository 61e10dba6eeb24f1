"""The consumers a process runs, each on its own runner thread, from one feed.

Consumers are registered by name with a factory, so a process that runs only
some of them (`recaudit consume NAME`, `recaudit relay`) never opens the
stores of the others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from consumers.framework import Consumer, ConsumerRunner, EventFeed


@dataclass
class Pipeline:
    feed: EventFeed
    factories: dict[str, Callable[[], Consumer]] = field(default_factory=dict)
    consumers: dict[str, Consumer] = field(default_factory=dict)
    runners: dict[str, ConsumerRunner] = field(default_factory=dict)
    in_process_only: set[str] = field(default_factory=set)
    fault_pause: float = 0.0  # see ConsumerRunner; fault-injection runs only
    _threads: list[threading.Thread] = field(default_factory=list)

    def add(self, name: str, factory: Callable[[], Consumer], *, standalone: bool = True) -> None:
        """Register a consumer; `standalone=False` if it must run in the API's process."""
        self.factories[name] = factory
        if not standalone:
            self.in_process_only.add(name)

    def consumer(self, name: str) -> Consumer:
        """The named consumer, built on first use."""
        if name not in self.factories:
            known = ", ".join(sorted(self.factories)) or "none"
            raise KeyError(f"no consumer named {name!r} (known: {known})")
        if name not in self.consumers:
            self.consumers[name] = self.factories[name]()
        return self.consumers[name]

    def start(self, only: Iterable[str] | None = None) -> None:
        for name in list(only if only is not None else self.factories):
            if name in self.runners:
                continue
            runner = ConsumerRunner(self.feed, self.consumer(name),
                                    fault_pause=self.fault_pause)
            self.runners[name] = runner
            self._threads.append(runner.start())

    def wait_for(self, position: int, timeout: float) -> bool:
        """True once every running consumer has applied the event at `position` (or later)."""
        return all(r.wait_for(position, timeout) for r in self.runners.values())

    def stop(self) -> None:
        for runner in self.runners.values():
            runner.stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads.clear()
        self.runners.clear()
        for consumer in self.consumers.values():
            consumer.close()
        self.consumers.clear()
