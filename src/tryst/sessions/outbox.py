"""A bounded per-connection queue, drained in batches by the connection's writer."""

from __future__ import annotations

import asyncio
from collections import deque

from tryst.ports import Delivery

OutboxItem = Delivery | str  # an event to encode, or a frame the door already encoded


class Outbox:
    """Appends never block or await. Past ``limit`` the outbox is marked overflowed and the
    door closes the connection: the client resumes from its last sequence numbers, so
    nothing is lost, and one slow reader cannot make the server hold unbounded memory."""

    def __init__(self, limit: int) -> None:
        self._items: deque[OutboxItem] = deque()
        self._limit = limit
        self._ready = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self.overflowed = False
        self.closed = False

    def __len__(self) -> int:
        return len(self._items)

    @property
    def page_size(self) -> int:
        """How many stored events a catch-up may queue at once: half the limit, so live
        traffic arriving meanwhile still fits."""
        return max(1, min(500, self._limit // 2))

    def push(self, item: OutboxItem) -> bool:
        if self.overflowed or self.closed:
            return False
        self._items.append(item)
        if len(self._items) > self._limit:
            self.overflowed = True
            self._items.clear()
        self._ready.set()
        self._drained.clear()
        return not self.overflowed

    async def take(self, max_items: int) -> list[OutboxItem]:
        """Wait for at least one item; return up to ``max_items`` in order."""
        while not self._items and not self.overflowed and not self.closed:
            self._ready.clear()
            await self._ready.wait()
        n = min(max_items, len(self._items))
        batch = [self._items.popleft() for _ in range(n)]
        if not self._items:
            self._drained.set()
        return batch

    async def wait_drained(self) -> None:
        """Wait until the writer has taken everything queued (paces long catch-ups)."""
        while self._items and not self.closed and not self.overflowed:
            self._drained.clear()
            await self._drained.wait()

    def close(self) -> None:
        self.closed = True
        self._ready.set()
        self._drained.set()
