"""Accounts restricted pending review."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tryst.domain.moderation import Restriction
from tryst.ids import AccountId
from tryst.storage.tables import account_restrictions


class SqlRestrictions:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def restrict(self, account_id: AccountId, signal: str, reason: str,
                       case_id: str | None, at: datetime) -> bool:
        """Restrict an account; False if it already was (the first reason stands)."""
        if await self.get(account_id) is not None:
            return False
        await self._c.execute(account_restrictions.insert().values(
            account_id=account_id, signal=signal, reason=reason, case_id=case_id, at=at))
        return True

    async def get(self, account_id: AccountId) -> Restriction | None:
        row = (await self._c.execute(select(account_restrictions).where(
            account_restrictions.c.account_id == account_id))).first()
        return Restriction(AccountId(row.account_id), row.signal, row.reason, row.case_id,
                           row.at) if row else None

    async def all_ids(self) -> set[AccountId]:
        rows = await self._c.execute(select(account_restrictions.c.account_id))
        return {AccountId(r[0]) for r in rows}

    async def lift(self, account_id: AccountId) -> bool:
        result = await self._c.execute(delete(account_restrictions).where(
            account_restrictions.c.account_id == account_id))
        return bool(result.rowcount)
