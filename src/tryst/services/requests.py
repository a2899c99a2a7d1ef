"""Message requests and group invitations: the only way a conversation starts.

The sender of a request learns nothing from the answer: pending, declined, blocked and
refused-by-boundaries all read "pending", and every case runs the same queries in the
same order, so the reply takes the same time. Only an auto-reply the recipient chose
to set is ever shown, and it depends on their boundaries alone, never on a block."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tryst.clock import Clock
from tryst.config import Settings
from tryst.domain.conversations import (
    MAX_GROUP_MEMBERS,
    PENDING_LOOKALIKES,
    Conversation,
    ConversationKind,
    Member,
    MemberState,
    ReachDecision,
    decide_reach,
    default_boundaries,
    limit_conflicts,
    may_resend,
    validate_group_size,
    validate_title,
)
from tryst.domain.errors import (
    Conflict,
    InvalidInput,
    LimitReached,
    NotFound,
    RequestPending,
)
from tryst.domain.events import ConversationEvent, Signal
from tryst.domain.personas import Persona
from tryst.domain.rooms import SPOKEN_KINDS, EventKind, validate_message
from tryst.domain.safety.verdicts import Place as SafetyPlace
from tryst.domain.tags import TagVocabulary
from tryst.ids import (
    ConversationId,
    PersonaId,
    conversation_stream,
    inbox_stream,
    new_conversation_id,
)
from tryst.ports import Bus, UnitOfWork, UnitOfWorkFactory
from tryst.services import convstreams
from tryst.services.actor import Actor, current_persona
from tryst.services.boundaries import BoundaryService
from tryst.services.franking import Franker
from tryst.services.ratelimits import RateLimiter
from tryst.services.safety import SafetyService
from tryst.services.sequencer import StreamSequencer


@dataclass(frozen=True, slots=True)
class RequestSent:
    """What the sender is told: always "pending", plus any auto-replies."""

    conversation: Conversation
    invited: list[Persona]
    auto_replies: list[tuple[Persona, str]]


@dataclass(frozen=True, slots=True)
class IncomingRequest:
    conversation: Conversation
    inviter: Persona
    requested_at: datetime
    members: list[Persona]  # for groups: who else is in it (blocked accounts left out)


@dataclass(frozen=True, slots=True)
class _Verdict:
    state: MemberState
    reach: ReachDecision
    blocked: bool


def pending_error(member: Member, now: datetime, cooldown: timedelta) -> RequestPending:
    # Whole seconds: finer numbers would differ between two requests sent moments apart
    # and invite comparing them.
    wait = math.ceil(max(0.0, (member.requested_at + cooldown - now).total_seconds()))
    return RequestPending(
        "your request has not been accepted; nothing more is delivered until it is",
        details={"retry_after": wait})


class RequestService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, settings: Settings, bus: Bus,
                 sequencer: StreamSequencer, boundaries: BoundaryService, franker: Franker,
                 vocabulary: TagVocabulary, request_limiter: RateLimiter,
                 safety: SafetyService | None = None) -> None:
        self._uow = uow
        self._safety = safety
        self._clock = clock
        self._settings = settings
        self._bus = bus
        self._seq = sequencer
        self._boundaries = boundaries
        self._franker = franker
        self._tag_names = {t.id: t.name for t in vocabulary.tags()}
        self._limiter = request_limiter

    @property
    def cooldown(self) -> timedelta:
        return timedelta(hours=self._settings.request_cooldown_hours)

    # ------------------------------------------------------------ helpers

    async def _recipient(self, uow: UnitOfWork, sender: Persona, persona_id: str) -> Persona:
        target = await uow.personas.get(PersonaId(persona_id))
        if target is None:
            raise NotFound("no such persona")
        if target.account_id == sender.account_id:
            raise InvalidInput("that is one of your own personas",
                               details={"persona": persona_id})
        return target

    async def _verdict(self, uow: UnitOfWork, sender: Persona, target: Persona) -> _Verdict:
        """Every query runs whatever the outcome, so timing does not tell a block apart."""
        blocked = await uow.boundaries.blocked_between(sender.account_id, [target.account_id])
        boundaries = await uow.boundaries.get(target.id) or default_boundaries(target.id)
        share_room = await uow.rooms.share_room(sender.id, target.id)
        reach = decide_reach(boundaries, share_room=share_room,
                             conflicts=limit_conflicts(sender, target, self._tag_names))
        shown = reach.allowed and not blocked
        return _Verdict(MemberState.INVITED if shown else MemberState.SUPPRESSED, reach,
                        blocked)

    def _new_member(self, conversation_id: ConversationId, persona_id: PersonaId,
                    state: MemberState, invited_by: PersonaId | None,
                    now: datetime) -> Member:
        return Member(conversation_id=conversation_id, persona_id=persona_id, state=state,
                      invited_by=invited_by, keep_days=0, typing=False, receipts=False,
                      last_read_seq=0, cleared_seq=0, requested_at=now)

    def _notify(self, invitee: Persona, inviter: Persona, conversation: Conversation) -> None:
        """Tell the invitee's connections, after the reply has been queued: the sender's
        answer must not wait on (or be timed by) whether a notice goes out."""
        signal = Signal(stream=inbox_stream(invitee.id), kind="request",
                        at=self._clock.now(), persona_id=inviter.id,
                        persona_name=inviter.name, account_id=inviter.account_id,
                        to=frozenset({invitee.id}),
                        data={"conversation": conversation.id,
                              "conversation_kind": conversation.kind.value})
        asyncio.get_running_loop().call_soon(self._bus.publish, signal)

    # ------------------------------------------------------------ sending

    async def request(self, actor: Actor, to_persona_id: str, text: str,
                      kind: EventKind = EventKind.SAY,
                      confirm: Collection[str] = ()) -> RequestSent:
        """A first message to a persona: opens a direct conversation once accepted."""
        if kind not in SPOKEN_KINDS:
            raise InvalidInput("style must be say, pose or ooc", details={"field": "style"})
        clean = validate_message(text, self._settings.max_message_chars)
        if to_persona_id == actor.persona.id:
            raise InvalidInput("you cannot send a request to yourself")
        # Counted per account, before anything else, the same for every recipient: a
        # flood of first contacts is refused however the recipients would have answered.
        self._limiter.check(actor.account.id)
        # Screened before anything is stored. No notice goes to the recipient from here:
        # whether they may be reached (blocks, who may reach them) is decided below.
        safety = self._safety.screen(actor, clean, SafetyPlace.REQUEST, new_contact=True,
                                     confirm=confirm) if self._safety else None
        pair = "pair:" + ":".join(sorted([actor.persona.id, to_persona_id]))
        async with self._seq.hold([pair]):
            async with self._uow(readonly=True) as uow:
                existing = await uow.conversations.direct_between(
                    actor.persona.id, PersonaId(to_persona_id))
            streams = [conversation_stream(existing.id)] if existing else []
            async with self._seq.hold(streams), self._uow() as uow:
                sender = await current_persona(uow, actor)
                target = await self._recipient(uow, sender, to_persona_id)
                verdict = await self._verdict(uow, sender, target)
                now = self._clock.now()
                conversation = await uow.conversations.direct_between(sender.id, target.id)
                lines: list[tuple[EventKind, Persona | None, str, dict[str, object]]] = []
                if conversation is None:
                    conversation = Conversation(
                        id=new_conversation_id(), kind=ConversationKind.DIRECT, title="",
                        created_by=sender.id, created_at=now, last_seq=0,
                        disappear_seconds=None)
                    await uow.conversations.add(conversation)
                    await uow.conversations.add_member(self._new_member(
                        conversation.id, sender.id, MemberState.ACTIVE, None, now))
                    await uow.conversations.add_member(self._new_member(
                        conversation.id, target.id, verdict.state, sender.id, now))
                    lines.append((EventKind.JOIN, sender, "", {}))
                else:
                    mine = await uow.conversations.member(conversation.id, sender.id)
                    theirs = await uow.conversations.member(conversation.id, target.id)
                    assert mine is not None and theirs is not None
                    if theirs.state is MemberState.ACTIVE and mine.state is MemberState.ACTIVE:
                        raise Conflict("you already have a conversation with this persona",
                                       details={"conversation": conversation.id})
                    if theirs.state is not MemberState.ACTIVE and not may_resend(
                            theirs, now, self.cooldown):
                        raise pending_error(theirs, now, self.cooldown)
                    floor = conversation.last_seq
                    if mine.state is not MemberState.ACTIVE:
                        # They asked us first (or we turned them down): asking back
                        # is agreeing.
                        await uow.conversations.put_member(replace(
                            mine, state=MemberState.ACTIVE, requested_at=now))
                        lines.append((EventKind.JOIN, sender, "", {}))
                    if theirs.state is not MemberState.ACTIVE:
                        # Asked again, they see only what is said from now on.
                        await uow.conversations.put_member(replace(
                            theirs, state=verdict.state, invited_by=sender.id,
                            requested_at=now, cleared_seq=max(theirs.cleared_seq, floor),
                            last_read_seq=max(theirs.last_read_seq, floor)))
                lines.append((kind, sender, clean, {"opening": True}))
                members = await uow.conversations.members(conversation.id)
                events = await convstreams.append(uow, conversation, members, self._settings,
                                                  now, lines, self._franker)
                mine_now = next(m for m in members if m.persona_id == sender.id)
                await uow.conversations.put_member(convstreams.read_to(mine_now,
                                                                       events[-1].seq))
                await uow.commit()
            for event in events:
                self._bus.publish(event)
        theirs_now = next(m for m in members if m.persona_id == target.id)
        if theirs_now.state is MemberState.INVITED:
            self._notify(target, sender, conversation)
            if safety is not None and self._safety is not None:
                self._safety.warn_recipients(safety, sender, [target.id])
        replies = [(target, verdict.reach.auto_reply)] if not verdict.reach.allowed \
            and verdict.reach.auto_reply else []
        return RequestSent(replace(conversation, last_seq=events[-1].seq), [target], replies)

    async def create_group(self, actor: Actor, persona_ids: list[str], title: str,
                           text: str | None) -> RequestSent:
        """A group conversation: each invitee gets an invitation like a request."""
        invitees = validate_group_size([PersonaId(p) for p in persona_ids], actor.persona.id)
        clean_title = validate_title(title)
        clean = validate_message(text, self._settings.max_message_chars) if text else None
        self._limiter.check(actor.account.id, cost=len(invitees))
        if self._safety is not None:
            self._safety.guard(actor.account.id)
            if clean:
                self._safety.screen(actor, clean, SafetyPlace.REQUEST, new_contact=True)
        now = self._clock.now()
        conversation = Conversation(id=new_conversation_id(), kind=ConversationKind.GROUP,
                                    title=clean_title, created_by=actor.persona.id,
                                    created_at=now, last_seq=0, disappear_seconds=None)
        async with self._seq.hold([conversation_stream(conversation.id)]):
            async with self._uow() as uow:
                sender = await current_persona(uow, actor)
                targets = [await self._recipient(uow, sender, p) for p in invitees]
                verdicts = [await self._verdict(uow, sender, t) for t in targets]
                await uow.conversations.add(conversation)
                await uow.conversations.add_member(self._new_member(
                    conversation.id, sender.id, MemberState.ACTIVE, None, now))
                for target, verdict in zip(targets, verdicts, strict=True):
                    await uow.conversations.add_member(self._new_member(
                        conversation.id, target.id, verdict.state, sender.id, now))
                lines: list[tuple[EventKind, Persona | None, str, dict[str, object]]] = [
                    (EventKind.JOIN, sender, "", {})]
                if clean:
                    lines.append((EventKind.SAY, sender, clean, {"opening": True}))
                members = await uow.conversations.members(conversation.id)
                events = await convstreams.append(uow, conversation, members, self._settings,
                                                  now, lines, self._franker)
                await uow.commit()
            for event in events:
                self._bus.publish(event)
        for target, verdict in zip(targets, verdicts, strict=True):
            if verdict.state is MemberState.INVITED:
                self._notify(target, sender, conversation)
        replies = [(t, v.reach.auto_reply) for t, v in zip(targets, verdicts, strict=True)
                   if not v.reach.allowed and v.reach.auto_reply]
        return RequestSent(replace(conversation, last_seq=events[-1].seq), targets, replies)

    async def invite(self, actor: Actor, conversation_id: str,
                     persona_id: str) -> RequestSent:
        """Invite one more persona into a group."""
        self._limiter.check(actor.account.id)
        stream = conversation_stream(ConversationId(conversation_id))
        async with self._seq.hold([stream]), self._uow() as uow:
            sender = await current_persona(uow, actor)
            conversation, _, members = await convstreams.membership(uow, conversation_id,
                                                                    sender)
            if conversation.kind is not ConversationKind.GROUP:
                raise InvalidInput("only group conversations take invitations")
            target = await self._recipient(uow, sender, persona_id)
            verdict = await self._verdict(uow, sender, target)
            now = self._clock.now()
            theirs = next((m for m in members if m.persona_id == target.id), None)
            taken = [m for m in members if m.state is not MemberState.LEFT]
            if theirs is None and len(taken) >= MAX_GROUP_MEMBERS:
                raise LimitReached(f"a group has at most {MAX_GROUP_MEMBERS} members",
                                   details={"limit": MAX_GROUP_MEMBERS})
            # A newcomer sees what is said from the invitation on, not what was said
            # before they were asked.
            floor = conversation.last_seq
            if theirs is None:
                await uow.conversations.add_member(replace(self._new_member(
                    conversation.id, target.id, verdict.state, sender.id, now),
                    cleared_seq=floor, last_read_seq=floor))
            elif theirs.state is MemberState.ACTIVE:
                raise Conflict("that persona is already in this conversation")
            elif not may_resend(theirs, now, self.cooldown):
                raise pending_error(theirs, now, self.cooldown)
            else:
                # An invitation the invitee can see stays as it is (and stays theirs to
                # answer): someone they blocked must not be able to withdraw it by
                # inviting them again.
                keep = theirs.state is MemberState.INVITED
                await uow.conversations.put_member(replace(
                    theirs, state=theirs.state if keep else verdict.state,
                    invited_by=theirs.invited_by if keep else sender.id, requested_at=now,
                    cleared_seq=max(theirs.cleared_seq, floor),
                    last_read_seq=max(theirs.last_read_seq, floor)))
            await uow.commit()
        if verdict.state is MemberState.INVITED:
            self._notify(target, sender, conversation)
        replies = [(target, verdict.reach.auto_reply)] if not verdict.reach.allowed \
            and verdict.reach.auto_reply else []
        return RequestSent(conversation, [target], replies)

    # ------------------------------------------------------------ scenes

    def limit(self, account_id: str, cost: int) -> None:
        """Scene invitations count against the same flood limit as requests."""
        self._limiter.check(account_id, cost=cost)

    async def screen(self, uow: UnitOfWork, sender: Persona, target_id: str
                     ) -> tuple[Persona, bool]:
        """For an invitation to a scene: the invitee, and whether they may be told. The
        conversation rules apply: a block never lets it through; reach settings do,
        unless the two already talk in an accepted direct conversation. The same
        queries run whatever the answer."""
        target = await self._recipient(uow, sender, target_id)
        verdict = await self._verdict(uow, sender, target)
        direct = await uow.conversations.direct_between(sender.id, target.id)
        members = await uow.conversations.members(direct.id) if direct else []
        talking = len(members) == 2 and all(m.state is MemberState.ACTIVE for m in members)
        return target, not verdict.blocked and (verdict.reach.allowed or talking)

    # ------------------------------------------------------------ answering

    async def incoming(self, actor: Actor) -> list[IncomingRequest]:
        """Requests and invitations waiting for this persona's answer."""
        hidden = (await self._boundaries.boundary(actor.account.id)).hidden
        async with self._uow(readonly=True) as uow:
            mine = await uow.conversations.memberships_of(actor.persona.id,
                                                          [MemberState.INVITED])
            ids = [m.conversation_id for m in mine]
            conversations = await uow.conversations.many(ids)
            members = await uow.conversations.members_of_many(ids)
            personas = await uow.personas.many(
                {m.persona_id for ms in members.values() for m in ms}
                | {m.invited_by for m in mine if m.invited_by})
        out = []
        for member in mine:
            inviter = personas.get(member.invited_by) if member.invited_by else None
            conversation = conversations.get(member.conversation_id)
            if inviter is None or conversation is None or inviter.account_id in hidden:
                continue
            others = [personas[m.persona_id] for m in members[conversation.id]
                      if m.persona_id in personas and m.persona_id != actor.persona.id
                      and m.state is MemberState.ACTIVE
                      and personas[m.persona_id].account_id not in hidden]
            out.append(IncomingRequest(conversation, inviter, member.requested_at, others))
        return out

    async def _invitation(self, uow: UnitOfWork, actor: Actor,
                          conversation_id: str) -> tuple[Conversation, Member]:
        conversation, mine, _ = await convstreams.membership(
            uow, conversation_id, actor.persona,
            states=frozenset({MemberState.INVITED}))
        hidden = (await self._boundaries.boundary(actor.account.id)).hidden
        inviter = await uow.personas.get(mine.invited_by) if mine.invited_by else None
        if inviter is None or inviter.account_id in hidden:
            raise NotFound("no such request")
        return conversation, mine

    async def opening(self, actor: Actor, conversation_id: str) -> ConversationEvent | None:
        """The request's first message, which the invitee chooses to open."""
        async with self._uow(readonly=True) as uow:
            conversation, mine = await self._invitation(uow, actor, conversation_id)
            assert mine.invited_by is not None
            return await uow.conversations.opening(conversation.id, mine.invited_by,
                                                   self._clock.now())

    async def accept(self, actor: Actor, conversation_id: str) -> Conversation:
        stream = conversation_stream(ConversationId(conversation_id))
        async with self._seq.hold([stream]):
            async with self._uow() as uow:
                conversation, mine = await self._invitation(uow, actor, conversation_id)
                persona = await current_persona(uow, actor)
                before = await uow.conversations.members(conversation.id)
                await uow.conversations.put_member(replace(mine, state=MemberState.ACTIVE))
                members = await uow.conversations.members(conversation.id)
                # A newcomer's own choice (by default: not stored) now counts too.
                lines: list[convstreams.Line] = [(EventKind.JOIN, persona, "", {})]
                lines += await convstreams.apply_retention_change(
                    uow, conversation, before, members, self._settings, persona)
                events = await convstreams.append(uow, conversation, members, self._settings,
                                                  self._clock.now(), lines, self._franker)
                await uow.commit()
            for event in events:
                self._bus.publish(event)
        return replace(conversation, last_seq=events[-1].seq)

    async def decline(self, actor: Actor, conversation_id: str) -> PersonaId:
        """Say no. Nobody is told; returns the inviter (for "decline and block")."""
        stream = conversation_stream(ConversationId(conversation_id))
        async with self._seq.hold([stream]), self._uow() as uow:
            _, mine = await self._invitation(uow, actor, conversation_id)
            await uow.conversations.put_member(replace(mine, state=MemberState.DECLINED))
            await uow.commit()
        assert mine.invited_by is not None
        return mine.invited_by


__all__ = ["PENDING_LOOKALIKES", "IncomingRequest", "RequestSent", "RequestService",
           "pending_error"]
