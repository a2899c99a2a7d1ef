"""Token buckets, pure: the caller passes the time in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    rate: float  # tokens added per second
    capacity: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, capacity: float, now: float) -> TokenBucket:
        return cls(rate=rate, capacity=capacity, tokens=capacity, updated=now)

    def take(self, now: float, cost: float = 1.0) -> float:
        """Take ``cost`` tokens. Returns 0.0 on success, else the seconds until it would
        succeed (and takes nothing, so a refused flood does not dig a deeper hole)."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        if self.rate <= 0:
            return float("inf")
        return (cost - self.tokens) / self.rate
