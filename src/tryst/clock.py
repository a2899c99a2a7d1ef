"""The one place that reads time or sleeps. Everything else receives a Clock."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Wall-clock time, timezone-aware UTC (for records users see)."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary point; only differences mean anything (rate limits)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait; a fake clock advances instead of waiting."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
