"""Appending to a conversation's stream and applying its retention: shared by message
requests and by conversations themselves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from tryst.config import Settings
from tryst.domain.conversations import (
    Conversation,
    Member,
    MemberState,
    cleared_by_all,
    effective_keep_days,
    expires_at,
    outer_bound_days,
    seen_by_all,
)
from tryst.domain.errors import NotFound, NotMember
from tryst.domain.events import ConversationEvent
from tryst.domain.personas import Persona
from tryst.domain.rooms import SPOKEN_KINDS, EventKind
from tryst.ids import ConversationId
from tryst.ports import UnitOfWork
from tryst.services.franking import Franker

Line = tuple[EventKind, Persona | None, str, dict[str, object]]
"""A line to append: kind, author (None for the server), text, data."""


async def append(uow: UnitOfWork, conversation: Conversation, members: Sequence[Member],
                 settings: Settings, at: datetime,
                 lines: Sequence[tuple[EventKind, Persona | None, str, dict[str, object]]],
                 franker: Franker | None = None) -> list[ConversationEvent]:
    """Number and store events in the caller's transaction; return them to publish after
    commit. Each expires when the conversation's shortest retention says so; each
    message a persona wrote carries the server's franking tag."""
    max_days = settings.conversation_max_days
    keep = effective_keep_days(members, max_days)
    bound = outer_bound_days(members, max_days)
    last = await uow.conversations.advance_seq(conversation.id, len(lines))
    first = last - len(lines) + 1
    events = [ConversationEvent(
        conversation_id=conversation.id, seq=first + i, at=at, kind=kind,
        persona_id=persona.id if persona else None,
        persona_name=persona.name if persona else None, text=text, data=data,
        account_id=persona.account_id if persona else None,
        expires_at=expires_at(at, keep_days=keep,
                              disappear_seconds=conversation.disappear_seconds,
                              max_days=bound))
        for i, (kind, persona, text, data) in enumerate(lines)]
    events = [replace(e, tag=franker.tag(e.persona_id, e.stream, e.seq, e.at, e.text))
              if franker and e.persona_id and e.kind in SPOKEN_KINDS else e
              for e in events]
    await uow.conversations.append_events(events)
    return events


async def forget_seen(uow: UnitOfWork, conversation: Conversation, members: Sequence[Member],
                      settings: Settings) -> int:
    """Delete what nobody may see any more: lines every member deleted from their copy,
    and, when the conversation keeps nothing, lines every member has read."""
    through = cleared_by_all(members)
    if effective_keep_days(members, settings.conversation_max_days) == 0:
        through = max(through, seen_by_all(members))
    if through <= 0:
        return 0
    return await uow.conversations.delete_through(conversation.id, through)


async def membership(uow: UnitOfWork, conversation_id: str, persona: Persona,
                     states: frozenset[MemberState] = frozenset({MemberState.ACTIVE})
                     ) -> tuple[Conversation, Member, list[Member]]:
    """The conversation, this persona's membership and all members, if the persona is in
    one of ``states``. Anything else is "no such conversation": a conversation is
    invisible to those outside it."""
    conversation = await uow.conversations.get(ConversationId(conversation_id))
    if conversation is None:
        raise NotFound("no such conversation")
    members = await uow.conversations.members(conversation.id)
    mine = next((m for m in members if m.persona_id == persona.id), None)
    if mine is None or mine.state in (MemberState.DECLINED, MemberState.SUPPRESSED):
        raise NotFound("no such conversation")
    if mine.state not in states:
        raise NotMember("you are not taking part in this conversation"
                        if mine.state is MemberState.LEFT
                        else "accept the request first")
    return conversation, mine, members


async def apply_retention_change(uow: UnitOfWork, conversation: Conversation,
                                 before: Sequence[Member], after: Sequence[Member],
                                 settings: Settings, persona: Persona | None
                                 ) -> list[tuple[EventKind, Persona | None, str,
                                                 dict[str, object]]]:
    """When membership or choices change how long the conversation keeps things: shorten
    what is stored (never lengthen it: what was due to go still goes) and return the
    system line announcing it, if anything changed."""
    max_days = settings.conversation_max_days
    old = effective_keep_days(before, max_days), outer_bound_days(before, max_days)
    new = effective_keep_days(after, max_days), outer_bound_days(after, max_days)
    if old == new:
        return []
    await uow.conversations.reset_expiry(
        conversation.id, keep_days=new[0], disappear_seconds=conversation.disappear_seconds,
        max_days=new[1])
    if old[0] == new[0]:
        return []
    text = "history is now kept for " + (
        f"{new[0]} days" if new[0] else "no longer than it takes everyone to read it")
    return [(EventKind.SYSTEM, persona, text, {"keep_days": new[0]})]


def read_to(member: Member, seq: int) -> Member:
    return replace(member, last_read_seq=max(member.last_read_seq, seq))
