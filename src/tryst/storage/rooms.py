"""Room, membership, invitation and room-event repositories."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tryst.domain.events import RoomEvent
from tryst.domain.rooms import DELETED, EventKind, Membership, Rating, Room, RoomRole, Visibility
from tryst.ids import AccountId, PersonaId, RoomId
from tryst.storage.tables import personas, room_events, room_invites, room_members, rooms


def _room(row: Any) -> Room:
    return Room(id=RoomId(row.id), name=row.name, topic=row.topic, description=row.description,
                visibility=Visibility(row.visibility), rating=Rating(row.rating),
                created_at=row.created_at, last_seq=row.last_seq, images=bool(row.images))


def _member(row: Any) -> Membership:
    return Membership(room_id=RoomId(row.room_id), persona_id=PersonaId(row.persona_id),
                      role=RoomRole(row.role), joined_at=row.joined_at)


def _event(row: Any) -> RoomEvent:
    return RoomEvent(room_id=RoomId(row.room_id), seq=row.seq, at=row.at,
                     kind=EventKind(row.kind),
                     persona_id=PersonaId(row.persona_id) if row.persona_id else None,
                     persona_name=row.persona_name, text=row.text, data=dict(row.data),
                     account_id=AccountId(row.account_id) if row.account_id else None)


# Events read back carry their author's account (for blocks) through a join: the account
# is not stored with the event, so erasing a persona leaves nothing to scrub here.
_WITH_ACCOUNT = (select(room_events, personas.c.account_id)
                 .select_from(room_events.outerjoin(
                     personas, personas.c.id == room_events.c.persona_id)))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqlRooms:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, room: Room, name_key: str) -> None:
        await self._c.execute(insert(rooms).values(
            id=room.id, name=room.name, name_key=name_key, topic=room.topic,
            description=room.description, visibility=room.visibility.value,
            rating=room.rating.value, created_at=room.created_at, last_seq=room.last_seq,
            images=room.images))

    async def get(self, room_id: RoomId) -> Room | None:
        row = (await self._c.execute(select(rooms).where(rooms.c.id == room_id))).first()
        return _room(row) if row else None

    async def name_taken(self, name_key: str, except_id: RoomId | None = None) -> bool:
        stmt = select(rooms.c.id).where(rooms.c.name_key == name_key)
        if except_id is not None:
            stmt = stmt.where(rooms.c.id != except_id)
        return (await self._c.scalar(stmt)) is not None

    async def list_public(self, query: str | None, limit: int, offset: int) -> list[Room]:
        stmt = select(rooms).where(rooms.c.visibility == Visibility.PUBLIC.value)
        if query:
            pattern = f"%{_escape_like(query.casefold())}%"
            stmt = stmt.where(or_(rooms.c.name_key.like(pattern, escape="\\"),
                                  func.lower(rooms.c.topic).like(pattern, escape="\\")))
        rows = await self._c.execute(stmt.order_by(rooms.c.name_key).limit(limit).offset(offset))
        return [_room(r) for r in rows]

    async def update(self, room: Room, name_key: str) -> None:
        await self._c.execute(update(rooms).where(rooms.c.id == room.id).values(
            name=room.name, name_key=name_key, topic=room.topic, description=room.description,
            visibility=room.visibility.value, rating=room.rating.value, images=room.images))

    async def next_seq(self, room_id: RoomId) -> int:
        return await self.advance_seq(room_id, 1)

    async def advance_seq(self, room_id: RoomId, count: int) -> int:
        # UPDATE ... RETURNING takes the row lock until commit, so concurrent writers to
        # one room commit their sequence numbers in order (SQLite serialises all writers).
        seq = await self._c.scalar(update(rooms).where(rooms.c.id == room_id)
                                   .values(last_seq=rooms.c.last_seq + count)
                                   .returning(rooms.c.last_seq))
        if seq is None:
            raise LookupError(room_id)
        return int(seq)

    async def membership(self, room_id: RoomId, persona_id: PersonaId) -> Membership | None:
        row = (await self._c.execute(select(room_members).where(
            room_members.c.room_id == room_id,
            room_members.c.persona_id == persona_id))).first()
        return _member(row) if row else None

    async def memberships(self, room_id: RoomId,
                          persona_ids: Sequence[PersonaId]) -> dict[PersonaId, Membership]:
        rows = await self._c.execute(select(room_members).where(
            room_members.c.room_id == room_id,
            room_members.c.persona_id.in_(list(set(persona_ids)))))
        return {PersonaId(r.persona_id): _member(r) for r in rows}

    async def add_member(self, membership: Membership) -> None:
        await self._c.execute(insert(room_members).values(
            room_id=membership.room_id, persona_id=membership.persona_id,
            role=membership.role.value, joined_at=membership.joined_at))

    async def remove_member(self, room_id: RoomId, persona_id: PersonaId) -> None:
        await self._c.execute(delete(room_members).where(
            room_members.c.room_id == room_id, room_members.c.persona_id == persona_id))

    async def set_role(self, room_id: RoomId, persona_id: PersonaId, role: RoomRole) -> None:
        await self._c.execute(update(room_members).where(
            room_members.c.room_id == room_id, room_members.c.persona_id == persona_id,
        ).values(role=role.value))

    async def members(self, room_id: RoomId) -> list[Membership]:
        rows = await self._c.execute(select(room_members).where(room_members.c.room_id == room_id)
                                     .order_by(room_members.c.joined_at))
        return [_member(r) for r in rows]

    async def rooms_of(self, persona_id: PersonaId) -> list[Membership]:
        rows = await self._c.execute(select(room_members)
                                     .where(room_members.c.persona_id == persona_id)
                                     .order_by(room_members.c.joined_at))
        return [_member(r) for r in rows]

    async def share_room(self, a: PersonaId, b: PersonaId) -> bool:
        """Whether two personas are members of at least one common room."""
        theirs = select(room_members.c.room_id).where(room_members.c.persona_id == b)
        value = await self._c.scalar(select(room_members.c.room_id).where(
            room_members.c.persona_id == a, room_members.c.room_id.in_(theirs)).limit(1))
        return value is not None

    async def count_rooms_of(self, persona_id: PersonaId) -> int:
        return int(await self._c.scalar(select(func.count()).select_from(room_members)
                                        .where(room_members.c.persona_id == persona_id)) or 0)

    async def add_invite(self, room_id: RoomId, persona_id: PersonaId, at: datetime) -> None:
        if not await self.is_invited(room_id, persona_id):
            await self._c.execute(insert(room_invites).values(
                room_id=room_id, persona_id=persona_id, created_at=at))

    async def is_invited(self, room_id: RoomId, persona_id: PersonaId) -> bool:
        return (await self._c.scalar(select(room_invites.c.room_id).where(
            room_invites.c.room_id == room_id,
            room_invites.c.persona_id == persona_id))) is not None

    async def remove_invite(self, room_id: RoomId, persona_id: PersonaId) -> None:
        await self._c.execute(delete(room_invites).where(
            room_invites.c.room_id == room_id, room_invites.c.persona_id == persona_id))

    async def remove_invites_of(self, persona_id: PersonaId) -> None:
        await self._c.execute(delete(room_invites)
                              .where(room_invites.c.persona_id == persona_id))

    async def member_counts(self, room_ids: Sequence[RoomId]) -> dict[RoomId, int]:
        if not room_ids:
            return {}
        rows = await self._c.execute(
            select(room_members.c.room_id, func.count()).where(
                room_members.c.room_id.in_(list(room_ids))).group_by(room_members.c.room_id))
        return {RoomId(r[0]): int(r[1]) for r in rows}


class SqlRoomEvents:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def append(self, event: RoomEvent) -> None:
        await self.append_many([event])

    async def append_many(self, events: Sequence[RoomEvent]) -> None:
        await self._c.execute(insert(room_events), [dict(
            room_id=e.room_id, seq=e.seq, at=e.at, kind=e.kind.value,
            persona_id=e.persona_id, persona_name=e.persona_name, text=e.text,
            data=e.data) for e in events])

    async def after(self, room_id: RoomId, seq: int, limit: int) -> list[RoomEvent]:
        rows = await self._c.execute(_WITH_ACCOUNT.where(
            room_events.c.room_id == room_id, room_events.c.seq > seq,
        ).order_by(room_events.c.seq).limit(limit))
        return [_event(r) for r in rows]

    async def before(self, room_id: RoomId, seq: int | None, limit: int) -> list[RoomEvent]:
        stmt = _WITH_ACCOUNT.where(room_events.c.room_id == room_id)
        if seq is not None:
            stmt = stmt.where(room_events.c.seq < seq)
        rows = await self._c.execute(stmt.order_by(room_events.c.seq.desc()).limit(limit))
        return [_event(r) for r in reversed(list(rows))]

    async def first_seq(self, room_id: RoomId) -> int | None:
        value = await self._c.scalar(select(func.min(room_events.c.seq))
                                     .where(room_events.c.room_id == room_id))
        return int(value) if value is not None else None

    async def purge_older_than(self, cutoff: datetime) -> int:
        result = await self._c.execute(delete(room_events).where(room_events.c.at < cutoff))
        return int(result.rowcount)

    async def authored_by(self, persona_ids: Sequence[PersonaId]) -> list[RoomEvent]:
        if not persona_ids:
            return []
        rows = await self._c.execute(_WITH_ACCOUNT.where(
            room_events.c.persona_id.in_(list(persona_ids)))
            .order_by(room_events.c.at, room_events.c.seq))
        return [_event(r) for r in rows]

    async def redact_authored(self, persona_id: PersonaId, room_id: RoomId,
                              erase: bool) -> list[int]:
        where = and_(room_events.c.room_id == room_id, room_events.c.persona_id == persona_id)
        seqs = [int(s) for s in await self._c.scalars(
            select(room_events.c.seq).where(where).order_by(room_events.c.seq))]
        if erase:
            await self._c.execute(delete(room_events).where(where))
        else:
            spoken = [k.value for k in (EventKind.SAY, EventKind.POSE, EventKind.OOC,
                                        EventKind.SYSTEM)]
            await self._c.execute(update(room_events).where(where).values(
                persona_id=None, persona_name=DELETED, data={},
                text=case((room_events.c.kind.in_(spoken), DELETED), else_="")))
        return seqs

    async def rooms_authored_in(self, persona_id: PersonaId) -> list[RoomId]:
        rows = await self._c.scalars(select(room_events.c.room_id).distinct()
                                     .where(room_events.c.persona_id == persona_id))
        return [RoomId(r) for r in rows]
