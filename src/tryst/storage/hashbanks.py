"""Hash banks and moderation cases."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tryst.domain.hashbanks import Bank, BankEntry, Case, Signal
from tryst.ids import AccountId, PersonaId
from tryst.storage.tables import hash_banks, hash_entries, hash_removals, moderation_cases


def _bank(row: Any) -> Bank:
    return Bank(id=row.id, name=row.name, description=row.description,
                created_at=row.created_at)


def _entry(row: Any) -> BankEntry:
    return BankEntry(bank_id=row.bank_id, signal=Signal(row.signal), value=row.value,
                     quality=row.quality, added_at=row.added_at,
                     account_id=AccountId(row.account_id) if row.account_id else None,
                     note=row.note, id=row.id)


class SqlHashBanks:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def create(self, name: str, description: str, at: datetime) -> Bank:
        result = await self._c.execute(insert(hash_banks).values(
            name=name, description=description, created_at=at).returning(hash_banks.c.id))
        return Bank(id=int(result.scalar_one()), name=name, description=description,
                    created_at=at)

    async def get(self, name: str) -> Bank | None:
        row = (await self._c.execute(select(hash_banks).where(hash_banks.c.name == name))
               ).first()
        return _bank(row) if row else None

    async def all_banks(self) -> list[tuple[Bank, int]]:
        counts = select(hash_entries.c.bank_id, func.count().label("n")).group_by(
            hash_entries.c.bank_id).subquery()
        rows = await self._c.execute(
            select(hash_banks, func.coalesce(counts.c.n, 0).label("n"))
            .outerjoin(counts, counts.c.bank_id == hash_banks.c.id)
            .order_by(hash_banks.c.name))
        return [(_bank(r), int(r.n)) for r in rows]

    async def delete(self, bank_id: int, at: datetime) -> int:
        removed = await self._c.scalar(select(func.count()).select_from(hash_entries).where(
            hash_entries.c.bank_id == bank_id))
        await self._c.execute(delete(hash_entries).where(hash_entries.c.bank_id == bank_id))
        await self._c.execute(delete(hash_banks).where(hash_banks.c.id == bank_id))
        await self._c.execute(insert(hash_removals).values(at=at))
        return int(removed or 0)

    async def add_entries(self, entries: Sequence[BankEntry]) -> int:
        if not entries:
            return 0
        await self._c.execute(insert(hash_entries), [
            {"bank_id": e.bank_id, "signal": e.signal.value, "value": e.value,
             "quality": e.quality, "added_at": e.added_at, "account_id": e.account_id,
             "note": e.note} for e in entries])
        return len(entries)

    async def entries(self, bank_id: int, after_id: int, limit: int) -> list[BankEntry]:
        rows = await self._c.execute(select(hash_entries).where(
            hash_entries.c.bank_id == bank_id, hash_entries.c.id > after_id)
            .order_by(hash_entries.c.id).limit(limit))
        return [_entry(r) for r in rows]

    async def pdq_after(self, after_id: int, limit: int) -> list[tuple[int, str]]:
        rows = await self._c.execute(select(hash_entries.c.id, hash_entries.c.value).where(
            hash_entries.c.signal == Signal.PDQ.value, hash_entries.c.id > after_id)
            .order_by(hash_entries.c.id).limit(limit))
        return [(int(r.id), r.value) for r in rows]

    async def pdq_count(self) -> int:
        return int(await self._c.scalar(select(func.count()).select_from(hash_entries).where(
            hash_entries.c.signal == Signal.PDQ.value)) or 0)

    async def last_removal(self) -> int:
        return int(await self._c.scalar(select(func.coalesce(func.max(hash_removals.c.id), 0)))
                   or 0)

    async def find_sha256(self, values: Collection[str]) -> BankEntry | None:
        if not values:
            return None
        row = (await self._c.execute(select(hash_entries).where(
            hash_entries.c.signal == Signal.SHA256.value,
            hash_entries.c.value.in_(list(values))).limit(1))).first()
        return _entry(row) if row else None

    async def entry(self, entry_id: int) -> BankEntry | None:
        row = (await self._c.execute(select(hash_entries).where(
            hash_entries.c.id == entry_id))).first()
        return _entry(row) if row else None

    async def count_by_account(self, account_id: AccountId) -> int:
        return int(await self._c.scalar(select(func.count()).select_from(hash_entries).where(
            hash_entries.c.account_id == account_id)) or 0)

    async def existing(self, bank_id: int, signal: str, values: Collection[str],
                       account_id: AccountId | None = None) -> set[str]:
        if not values:
            return set()
        stmt = select(hash_entries.c.value).where(
            hash_entries.c.bank_id == bank_id, hash_entries.c.signal == signal,
            hash_entries.c.value.in_(list(values)))
        if account_id is not None:
            stmt = stmt.where(hash_entries.c.account_id == account_id)
        rows = await self._c.execute(stmt)
        return {r[0] for r in rows}


class SqlCases:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def open(self, case: Case) -> None:
        await self._c.execute(insert(moderation_cases).values(
            id=case.id, kind=case.kind, status=case.status, account_id=case.account_id,
            persona_id=case.persona_id, summary=case.summary, details=case.details,
            created_at=case.created_at))

    async def list_open(self, limit: int) -> list[Case]:
        return await self.listing("open", limit)

    async def listing(self, status: str | None, limit: int) -> list[Case]:
        stmt = select(moderation_cases)
        if status is not None:
            stmt = stmt.where(moderation_cases.c.status == status)
        rows = await self._c.execute(stmt.order_by(moderation_cases.c.created_at).limit(limit))
        return [_case(r) for r in rows]

    async def get(self, case_id: str) -> Case | None:
        row = (await self._c.execute(select(moderation_cases).where(
            moderation_cases.c.id == case_id))).first()
        return _case(row) if row else None

    async def of_account(self, account_id: str) -> list[Case]:
        rows = await self._c.execute(select(moderation_cases).where(
            moderation_cases.c.account_id == account_id).order_by(moderation_cases.c.created_at))
        return [_case(r) for r in rows]

    async def set_status(self, case_id: str, status: str) -> None:
        await self._c.execute(update(moderation_cases).where(
            moderation_cases.c.id == case_id).values(status=status))


def _case(r: Any) -> Case:
    return Case(id=r.id, kind=r.kind, created_at=r.created_at,
                account_id=AccountId(r.account_id) if r.account_id else None,
                persona_id=PersonaId(r.persona_id) if r.persona_id else None,
                summary=r.summary, details=dict(r.details), status=r.status)
