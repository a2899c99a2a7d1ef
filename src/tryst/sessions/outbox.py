"""A bounded per-connection queue. The door is told when it goes from empty to non-empty
and drains it in one write per event-loop pass."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from tryst.ports import Delivery

OutboxItem = Delivery | bytes  # an event to encode, or a frame the door already encoded


class Outbox:
    """Appends never block or await. Past ``limit`` the outbox is marked overflowed and the
    door closes the connection: the client resumes from its last sequence numbers, so
    nothing is lost, and one slow reader cannot make the server hold unbounded memory."""

    def __init__(self, limit: int, on_ready: Callable[[], None] | None = None) -> None:
        self._items: deque[OutboxItem] = deque()
        self._limit = limit
        self._drained = asyncio.Event()
        self._drained.set()
        self.on_ready = on_ready
        self.overflowed = False
        self.closed = False

    def __len__(self) -> int:
        return len(self._items)

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def page_size(self) -> int:
        """How many stored events a catch-up may queue at once: half the limit, so live
        traffic arriving meanwhile still fits."""
        return max(1, min(500, self._limit // 2))

    def push(self, item: OutboxItem) -> bool:
        items = self._items
        if self.overflowed or self.closed:
            return False
        items.append(item)
        if len(items) == 1:
            self._drained.clear()
            if self.on_ready is not None:
                self.on_ready()
        elif len(items) > self._limit:
            self.overflowed = True
            items.clear()
            self._drained.set()
            return False
        return True

    def take(self, max_items: int) -> list[OutboxItem]:
        """Remove and return up to ``max_items``, oldest first."""
        items = self._items
        if len(items) <= max_items:
            batch = list(items)
            items.clear()
        else:
            batch = [items.popleft() for _ in range(max_items)]
        if not items:
            self._drained.set()
        return batch

    async def wait_drained(self) -> None:
        """Wait until the door has taken everything queued (paces long catch-ups)."""
        while self._items and not self.closed and not self.overflowed:
            await self._drained.wait()

    def close(self) -> None:
        self.closed = True
        self._drained.set()
