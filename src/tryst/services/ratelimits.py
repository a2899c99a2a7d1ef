"""Keyed token buckets held in memory (per node), bounded in size."""

from __future__ import annotations

from collections import OrderedDict

from tryst.clock import Clock
from tryst.domain.errors import RateLimited
from tryst.domain.ratelimit import TokenBucket


class RateLimiter:
    """Buckets keyed by persona, address, ... The oldest idle keys are dropped beyond
    ``max_keys`` so a flood of new addresses cannot grow memory without bound (a dropped
    key starts again with a full bucket, which only ever errs towards letting people talk)."""

    def __init__(self, clock: Clock, *, rate: float, burst: float, what: str,
                 max_keys: int = 100_000) -> None:
        self._clock = clock
        self._rate = rate
        self._burst = burst
        self._what = what
        self._max = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def check(self, key: str, cost: float = 1.0) -> None:
        """Take one token for ``key`` or raise RateLimited with the time to wait."""
        now = self._clock.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket.full(self._rate, self._burst, now)
            self._buckets[key] = bucket
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        wait = bucket.take(now, cost)
        if wait:
            raise RateLimited(f"too many {self._what}: slow down and try again shortly",
                              retry_after=wait)
