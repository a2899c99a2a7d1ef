"""Conversation, membership and conversation-event repositories."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tryst.domain.conversations import (
    Conversation,
    ConversationKind,
    Member,
    MemberState,
    expires_at,
)
from tryst.domain.events import ConversationEvent
from tryst.domain.rooms import SPOKEN_KINDS, EventKind
from tryst.ids import AccountId, ConversationId, PersonaId
from tryst.storage.tables import (
    conversation_events,
    conversation_members,
    conversations,
    personas,
)

ev = conversation_events.c
mem = conversation_members.c


def _conversation(row: Any) -> Conversation:
    return Conversation(id=ConversationId(row.id), kind=ConversationKind(row.kind),
                        title=row.title,
                        created_by=PersonaId(row.created_by) if row.created_by else None,
                        created_at=row.created_at, last_seq=row.last_seq,
                        disappear_seconds=row.disappear_seconds)


def _member(row: Any) -> Member:
    return Member(conversation_id=ConversationId(row.conversation_id),
                  persona_id=PersonaId(row.persona_id), state=MemberState(row.state),
                  invited_by=PersonaId(row.invited_by) if row.invited_by else None,
                  keep_days=row.keep_days, typing=bool(row.typing),
                  receipts=bool(row.receipts), last_read_seq=row.last_read_seq,
                  cleared_seq=row.cleared_seq, requested_at=row.requested_at)


def _event(row: Any) -> ConversationEvent:
    return ConversationEvent(
        conversation_id=ConversationId(row.conversation_id), seq=row.seq, at=row.at,
        kind=EventKind(row.kind),
        persona_id=PersonaId(row.persona_id) if row.persona_id else None,
        persona_name=row.persona_name, text=row.text, data=dict(row.data),
        account_id=AccountId(row.account_id) if row.account_id else None,
        expires_at=row.expires_at, tag=row.tag)


def _member_values(m: Member) -> dict[str, Any]:
    return dict(conversation_id=m.conversation_id, persona_id=m.persona_id,
                state=m.state.value, invited_by=m.invited_by, keep_days=m.keep_days,
                typing=m.typing, receipts=m.receipts, last_read_seq=m.last_read_seq,
                cleared_seq=m.cleared_seq, requested_at=m.requested_at)


_WITH_ACCOUNT = (select(conversation_events, personas.c.account_id)
                 .select_from(conversation_events.outerjoin(
                     personas, personas.c.id == ev.persona_id)))


class SqlConversations:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    # ------------------------------------------------------------ conversations

    async def add(self, conversation: Conversation) -> None:
        await self._c.execute(insert(conversations).values(
            id=conversation.id, kind=conversation.kind.value, title=conversation.title,
            created_by=conversation.created_by, created_at=conversation.created_at,
            last_seq=conversation.last_seq,
            disappear_seconds=conversation.disappear_seconds))

    async def get(self, conversation_id: ConversationId) -> Conversation | None:
        row = (await self._c.execute(select(conversations).where(
            conversations.c.id == conversation_id))).first()
        return _conversation(row) if row else None

    async def many(self, ids: Collection[ConversationId]) -> dict[ConversationId, Conversation]:
        if not ids:
            return {}
        rows = await self._c.execute(select(conversations).where(
            conversations.c.id.in_(list(ids))))
        return {ConversationId(r.id): _conversation(r) for r in rows}

    async def advance_seq(self, conversation_id: ConversationId, count: int) -> int:
        """Reserve ``count`` sequence numbers and return the last; the row stays locked
        until commit (PostgreSQL), so numbers commit in order."""
        value = await self._c.scalar(
            update(conversations).where(conversations.c.id == conversation_id)
            .values(last_seq=conversations.c.last_seq + count)
            .returning(conversations.c.last_seq))
        if value is None:
            raise LookupError(conversation_id)
        return int(value)

    async def set_disappear(self, conversation_id: ConversationId,
                            seconds: int | None) -> None:
        await self._c.execute(update(conversations).where(
            conversations.c.id == conversation_id).values(disappear_seconds=seconds))

    async def delete(self, conversation_id: ConversationId) -> None:
        await self._c.execute(delete(conversations).where(
            conversations.c.id == conversation_id))

    async def direct_between(self, a: PersonaId, b: PersonaId) -> Conversation | None:
        """The direct conversation of these two personas that ``a`` has not left (the
        newest, if ``b`` has several with ``a``). Someone who left starts afresh with a
        new conversation: reusing the old one would take the other side out of it."""
        mine = select(mem.conversation_id).where(mem.persona_id == a,
                                                 mem.state != MemberState.LEFT.value)
        theirs = select(mem.conversation_id).where(mem.persona_id == b)
        row = (await self._c.execute(select(conversations).where(
            conversations.c.kind == ConversationKind.DIRECT.value,
            conversations.c.id.in_(mine), conversations.c.id.in_(theirs))
            .order_by(conversations.c.created_at.desc()).limit(1))).first()
        return _conversation(row) if row else None

    # ------------------------------------------------------------ members

    async def add_member(self, member: Member) -> None:
        await self._c.execute(insert(conversation_members).values(**_member_values(member)))

    async def put_member(self, member: Member) -> None:
        await self._c.execute(update(conversation_members).where(
            mem.conversation_id == member.conversation_id,
            mem.persona_id == member.persona_id).values(**_member_values(member)))

    async def member(self, conversation_id: ConversationId,
                     persona_id: PersonaId) -> Member | None:
        row = (await self._c.execute(select(conversation_members).where(
            mem.conversation_id == conversation_id, mem.persona_id == persona_id))).first()
        return _member(row) if row else None

    async def members(self, conversation_id: ConversationId) -> list[Member]:
        rows = await self._c.execute(select(conversation_members).where(
            mem.conversation_id == conversation_id).order_by(mem.requested_at,
                                                              mem.persona_id))
        return [_member(r) for r in rows]

    async def memberships_of(self, persona_id: PersonaId,
                             states: Collection[MemberState]) -> list[Member]:
        rows = await self._c.execute(select(conversation_members).where(
            mem.persona_id == persona_id, mem.state.in_([s.value for s in states]))
            .order_by(mem.requested_at.desc()))
        return [_member(r) for r in rows]

    async def members_of_many(self, ids: Collection[ConversationId]
                              ) -> dict[ConversationId, list[Member]]:
        out: dict[ConversationId, list[Member]] = {cid: [] for cid in ids}
        if not ids:
            return out
        rows = await self._c.execute(select(conversation_members).where(
            mem.conversation_id.in_(list(ids))).order_by(mem.requested_at, mem.persona_id))
        for r in rows:
            out[ConversationId(r.conversation_id)].append(_member(r))
        return out

    async def conversations_with(self, persona_id: PersonaId) -> list[ConversationId]:
        """Every conversation this persona has a row in, whatever its state."""
        rows = await self._c.scalars(select(mem.conversation_id).where(
            mem.persona_id == persona_id))
        return [ConversationId(r) for r in rows]

    async def remove_member(self, conversation_id: ConversationId,
                            persona_id: PersonaId) -> None:
        await self._c.execute(delete(conversation_members).where(
            mem.conversation_id == conversation_id, mem.persona_id == persona_id))

    # ------------------------------------------------------------ events

    async def append_events(self, events: Sequence[ConversationEvent]) -> None:
        await self._c.execute(insert(conversation_events), [dict(
            conversation_id=e.conversation_id, seq=e.seq, at=e.at,
            expires_at=e.expires_at or e.at, kind=e.kind.value, persona_id=e.persona_id,
            persona_name=e.persona_name, text=e.text, data=e.data, tag=e.tag)
            for e in events])

    async def events_after(self, conversation_id: ConversationId, seq: int, limit: int,
                           now: datetime) -> list[ConversationEvent]:
        rows = await self._c.execute(_WITH_ACCOUNT.where(
            ev.conversation_id == conversation_id, ev.seq > seq, ev.expires_at > now)
            .order_by(ev.seq).limit(limit))
        return [_event(r) for r in rows]

    async def events_before(self, conversation_id: ConversationId, seq: int | None,
                            limit: int, now: datetime, floor: int) -> list[ConversationEvent]:
        stmt = _WITH_ACCOUNT.where(ev.conversation_id == conversation_id, ev.seq > floor,
                                   ev.expires_at > now)
        if seq is not None:
            stmt = stmt.where(ev.seq < seq)
        rows = list(await self._c.execute(stmt.order_by(ev.seq.desc()).limit(limit)))
        return [_event(r) for r in reversed(rows)]

    async def first_seq(self, conversation_id: ConversationId, now: datetime) -> int | None:
        value = await self._c.scalar(select(func.min(ev.seq)).where(
            ev.conversation_id == conversation_id, ev.expires_at > now))
        return int(value) if value is not None else None

    async def opening(self, conversation_id: ConversationId, author: PersonaId,
                      now: datetime) -> ConversationEvent | None:
        """The latest line the author sent as a request (the one the invitee may open)."""
        rows = await self._c.execute(_WITH_ACCOUNT.where(
            ev.conversation_id == conversation_id, ev.persona_id == author,
            ev.kind.in_([k.value for k in SPOKEN_KINDS]), ev.expires_at > now)
            .order_by(ev.seq.desc()).limit(20))
        for row in rows:
            if row.data.get("opening"):
                return _event(row)
        return None

    async def delete_through(self, conversation_id: ConversationId, seq: int) -> int:
        result = await self._c.execute(delete(conversation_events).where(
            ev.conversation_id == conversation_id, ev.seq <= seq))
        return int(result.rowcount)

    async def purge_expired(self, now: datetime) -> int:
        result = await self._c.execute(delete(conversation_events).where(ev.expires_at <= now))
        return int(result.rowcount)

    async def reset_expiry(self, conversation_id: ConversationId, *, keep_days: int,
                           disappear_seconds: int | None, max_days: int) -> None:
        """Bring forward when each retained message goes, after a member or the timer
        shortened how long this conversation keeps things."""
        rows = list(await self._c.execute(select(ev.seq, ev.at, ev.expires_at).where(
            ev.conversation_id == conversation_id)))
        for seq, at, old in rows:
            # Only ever sooner: lengthening would bring back lines that were due to go.
            new = min(old, expires_at(at, keep_days=keep_days,
                                      disappear_seconds=disappear_seconds,
                                      max_days=max_days))
            if new != old:
                await self._c.execute(update(conversation_events).where(
                    ev.conversation_id == conversation_id, ev.seq == seq)
                    .values(expires_at=new))

    async def unread(self, persona_id: PersonaId, positions: dict[ConversationId, int],
                     now: datetime) -> dict[ConversationId, list[tuple[AccountId | None,
                                                                      datetime]]]:
        """Author account and time of each line after each read position, not written by
        this persona and not expired (the caller leaves out what blocks hide)."""
        out: dict[ConversationId, list[tuple[AccountId | None, datetime]]] = {}
        spoken = [k.value for k in SPOKEN_KINDS]
        for cid, after in positions.items():
            rows = await self._c.execute(
                select(personas.c.account_id, ev.at).select_from(
                    conversation_events.outerjoin(personas, personas.c.id == ev.persona_id))
                .where(ev.conversation_id == cid, ev.seq > after, ev.expires_at > now,
                       ev.kind.in_(spoken), ev.persona_id != persona_id))
            out[cid] = [(AccountId(a) if a else None, at) for a, at in rows]
        return out

    async def authored_in(self, persona_id: PersonaId) -> list[ConversationId]:
        rows = await self._c.scalars(select(ev.conversation_id).distinct().where(
            ev.persona_id == persona_id))
        return [ConversationId(r) for r in rows]

    async def erase_authored(self, persona_id: PersonaId,
                             conversation_id: ConversationId) -> list[int]:
        """Delete what a persona wrote in a conversation; return the seqs."""
        where = and_(ev.conversation_id == conversation_id, ev.persona_id == persona_id)
        seqs = [int(s) for s in await self._c.scalars(
            select(ev.seq).where(where).order_by(ev.seq))]
        await self._c.execute(delete(conversation_events).where(where))
        return seqs

    async def authored_by(self, persona_ids: Sequence[PersonaId]) -> list[ConversationEvent]:
        if not persona_ids:
            return []
        rows = await self._c.execute(_WITH_ACCOUNT.where(
            ev.persona_id.in_(list(persona_ids))).order_by(ev.at, ev.seq))
        return [_event(r) for r in rows]
