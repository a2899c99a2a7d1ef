"""In-process bus: publishing calls every local subscriber of the stream, synchronously.

Subscribers only append to their outboxes here; the encoded frame is made once per
event and wire format (see ports.Delivery), so a broadcast to N connections costs one
encode and N appends."""

from __future__ import annotations

from collections.abc import Callable

from tryst.domain.events import Event
from tryst.ports import Delivery, Subscriber


class MemoryBus:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._observers: list[Callable[[Delivery], None]] = []

    def subscribe(self, stream: str, subscriber: Subscriber) -> None:
        self._subscribers.setdefault(stream, set()).add(subscriber)

    def unsubscribe(self, stream: str, subscriber: Subscriber) -> None:
        subs = self._subscribers.get(stream)
        if subs is not None:
            subs.discard(subscriber)
            if not subs:
                del self._subscribers[stream]

    def add_observer(self, observer: Callable[[Delivery], None]) -> None:
        self._observers.append(observer)

    def subscriber_count(self, stream: str) -> int:
        return len(self._subscribers.get(stream, ()))

    def publish(self, event: Event) -> None:
        delivery = Delivery(event)
        for observer in self._observers:
            observer(delivery)
        # Copy: a subscriber may unsubscribe (e.g. be closed as too slow) while we iterate.
        for subscriber in tuple(self._subscribers.get(event.stream, ())):
            subscriber.deliver(delivery)
