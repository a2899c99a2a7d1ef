"""Conversations once they exist: talking, reading, typing, retention, leaving."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from tryst.clock import Clock
from tryst.config import Settings
from tryst.domain.conversations import (
    PENDING_LOOKALIKES,
    Boundaries,
    Conversation,
    Member,
    MemberState,
    default_boundaries,
    effective_keep_days,
    outer_bound_days,
    validate_disappear,
    validate_keep_days,
)
from tryst.domain.errors import InvalidInput, NotMember
from tryst.domain.events import ConversationEvent, Signal
from tryst.domain.personas import Persona
from tryst.domain.rooms import SPOKEN_KINDS, EventKind, validate_message
from tryst.domain.safety.verdicts import Place as SafetyPlace
from tryst.ids import ConversationId, PersonaId, conversation_stream
from tryst.ports import Bus, Presence, UnitOfWorkFactory
from tryst.services import convstreams
from tryst.services.actor import Actor, current_persona
from tryst.services.boundaries import BoundaryService
from tryst.services.franking import Franker
from tryst.services.ratelimits import RateLimiter
from tryst.services.requests import pending_error
from tryst.services.safety import SafetyService
from tryst.services.sequencer import StreamSequencer

HISTORY_PAGE_MAX = 200
SETTING_FIELDS = frozenset({"keep_days", "typing", "receipts", "disappear_seconds"})


@dataclass(frozen=True, slots=True)
class MemberView:
    """A member as one viewer may see them."""

    persona: Persona
    state: str  # "active", "pending" (invited, declined or refused look alike), "left"
    online: bool
    status: Boundaries
    last_read_seq: int | None  # only when both share read receipts


@dataclass(frozen=True, slots=True)
class ConversationView:
    conversation: Conversation
    mine: Member
    members: list[MemberView]
    unread: int
    keep_days: int  # the conversation's effective retention


NEW_CONTACT_LINES = 30  # a conversation this short still counts as a new contact


class ConversationService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, settings: Settings, bus: Bus,
                 sequencer: StreamSequencer, boundaries: BoundaryService, franker: Franker,
                 presence: Presence, message_limiter: RateLimiter,
                 safety: SafetyService | None = None) -> None:
        self._uow = uow
        self._safety = safety
        self._clock = clock
        self._settings = settings
        self._bus = bus
        self._seq = sequencer
        self._boundaries = boundaries
        self._franker = franker
        self._presence = presence
        self._limiter = message_limiter

    def _stream(self, conversation_id: str) -> list[str]:
        return [conversation_stream(ConversationId(conversation_id))]

    # ------------------------------------------------------------ talking

    async def send(self, actor: Actor, conversation_id: str, kind: EventKind,
                   text: str, confirm: Collection[str] = ()) -> ConversationEvent:
        if kind not in SPOKEN_KINDS:
            raise InvalidInput("style must be say, pose or ooc", details={"field": "style"})
        clean = validate_message(text, self._settings.max_message_chars)
        self._limiter.check(actor.persona.id)
        async with self._seq.hold(self._stream(conversation_id)):
            async with self._uow() as uow:
                persona = await current_persona(uow, actor)
                conversation, mine, members = await convstreams.membership(
                    uow, conversation_id, persona)
                others = [m for m in members if m.persona_id != persona.id]
                if not any(m.state is MemberState.ACTIVE for m in others):
                    waiting = [m for m in others if m.state in PENDING_LOOKALIKES]
                    if waiting:
                        raise pending_error(max(waiting, key=lambda m: m.requested_at),
                                            self._clock.now(), timedelta(
                                                hours=self._settings.request_cooldown_hours))
                    raise NotMember("everyone else has left this conversation")
                to = [m.persona_id for m in others if m.state is MemberState.ACTIVE]
                verdict = self._safety.screen(
                    actor, clean, SafetyPlace.CONVERSATION,
                    new_contact=conversation.last_seq < NEW_CONTACT_LINES, to=to,
                    confirm=confirm) if self._safety else None
                now = self._clock.now()
                (event,) = await convstreams.append(uow, conversation, members,
                                                    self._settings, now,
                                                    [(kind, persona, clean, {})], self._franker)
                await uow.conversations.put_member(convstreams.read_to(mine, event.seq))
                await uow.commit()
            self._bus.publish(event)
        if verdict is not None and self._safety is not None:
            self._safety.warn_recipients(verdict, persona, to)
        return event

    async def mark_read(self, actor: Actor, conversation_id: str, seq: int) -> int:
        """Record that this persona has seen everything up to ``seq``. Shares a read
        receipt with members who, like this persona, turned receipts on; in a
        conversation that keeps nothing, lines everyone has seen are deleted now."""
        async with self._seq.hold(self._stream(conversation_id)), self._uow() as uow:
            conversation, mine, members = await convstreams.membership(
                uow, conversation_id, actor.persona)
            updated = convstreams.read_to(mine, min(seq, conversation.last_seq))
            if updated == mine:
                return mine.last_read_seq
            await uow.conversations.put_member(updated)
            members = [updated if m.persona_id == mine.persona_id else m for m in members]
            await convstreams.forget_seen(uow, conversation, members, self._settings)
            await uow.commit()
        if updated.receipts:
            self._signal(actor, conversation, members, "read", "receipts",
                         {"seq": updated.last_read_seq})
        return updated.last_read_seq

    async def typing(self, actor: Actor, conversation_id: str, typing: bool) -> None:
        """A typing indicator, shown only to members who share theirs too."""
        async with self._uow(readonly=True) as uow:
            conversation, mine, members = await convstreams.membership(
                uow, conversation_id, actor.persona)
        if mine.typing:
            self._signal(actor, conversation, members, "typing", "typing",
                         {"typing": bool(typing)})

    def _signal(self, actor: Actor, conversation: Conversation, members: list[Member],
                kind: str, opt_in: str, data: dict[str, object]) -> None:
        """A live signal to the other active members who turned ``opt_in`` on."""
        to = frozenset(m.persona_id for m in members if getattr(m, opt_in)
                       and m.state is MemberState.ACTIVE and m.persona_id != actor.persona.id)
        if to:
            self._bus.publish(Signal(
                stream=conversation_stream(conversation.id), kind=kind,
                at=self._clock.now(), persona_id=actor.persona.id,
                persona_name=actor.persona.name, account_id=actor.account.id, to=to,
                data=data))

    # ------------------------------------------------------------ settings and copies

    async def configure(self, actor: Actor, conversation_id: str,
                        changes: Mapping[str, Any]) -> ConversationView:
        """This member's choices (retention, typing, receipts) and the conversation's
        disappearing-messages timer, which any member may set."""
        unknown = set(changes) - SETTING_FIELDS
        if unknown:
            raise InvalidInput("unknown fields", details={"fields": sorted(unknown)})
        max_days = self._settings.conversation_max_days
        keep = validate_keep_days(changes["keep_days"], max_days) \
            if "keep_days" in changes else None
        timer_set = "disappear_seconds" in changes
        timer = validate_disappear(changes["disappear_seconds"]) if timer_set else None
        for flag in ("typing", "receipts"):
            if flag in changes and not isinstance(changes[flag], bool):
                raise InvalidInput(f"{flag} must be true or false", details={"field": flag})
        events: list[ConversationEvent] = []
        async with self._seq.hold(self._stream(conversation_id)):
            async with self._uow() as uow:
                persona = await current_persona(uow, actor)
                conversation, mine, members = await convstreams.membership(
                    uow, conversation_id, persona)
                before = members
                updated = replace(
                    mine, keep_days=mine.keep_days if keep is None else keep,
                    typing=changes.get("typing", mine.typing),
                    receipts=changes.get("receipts", mine.receipts))
                await uow.conversations.put_member(updated)
                members = [updated if m.persona_id == mine.persona_id else m for m in members]
                lines: list[tuple[EventKind, Persona | None, str, dict[str, object]]] = []
                if timer_set and timer != conversation.disappear_seconds:
                    await uow.conversations.set_disappear(conversation.id, timer)
                    conversation = replace(conversation, disappear_seconds=timer)
                    lines.append((EventKind.SYSTEM, persona,
                                  f"disappearing messages: {timer} seconds" if timer
                                  else "disappearing messages: off",
                                  {"disappear_seconds": timer}))
                    await uow.conversations.reset_expiry(
                        conversation.id, keep_days=effective_keep_days(members, max_days),
                        disappear_seconds=timer,
                        max_days=outer_bound_days(members, max_days))
                lines += await convstreams.apply_retention_change(
                    uow, conversation, before, members, self._settings, persona)
                if lines:
                    events = await convstreams.append(uow, conversation, members,
                                                      self._settings, self._clock.now(), lines,
                                                      self._franker)
                    conversation = replace(conversation, last_seq=events[-1].seq)
                await convstreams.forget_seen(uow, conversation, members, self._settings)
                await uow.commit()
            for event in events:
                self._bus.publish(event)
        return (await self._views(actor, [conversation.id]))[0]

    async def clear(self, actor: Actor, conversation_id: str) -> int:
        """Delete this persona's copy of the history so far (others keep theirs; once
        everyone has deleted a line, it is gone from the server)."""
        async with self._seq.hold(self._stream(conversation_id)), self._uow() as uow:
            conversation, mine, members = await convstreams.membership(
                uow, conversation_id, actor.persona)
            updated = replace(mine, cleared_seq=conversation.last_seq,
                              last_read_seq=max(mine.last_read_seq, conversation.last_seq))
            await uow.conversations.put_member(updated)
            members = [updated if m.persona_id == mine.persona_id else m for m in members]
            await convstreams.forget_seen(uow, conversation, members, self._settings)
            await uow.commit()
        return updated.cleared_seq

    async def leave(self, actor: Actor, conversation_id: str) -> None:
        events: list[ConversationEvent] = []
        async with self._seq.hold(self._stream(conversation_id)):
            async with self._uow() as uow:
                persona = await current_persona(uow, actor)
                conversation, mine, members = await convstreams.membership(
                    uow, conversation_id, persona)
                left = replace(mine, state=MemberState.LEFT)
                await uow.conversations.put_member(left)
                members = [left if m.persona_id == mine.persona_id else m for m in members]
                if all(m.state is MemberState.LEFT for m in members):
                    # Nobody is left to read it: the conversation and its history go.
                    await uow.conversations.delete(conversation.id)
                    events = [ConversationEvent(conversation.id, conversation.last_seq + 1,
                                                self._clock.now(), EventKind.LEAVE, persona.id,
                                                persona.name, "", {"reason": "left"},
                                                persona.account_id)]
                else:
                    events = await convstreams.append(
                        uow, conversation, members, self._settings, self._clock.now(),
                        [(EventKind.LEAVE, persona, "", {"reason": "left"})], self._franker)
                    await convstreams.forget_seen(uow, conversation, members, self._settings)
                await uow.commit()
            for event in events:
                self._bus.publish(event)

    # ------------------------------------------------------------ reading

    async def list_for(self, actor: Actor) -> list[ConversationView]:
        async with self._uow(readonly=True) as uow:
            mine = await uow.conversations.memberships_of(actor.persona.id,
                                                          [MemberState.ACTIVE])
        return await self._views(actor, [m.conversation_id for m in mine])

    async def get(self, actor: Actor, conversation_id: str) -> ConversationView:
        async with self._uow(readonly=True) as uow:
            await convstreams.membership(uow, conversation_id, actor.persona)
        return (await self._views(actor, [ConversationId(conversation_id)]))[0]

    async def _views(self, actor: Actor, ids: list[ConversationId]) -> list[ConversationView]:
        boundary = await self._boundaries.boundary(actor.account.id)
        now = self._clock.now()
        async with self._uow(readonly=True) as uow:
            conversations = await uow.conversations.many(ids)
            members = await uow.conversations.members_of_many(ids)
            everyone = {m.persona_id for ms in members.values() for m in ms}
            personas = await uow.personas.many(everyone)
            statuses = await uow.boundaries.many(list(everyone))
            mine = {cid: next(m for m in ms if m.persona_id == actor.persona.id)
                    for cid, ms in members.items()}
            unread_lines = await uow.conversations.unread(
                actor.persona.id, {cid: max(m.last_read_seq, m.cleared_seq)
                                   for cid, m in mine.items()}, now)
        unread = {cid: sum(not boundary.hides(account, at) for account, at in lines)
                  for cid, lines in unread_lines.items()}
        online = self._presence.online(everyone)
        out = []
        for cid in ids:
            conversation = conversations.get(cid)
            if conversation is None:
                continue
            me = mine[cid]
            views = []
            for m in members[cid]:
                persona = personas.get(m.persona_id)
                if persona is None or persona.account_id in boundary.mine:
                    continue  # personas of an account I blocked are simply not there
                # Someone who blocked me is still listed, as it would be without the
                # block but offline: dropping it would tell me about the block.
                across = persona.account_id in boundary.hidden
                state = ("active" if m.state is MemberState.ACTIVE else
                         "left" if m.state is MemberState.LEFT else "pending")
                shares = m.persona_id != me.persona_id and me.receipts and m.receipts \
                    and m.state is MemberState.ACTIVE and not across
                views.append(MemberView(
                    persona=persona, state=state,
                    online=m.persona_id in online and not across,
                    status=default_boundaries(m.persona_id) if across
                    else statuses.get(m.persona_id) or default_boundaries(m.persona_id),
                    last_read_seq=m.last_read_seq if shares else None))
            out.append(ConversationView(conversation, me, views, unread.get(cid, 0),
                                        effective_keep_days(members[cid],
                                                            self._settings.conversation_max_days)))
        return out

    async def history(self, actor: Actor, conversation_id: str, before: int | None,
                      limit: int) -> tuple[list[ConversationEvent], int | None]:
        """A page of what this member may still see, oldest first, and the ``before`` for
        the next page (None at the start of what is kept)."""
        limit = max(1, min(limit, HISTORY_PAGE_MAX))
        boundary = await self._boundaries.boundary(actor.account.id)
        async with self._uow(readonly=True) as uow:
            conversation, mine, _ = await convstreams.membership(uow, conversation_id,
                                                                 actor.persona)
            page = await uow.conversations.events_before(conversation.id, before, limit,
                                                         self._clock.now(), mine.cleared_seq)
        visible = [e for e in page if not boundary.hides(e.account_id, e.at)]
        return visible, (page[0].seq if len(page) == limit else None)

    async def catch_up(self, persona_id: PersonaId, conversation_id: ConversationId,
                       after: int, limit: int) -> tuple[list[ConversationEvent], int | None, int]:
        """For an active member resuming: events after ``after`` (blocks are applied by
        the session), the oldest retained seq and the latest seq."""
        async with self._uow(readonly=True) as uow:
            member = await uow.conversations.member(conversation_id, persona_id)
            conversation = await uow.conversations.get(conversation_id)
            if member is None or conversation is None or member.state is not MemberState.ACTIVE:
                raise NotMember("not taking part in this conversation")
            now = self._clock.now()
            first = await uow.conversations.first_seq(conversation_id, now)
            floor = max(after, member.cleared_seq)
            events = await uow.conversations.events_after(conversation_id, floor, limit, now)
            return events, first, conversation.last_seq

    async def active_ids(self, persona_id: PersonaId) -> list[ConversationId]:
        async with self._uow(readonly=True) as uow:
            return [m.conversation_id for m in await uow.conversations.memberships_of(
                persona_id, [MemberState.ACTIVE])]

    async def purge_expired(self) -> int:
        """Delete conversation lines past their expiry, and expired mutes."""
        now = self._clock.now()
        async with self._uow() as uow:
            count = await uow.conversations.purge_expired(now)
            await uow.boundaries.purge_mutes(now)
            await uow.commit()
        return count
