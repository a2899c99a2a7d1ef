"""Argon2id password hashing (argon2-cffi), run in a worker thread so a login never
stalls the event loop for the tens of milliseconds a hash takes."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2Hasher:
    def __init__(self, time_cost: int = 3, memory_kib: int = 65536) -> None:
        self._ph = _Argon2(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        # Verified against when the username does not exist, so a miss takes as long as
        # a wrong password and usernames cannot be probed by timing.
        self._dummy = self._ph.hash("tryst-timing-equaliser")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._ph.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        def check() -> bool:
            try:
                return bool(self._ph.verify(password_hash or self._dummy, password))
            except (VerificationError, InvalidHashError):
                return False

        ok = await asyncio.to_thread(check)
        return ok and bool(password_hash)
