"""A clock tests move by hand instead of sleeping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
        self._mono = 1000.0
        self._tick = asyncio.Event()

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds
        self._tick.set()

    async def sleep(self, seconds: float) -> None:
        # Wake when a test advances time far enough; never wait on the real clock.
        deadline = self._mono + seconds
        while self._mono < deadline:
            self._tick.clear()
            await self._tick.wait()
