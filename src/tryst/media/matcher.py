"""The PdqMatcher port over ``PdqIndex``: bank entries as (entry id, hex) pairs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tryst.media.pdq import PdqIndex, as_codes, from_hex


class BankMatcher:
    def __init__(self) -> None:
        self._index = PdqIndex()

    def add(self, entries: Sequence[tuple[int, str]]) -> None:
        if entries:  # (PdqIndex takes a writer lock; lookups never wait for it)
            self._index.add(as_codes([from_hex(value) for _, value in entries]),
                            np.array([entry_id for entry_id, _ in entries], dtype=np.int64))

    def replace(self, entries: Sequence[tuple[int, str]]) -> None:
        fresh = PdqIndex()
        if entries:
            fresh.add(as_codes([from_hex(value) for _, value in entries]),
                      np.array([entry_id for entry_id, _ in entries], dtype=np.int64))
        self._index = fresh  # one assignment: lookups use the old index until now

    def best(self, hashes: Sequence[str], max_distance: int) -> tuple[int, int] | None:
        if not hashes:
            return None
        match = self._index.best_match(as_codes([from_hex(h) for h in hashes]), max_distance)
        return (match.id, match.distance) if match else None

    def __len__(self) -> int:
        return len(self._index)

    def memory_bytes(self) -> int:
        return self._index.memory_bytes()
