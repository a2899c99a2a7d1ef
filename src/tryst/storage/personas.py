"""Persona repository."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tryst.domain.personas import InterestLevel, Persona
from tryst.ids import AccountId, PersonaId
from tryst.storage.tables import personas


def _persona(row: Any) -> Persona:
    return Persona(
        id=PersonaId(row.id), account_id=AccountId(row.account_id), name=row.name, age=row.age,
        short_description=row.short_description, profile=row.profile, pronouns=row.pronouns,
        interests={k: InterestLevel(v) for k, v in dict(row.interests).items()},
        hard_limits=tuple(row.hard_limits), adult_content=bool(row.adult_content),
        created_at=row.created_at,
    )


def _values(p: Persona, name_key: str) -> dict[str, object]:
    return dict(
        name=p.name, name_key=name_key, age=p.age, short_description=p.short_description,
        profile=p.profile, pronouns=p.pronouns,
        interests={k: v.value for k, v in p.interests.items()},
        hard_limits=list(p.hard_limits), adult_content=p.adult_content,
    )


class SqlPersonas:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, persona: Persona, name_key: str) -> None:
        await self._c.execute(insert(personas).values(
            id=persona.id, account_id=persona.account_id, created_at=persona.created_at,
            **_values(persona, name_key)))

    async def get(self, persona_id: PersonaId) -> Persona | None:
        row = (await self._c.execute(select(personas).where(personas.c.id == persona_id))).first()
        return _persona(row) if row else None

    async def by_name_key(self, name_key: str) -> Persona | None:
        row = (await self._c.execute(
            select(personas).where(personas.c.name_key == name_key))).first()
        return _persona(row) if row else None

    async def for_account(self, account_id: AccountId) -> list[Persona]:
        rows = await self._c.execute(select(personas).where(personas.c.account_id == account_id)
                                     .order_by(personas.c.created_at, personas.c.id))
        return [_persona(r) for r in rows]

    async def count_for_account(self, account_id: AccountId) -> int:
        return int(await self._c.scalar(
            select(func.count()).select_from(personas)
            .where(personas.c.account_id == account_id)) or 0)

    async def update(self, persona: Persona, name_key: str) -> None:
        await self._c.execute(update(personas).where(personas.c.id == persona.id)
                              .values(**_values(persona, name_key)))

    async def delete(self, persona_id: PersonaId) -> None:
        await self._c.execute(delete(personas).where(personas.c.id == persona_id))

    async def many(self, ids: Iterable[PersonaId]) -> dict[PersonaId, Persona]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = await self._c.execute(select(personas).where(personas.c.id.in_(wanted)))
        return {PersonaId(r.id): _persona(r) for r in rows}
