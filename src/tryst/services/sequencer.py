"""Per-room ordering of write-then-publish.

The database hands out sequence numbers in commit order, but two coroutines can still
publish in the other order after committing. Holding a per-room lock from before the
transaction until after publishing keeps live delivery in sequence order, so a
subscriber never sees seq 7 before seq 6 from this node."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Iterable


class StreamSequencer:
    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary())

    def _lock(self, stream: str) -> asyncio.Lock:
        lock = self._locks.get(stream)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[stream] = lock
        return lock

    @contextlib.asynccontextmanager
    async def hold(self, streams: Iterable[str]) -> AsyncIterator[None]:
        """Hold the locks of several streams, taken in sorted order so that two callers
        holding overlapping sets cannot deadlock."""
        locks = [self._lock(s) for s in sorted(set(streams))]
        async with contextlib.AsyncExitStack() as stack:
            for lock in locks:
                await stack.enter_async_context(lock)
            yield
