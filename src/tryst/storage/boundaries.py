"""Blocks, mutes and per-persona boundaries (who may reach me, status)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tryst.domain.blocks import Block, Mute
from tryst.domain.conversations import Boundaries, Reach, Status
from tryst.ids import AccountId, PersonaId
from tryst.storage.tables import block_periods, blocks, mutes, persona_boundaries

b = blocks.c


def _boundaries(row: Any) -> Boundaries:
    return Boundaries(persona_id=PersonaId(row.persona_id), reach=Reach(row.reach),
                      refuse_limit_conflicts=bool(row.refuse_limit_conflicts),
                      auto_reply=row.auto_reply, status=Status(row.status),
                      status_message=row.status_message)


class SqlBoundaries:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    # ------------------------------------------------------------ boundaries

    async def get(self, persona_id: PersonaId) -> Boundaries | None:
        row = (await self._c.execute(select(persona_boundaries).where(
            persona_boundaries.c.persona_id == persona_id))).first()
        return _boundaries(row) if row else None

    async def many(self, ids: Collection[PersonaId]) -> dict[PersonaId, Boundaries]:
        if not ids:
            return {}
        rows = await self._c.execute(select(persona_boundaries).where(
            persona_boundaries.c.persona_id.in_(list(ids))))
        return {PersonaId(r.persona_id): _boundaries(r) for r in rows}

    async def put(self, value: Boundaries) -> None:
        await self._c.execute(delete(persona_boundaries).where(
            persona_boundaries.c.persona_id == value.persona_id))
        await self._c.execute(insert(persona_boundaries).values(
            persona_id=value.persona_id, reach=value.reach.value,
            refuse_limit_conflicts=value.refuse_limit_conflicts,
            auto_reply=value.auto_reply, status=value.status.value,
            status_message=value.status_message))

    # ------------------------------------------------------------ blocks

    async def add_block(self, block: Block) -> bool:
        """Record a block; False if this persona was already blocked by this account."""
        exists = await self._c.scalar(select(b.persona_id).where(
            b.blocker_account_id == block.blocker, b.persona_id == block.persona_id))
        if exists is not None:
            return False
        await self._c.execute(insert(blocks).values(
            blocker_account_id=block.blocker, persona_id=block.persona_id,
            persona_name=block.persona_name, blocked_account_id=block.blocked,
            created_at=block.created_at))
        return True

    async def remove_block(self, blocker: AccountId, persona_id: PersonaId) -> Block | None:
        row = (await self._c.execute(select(blocks).where(
            b.blocker_account_id == blocker, b.persona_id == persona_id))).first()
        if row is None:
            return None
        await self._c.execute(delete(blocks).where(
            b.blocker_account_id == blocker, b.persona_id == persona_id))
        return Block(blocker=blocker, persona_id=persona_id, persona_name=row.persona_name,
                     blocked=AccountId(row.blocked_account_id), created_at=row.created_at)

    async def forget_name(self, persona_id: PersonaId, placeholder: str) -> None:
        """An erased persona's name leaves the blockers' lists; the block stays."""
        await self._c.execute(update(blocks).where(b.persona_id == persona_id)
                              .values(persona_name=placeholder))
        await self._c.execute(update(mutes).where(mutes.c.persona_id == persona_id)
                              .values(persona_name=placeholder))

    async def blocks_of(self, blocker: AccountId) -> list[Block]:
        rows = await self._c.execute(select(blocks).where(b.blocker_account_id == blocker)
                                     .order_by(b.created_at))
        return [Block(blocker=blocker, persona_id=PersonaId(r.persona_id),
                      persona_name=r.persona_name,
                      blocked=AccountId(r.blocked_account_id), created_at=r.created_at)
                for r in rows]

    async def hidden_from(self, account_id: AccountId) -> set[AccountId]:
        """Accounts on the other side of a block with this one, in either direction."""
        rows = await self._c.execute(select(b.blocker_account_id, b.blocked_account_id).where(
            or_(b.blocker_account_id == account_id, b.blocked_account_id == account_id)))
        out = set()
        for blocker, blocked in rows:
            out.add(AccountId(blocked if blocker == account_id else blocker))
        out.discard(account_id)
        return out

    async def blocked_by(self, account_id: AccountId) -> set[AccountId]:
        rows = await self._c.scalars(select(b.blocked_account_id).where(
            b.blocker_account_id == account_id))
        return {AccountId(r) for r in rows}

    async def sync_period(self, a: AccountId, b_: AccountId, now: datetime) -> None:
        """Open a block period for the pair if a block now exists between them, close it
        if none does any more."""
        first, second = sorted((a, b_))
        p = block_periods.c
        pair = and_(p.account_a == first, p.account_b == second, p.ended_at.is_(None))
        open_id = await self._c.scalar(select(p.id).where(pair))
        blocked = await self.blocked_between(a, [b_])
        if blocked and open_id is None:
            await self._c.execute(insert(block_periods).values(
                account_a=first, account_b=second, started_at=now, ended_at=None))
        elif not blocked and open_id is not None:
            await self._c.execute(update(block_periods).where(p.id == open_id)
                                  .values(ended_at=now))

    async def past_periods(self, account_id: AccountId
                           ) -> dict[AccountId, list[tuple[datetime, datetime]]]:
        p = block_periods.c
        rows = await self._c.execute(select(p.account_a, p.account_b, p.started_at,
                                            p.ended_at).where(
            or_(p.account_a == account_id, p.account_b == account_id),
            p.ended_at.is_not(None)))
        out: dict[AccountId, list[tuple[datetime, datetime]]] = {}
        for first, second, start, end in rows:
            other = AccountId(second if first == account_id else first)
            out.setdefault(other, []).append((start, end))
        return out

    async def blocked_between(self, a: AccountId, others: Collection[AccountId]) -> bool:
        if not others:
            return False
        value = await self._c.scalar(select(b.persona_id).where(or_(
            (b.blocker_account_id == a) & b.blocked_account_id.in_(list(others)),
            (b.blocked_account_id == a) & b.blocker_account_id.in_(list(others)))).limit(1))
        return value is not None

    # ------------------------------------------------------------ mutes

    async def put_mute(self, mute: Mute) -> None:
        await self._c.execute(delete(mutes).where(mutes.c.account_id == mute.account_id,
                                                  mutes.c.persona_id == mute.persona_id))
        await self._c.execute(insert(mutes).values(
            account_id=mute.account_id, persona_id=mute.persona_id,
            persona_name=mute.persona_name, created_at=mute.created_at, until=mute.until))

    async def remove_mute(self, account_id: AccountId, persona_id: PersonaId) -> bool:
        result = await self._c.execute(delete(mutes).where(
            mutes.c.account_id == account_id, mutes.c.persona_id == persona_id))
        return bool(result.rowcount)

    async def mutes_of(self, account_id: AccountId, now: datetime) -> list[Mute]:
        rows = await self._c.execute(select(mutes).where(
            mutes.c.account_id == account_id, mutes.c.until > now).order_by(mutes.c.until))
        return [Mute(account_id=account_id, persona_id=PersonaId(r.persona_id),
                     persona_name=r.persona_name, created_at=r.created_at, until=r.until)
                for r in rows]

    async def purge_mutes(self, now: datetime) -> int:
        result = await self._c.execute(delete(mutes).where(mutes.c.until <= now))
        return int(result.rowcount)
