"""Rooms: creating, joining, talking, history and resume, roles and invitations."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from tryst.clock import Clock
from tryst.config import Settings
from tryst.domain.conversations import Boundaries, default_boundaries
from tryst.domain.errors import (
    Conflict,
    InvalidInput,
    LimitReached,
    NotFound,
    NotMember,
    TrystError,
)
from tryst.domain.events import RoomEvent, Whisper
from tryst.domain.personas import Persona, name_key
from tryst.domain.rooms import (
    MUTED_KINDS,
    SPOKEN_KINDS,
    EventKind,
    Membership,
    Rating,
    Room,
    RoomRole,
    Visibility,
    check_can_enter,
    check_can_moderate,
    check_can_remove,
    check_can_set_role,
    validate_description,
    validate_message,
    validate_room_name,
    validate_topic,
)
from tryst.domain.safety.verdicts import Place as SafetyPlace
from tryst.domain.text import choice
from tryst.ids import PersonaId, RoomId, new_room_id, room_stream
from tryst.ports import Bus, Presence, UnitOfWork, UnitOfWorkFactory
from tryst.services.actor import Actor, current_persona
from tryst.services.boundaries import BoundaryService
from tryst.services.ratelimits import RateLimiter
from tryst.services.safety import SafetyService
from tryst.services.sequencer import StreamSequencer
from tryst.services.streams import append_event

HISTORY_PAGE_MAX = 200
GROUP_COMMIT_MAX = 256  # lines per transaction


@dataclass(slots=True)
class _Line:
    """A say, pose, ooc or notice waiting for its room's next transaction."""

    actor: Actor
    kind: EventKind
    text: str
    moderator_only: bool
    result: asyncio.Future[RoomEvent]
OWNER_FIELDS = frozenset({"name", "description", "visibility", "rating", "images"})


class RoomService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, settings: Settings, bus: Bus,
                 sequencer: StreamSequencer, presence: Presence,
                 message_limiter: RateLimiter, boundaries: BoundaryService,
                 safety: SafetyService | None = None) -> None:
        self._boundaries = boundaries
        self._safety = safety
        self._uow = uow
        self._clock = clock
        self._settings = settings
        self._bus = bus
        self._seq = sequencer
        self._presence = presence
        self._limiter = message_limiter
        self._queues: dict[RoomId, list[_Line]] = {}
        self._drains: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ helpers

    async def _append(self, uow: UnitOfWork, room_id: RoomId, kind: EventKind,
                      persona: Persona | None, text: str = "",
                      data: dict[str, object] | None = None) -> RoomEvent:
        return await append_event(uow, room_id, self._clock.now(), kind,
                                  persona_id=persona.id if persona else None,
                                  persona_name=persona.name if persona else None,
                                  text=text, data=data,
                                  account_id=persona.account_id if persona else None)

    async def _room_for(self, uow: UnitOfWork, room_id: str, actor: Actor) -> Room:
        """The room, if this persona may know it exists: invite-only rooms are invisible
        to personas that are neither members nor invited (staff see everything)."""
        room = await uow.rooms.get(RoomId(room_id))
        if room is None:
            raise NotFound("no such room")
        if room.visibility is Visibility.INVITE_ONLY and not actor.account.role.is_staff:
            member = await uow.rooms.membership(room.id, actor.persona.id)
            if member is None and not await uow.rooms.is_invited(room.id, actor.persona.id):
                raise NotFound("no such room")
        return room

    async def _member(self, uow: UnitOfWork, room: Room, persona_id: PersonaId) -> Membership:
        member = await uow.rooms.membership(room.id, persona_id)
        if member is None:
            raise NotMember("join the room first")
        return member

    # ------------------------------------------------------------ rooms

    async def create(self, actor: Actor, *, name: str, topic: str = "", description: str = "",
                     visibility: str = "public", rating: str = "general",
                     images: bool = False) -> Room:
        vis = choice(Visibility, visibility, "visibility")
        rat = choice(Rating, rating, "rating")
        room = Room(id=new_room_id(), name=validate_room_name(name), topic=validate_topic(topic),
                    description=validate_description(description), visibility=vis, rating=rat,
                    created_at=self._clock.now(), last_seq=0, images=bool(images))
        async with self._seq.hold([room_stream(room.id)]):
            async with self._uow() as uow:
                persona = await current_persona(uow, actor)
                check_can_enter(room, adult_opt_in=persona.adult_content, invited=True)
                if await uow.rooms.name_taken(name_key(room.name)):
                    raise Conflict("a room with that name exists", details={"field": "name"})
                await self._check_room_limit(uow, actor.persona.id)
                await uow.rooms.add(room, name_key(room.name))
                await uow.rooms.add_member(Membership(room.id, actor.persona.id, RoomRole.OWNER,
                                                      self._clock.now()))
                event = await self._append(uow, room.id, EventKind.JOIN, persona)
                await uow.commit()
            self._bus.publish(event)
        return replace(room, last_seq=event.seq)

    async def _check_room_limit(self, uow: UnitOfWork, persona_id: PersonaId) -> None:
        limit = self._settings.max_rooms_per_persona
        if await uow.rooms.count_rooms_of(persona_id) >= limit:
            raise LimitReached(f"a persona can be in at most {limit} rooms: leave one first",
                               details={"limit": limit})

    async def get(self, actor: Actor, room_id: str) -> Room:
        async with self._uow(readonly=True) as uow:
            return await self._room_for(uow, room_id, actor)

    async def list_public(self, query: str | None, limit: int = 50,
                          offset: int = 0) -> list[tuple[Room, int]]:
        limit = max(1, min(limit, 200))
        async with self._uow(readonly=True) as uow:
            rooms = await uow.rooms.list_public(query, limit, max(0, offset))
            counts = await uow.rooms.member_counts([r.id for r in rooms])
        return [(r, counts.get(r.id, 0)) for r in rooms]

    async def update(self, actor: Actor, room_id: str, changes: Mapping[str, Any]) -> Room:
        unknown = set(changes) - OWNER_FIELDS - {"topic"}
        if unknown:
            raise InvalidInput("unknown room fields", details={"fields": sorted(unknown)})
        async with self._seq.hold([room_stream(RoomId(room_id))]):
            async with self._uow() as uow:
                room = await self._room_for(uow, room_id, actor)
                member = await uow.rooms.membership(room.id, actor.persona.id)
                role = member.role if member else None
                staff = actor.account.role.is_staff
                if set(changes) & OWNER_FIELDS:
                    check_can_set_role(role, staff=staff)
                else:
                    check_can_moderate(role, staff=staff)
                updated = replace(
                    room,
                    name=validate_room_name(changes["name"]) if "name" in changes else room.name,
                    topic=validate_topic(changes["topic"]) if "topic" in changes else room.topic,
                    description=validate_description(changes["description"])
                    if "description" in changes else room.description,
                    visibility=choice(Visibility, changes["visibility"], "visibility")
                    if "visibility" in changes else room.visibility,
                    rating=choice(Rating, changes["rating"], "rating")
                    if "rating" in changes else room.rating,
                    images=bool(changes["images"]) if "images" in changes else room.images,
                )
                key = name_key(updated.name)
                if await uow.rooms.name_taken(key, except_id=room.id):
                    raise Conflict("a room with that name exists", details={"field": "name"})
                await uow.rooms.update(updated, key)
                persona = await current_persona(uow, actor)
                events = []
                if updated.topic != room.topic:
                    events.append(await self._append(uow, room.id, EventKind.TOPIC,
                                                     persona, updated.topic))
                changed = sorted(f for f in OWNER_FIELDS
                                 if getattr(updated, f) != getattr(room, f))
                if changed:
                    events.append(await self._append(
                        uow, room.id, EventKind.SYSTEM, persona,
                        "room settings changed: " + ", ".join(changed),
                        {f: _as_text(getattr(updated, f)) for f in changed}))
                await uow.commit()
            for event in events:
                self._bus.publish(event)
        return replace(updated, last_seq=events[-1].seq if events else room.last_seq)

    # ------------------------------------------------------------ membership

    async def join(self, actor: Actor, room_id: str) -> tuple[Room, Membership, bool]:
        """Join (idempotent). Returns the room, the membership and whether it is new."""
        async with self._seq.hold([room_stream(RoomId(room_id))]):
            async with self._uow() as uow:
                room = await self._room_for(uow, room_id, actor)
                existing = await uow.rooms.membership(room.id, actor.persona.id)
                if existing is not None:
                    return room, existing, False
                persona = await current_persona(uow, actor)
                invited = await uow.rooms.is_invited(room.id, persona.id)
                check_can_enter(room, adult_opt_in=persona.adult_content,
                                invited=invited or actor.account.role.is_staff)
                await self._check_room_limit(uow, persona.id)
                member = Membership(room.id, persona.id, RoomRole.MEMBER, self._clock.now())
                await uow.rooms.add_member(member)
                event = await self._append(uow, room.id, EventKind.JOIN, persona)
                await uow.commit()
            self._bus.publish(event)
        return replace(room, last_seq=event.seq), member, True

    async def leave(self, actor: Actor, room_id: str) -> None:
        await self._remove(actor, room_id, actor.persona.id, reason="left")

    async def kick(self, actor: Actor, room_id: str, target_id: str) -> None:
        await self._remove(actor, room_id, PersonaId(target_id), reason="kicked")

    async def _remove(self, actor: Actor, room_id: str, target: PersonaId, reason: str) -> None:
        async with self._seq.hold([room_stream(RoomId(room_id))]):
            async with self._uow() as uow:
                room = await self._room_for(uow, room_id, actor)
                member = await uow.rooms.membership(room.id, target)
                if reason == "kicked":
                    mine = await uow.rooms.membership(room.id, actor.persona.id)
                    check_can_remove(mine.role if mine else None,
                                     member.role if member else None,
                                     staff=actor.account.role.is_staff)
                    if target == actor.persona.id:
                        raise InvalidInput("use leave to leave a room")
                if member is None:
                    raise NotMember("not a member of this room")
                persona = await uow.personas.get(target)
                await uow.rooms.remove_member(room.id, target)
                if reason == "kicked":
                    # A kick from an invite-only room also takes back the invitation.
                    await uow.rooms.remove_invite(room.id, target)
                event = await self._append(uow, room.id, EventKind.LEAVE, persona,
                                           data={"reason": reason})
                await uow.commit()
            self._bus.publish(event)

    async def memberships(self, persona_id: PersonaId) -> list[Membership]:
        async with self._uow(readonly=True) as uow:
            return await uow.rooms.rooms_of(persona_id)

    async def invite(self, actor: Actor, room_id: str, target_id: str) -> Persona:
        async with self._uow() as uow:
            room = await self._room_for(uow, room_id, actor)
            mine = await self._member(uow, room, actor.persona.id)
            check_can_moderate(mine.role, staff=actor.account.role.is_staff)
            target = await uow.personas.get(PersonaId(target_id))
            if target is None:
                raise NotFound("no such persona")
            await uow.rooms.add_invite(room.id, target.id, self._clock.now())
            await uow.commit()
        return target

    async def set_role(self, actor: Actor, room_id: str, target_id: str, role: str) -> None:
        new_role = choice(RoomRole, role, "role")
        async with self._seq.hold([room_stream(RoomId(room_id))]):
            async with self._uow() as uow:
                room = await self._room_for(uow, room_id, actor)
                mine = await uow.rooms.membership(room.id, actor.persona.id)
                check_can_set_role(mine.role if mine else None,
                                   staff=actor.account.role.is_staff)
                target = await self._member(uow, room, PersonaId(target_id))
                if target.role is RoomRole.OWNER and new_role is not RoomRole.OWNER:
                    owners = [m for m in await uow.rooms.members(room.id)
                              if m.role is RoomRole.OWNER]
                    if len(owners) == 1:
                        raise Conflict("a room needs an owner: make someone else owner first")
                await uow.rooms.set_role(room.id, target.persona_id, new_role)
                persona = await uow.personas.get(target.persona_id)
                event = await self._append(
                    uow, room.id, EventKind.SYSTEM, await current_persona(uow, actor),
                    f"{persona.name if persona else 'someone'} is now {new_role.value}",
                    {"persona_id": target.persona_id, "role": new_role.value})
                await uow.commit()
            self._bus.publish(event)

    # ------------------------------------------------------------ talking

    async def post(self, actor: Actor, room_id: str, kind: EventKind, text: str) -> RoomEvent:
        """Say, pose or OOC in a room: validated, rate limited, stored, then published."""
        return await asyncio.shield(self.submit_line(actor, room_id, kind, text))

    async def notice(self, actor: Actor, room_id: str, text: str) -> RoomEvent:
        """A system notice from a room's owner or moderator."""
        return await asyncio.shield(self.submit_line(actor, room_id, EventKind.SYSTEM, text))

    def submit_line(self, actor: Actor, room_id: str, kind: EventKind,
                    text: str) -> asyncio.Future[RoomEvent]:
        """Check a say, pose, ooc or notice (system) and queue it for the room's next
        transaction, without waiting. Bad text and rate limits raise at once; the
        returned future resolves with the stored event once it is committed and
        published, or fails (not a member, room gone, database error).

        Lines that arrive while a transaction is in flight share the next one (group
        commit): one round of database work for many messages. Lines queued from one
        connection are stored in the order they were queued."""
        if kind not in SPOKEN_KINDS and kind is not EventKind.SYSTEM:
            raise InvalidInput("only say, pose, ooc and notices can be posted")
        clean = validate_message(text, self._settings.max_message_chars)
        self._limiter.check(actor.persona.id)
        if self._safety is not None:
            self._safety.screen(actor, clean, SafetyPlace.ROOM, new_contact=False)
        loop = asyncio.get_running_loop()
        result: asyncio.Future[RoomEvent] = loop.create_future()
        # A caller that went away must not leave "exception never retrieved" behind.
        result.add_done_callback(lambda f: f.cancelled() or f.exception())
        line = _Line(actor, kind, clean, kind is EventKind.SYSTEM, result)
        rid = RoomId(room_id)
        queue = self._queues.get(rid)
        if queue is None:
            queue = self._queues[rid] = []
            task = loop.create_task(self._drain(rid, queue))
            self._drains.add(task)
            task.add_done_callback(self._drains.discard)
        queue.append(line)
        return result

    async def _drain(self, room_id: RoomId, queue: list[_Line]) -> None:
        try:
            while queue:
                batch = queue[:GROUP_COMMIT_MAX]
                del queue[:GROUP_COMMIT_MAX]
                try:
                    await self._commit_lines(room_id, batch)
                except Exception as exc:  # the database failed: nobody is acknowledged
                    for line in batch:
                        if not line.result.done():
                            line.result.set_exception(exc)
        finally:
            del self._queues[room_id]

    async def _commit_lines(self, room_id: RoomId, batch: list[_Line]) -> None:
        accepted: list[tuple[_Line, Persona]] = []
        async with self._seq.hold([room_stream(room_id)]):
            async with self._uow() as uow:
                room = await uow.rooms.get(room_id)
                ids = [line.actor.persona.id for line in batch]
                personas = await uow.personas.many(ids)
                members = await uow.rooms.memberships(room_id, ids) if room else {}
                for line in batch:
                    try:
                        persona = await self._may_speak(uow, room, line, personas, members)
                    except TrystError as exc:
                        line.result.set_exception(exc)
                        continue
                    accepted.append((line, persona))
                if not accepted:
                    return
                last = await uow.rooms.advance_seq(room_id, len(accepted))
                now = self._clock.now()
                events = [RoomEvent(room_id=room_id, seq=last - len(accepted) + 1 + i, at=now,
                                    kind=line.kind, persona_id=persona.id,
                                    persona_name=persona.name, text=line.text,
                                    account_id=persona.account_id)
                          for i, (line, persona) in enumerate(accepted)]
                await uow.events.append_many(events)
                await uow.commit()
            # Published after commit, still under the room's lock: in sequence order.
            for event in events:
                self._bus.publish(event)
        for (line, _), event in zip(accepted, events, strict=True):
            if not line.result.done():
                line.result.set_result(event)

    async def _may_speak(self, uow: UnitOfWork, room: Room | None, line: _Line,
                         personas: Mapping[PersonaId, Persona],
                         members: Mapping[PersonaId, Membership]) -> Persona:
        actor = line.actor
        staff = actor.account.role.is_staff
        member = members.get(actor.persona.id)
        if room is None or (member is None and room.visibility is Visibility.INVITE_ONLY \
                and not staff and not await uow.rooms.is_invited(room.id, actor.persona.id)):
            raise NotFound("no such room")  # invite-only rooms stay invisible
        if member is None:
            raise NotMember("join the room first")
        if line.moderator_only:
            check_can_moderate(member.role, staff=staff)
        # The persona as stored now: a rename or deletion made on another connection
        # must not be overtaken by a stale name.
        persona = personas.get(actor.persona.id)
        if persona is None:
            raise NotFound("this persona no longer exists")
        return persona

    async def whisper(self, actor: Actor, room_id: str, to_id: str, text: str) -> Whisper:
        """A private line to one persona present in the room. Not stored; nobody else in
        the room sees it or learns that it was sent."""
        clean = validate_message(text, self._settings.max_message_chars)
        self._limiter.check(actor.persona.id)
        if self._safety is not None:
            self._safety.screen(actor, clean, SafetyPlace.ROOM, new_contact=False)
        hidden = (await self._boundaries.boundary(actor.account.id)).hidden
        async with self._uow(readonly=True) as uow:
            room = await self._room_for(uow, room_id, actor)
            await self._member(uow, room, actor.persona.id)
            sender = await current_persona(uow, actor)
            target = await uow.personas.get(PersonaId(to_id))
            present = target is not None and await uow.rooms.membership(
                room.id, target.id) is not None and target.id in self._presence.online([target.id])
        if target is None or not present or target.account_id in hidden:
            # Across a block, the other side is simply not there.
            raise NotFound("that persona is not present in this room")
        if target.id == actor.persona.id:
            raise InvalidInput("you cannot whisper to yourself")
        whisper = Whisper(room_id=room.id, at=self._clock.now(), from_id=sender.id,
                          from_name=sender.name, to_id=target.id, to_name=target.name,
                          text=clean, from_account=sender.account_id)
        self._bus.publish(whisper)
        return whisper

    # ------------------------------------------------------------ reading

    async def who(self, actor: Actor, room_id: str
                  ) -> list[tuple[Persona, RoomRole, bool, Boundaries]]:
        """Members, their roles and whether they are online; blocked accounts (either
        way) are left out entirely."""
        hidden = (await self._boundaries.boundary(actor.account.id)).hidden
        async with self._uow(readonly=True) as uow:
            room = await self._room_for(uow, room_id, actor)
            await self._member(uow, room, actor.persona.id)
            members = await uow.rooms.members(room.id)
            personas = await uow.personas.many(m.persona_id for m in members)
            statuses = await uow.boundaries.many(list(personas))
        online = self._presence.online(personas)
        return [(personas[m.persona_id], m.role, m.persona_id in online,
                 statuses.get(m.persona_id) or default_boundaries(m.persona_id))
                for m in members if m.persona_id in personas
                and personas[m.persona_id].account_id not in hidden]

    async def history(self, actor: Actor, room_id: str, before: int | None,
                      limit: int) -> list[RoomEvent]:
        """A page of the room's retained history, oldest first, ending before ``before``."""
        return (await self.history_page(actor, room_id, before, limit))[0]

    async def history_page(self, actor: Actor, room_id: str, before: int | None,
                           limit: int) -> tuple[list[RoomEvent], int | None]:
        """The page and the ``before`` of the next one (None at the oldest retained):
        taken from the page as read, so lines hidden by a block or mute do not end
        paging early."""
        limit = max(1, min(limit, HISTORY_PAGE_MAX))
        boundary = await self._boundaries.boundary(actor.account.id)
        async with self._uow(readonly=True) as uow:
            room = await self._room_for(uow, room_id, actor)
            await self._member(uow, room, actor.persona.id)
            page = await uow.events.before(room.id, before, limit)
        # Blocked accounts' lines, and muted personas' lines from the mute, are not shown.
        visible = [e for e in page if not boundary.hides(e.account_id, e.at) and not (
            e.kind in MUTED_KINDS and boundary.mutes_at(e.persona_id, e.at))]
        return visible, (page[0].seq if len(page) == limit else None)

    async def catch_up(self, persona_id: PersonaId, room_id: RoomId, after: int,
                       limit: int) -> tuple[list[RoomEvent], int | None, int]:
        """For a member resuming: up to ``limit`` events after ``after``, the oldest
        retained seq (None if nothing is retained) and the room's latest seq."""
        async with self._uow(readonly=True) as uow:
            if await uow.rooms.membership(room_id, persona_id) is None:
                raise NotMember("not a member of this room")
            room = await uow.rooms.get(room_id)
            if room is None:
                raise NotFound("no such room")
            first = await uow.events.first_seq(room_id)
            return await uow.events.after(room_id, after, limit), first, room.last_seq

    async def purge_expired(self) -> int:
        """Delete room events older than the retention period; returns how many."""
        cutoff = self._clock.now() - timedelta(days=self._settings.retention_days)
        async with self._uow() as uow:
            count = await uow.events.purge_older_than(cutoff)
            await uow.commit()
        return count


def _as_text(value: object) -> str:
    """A setting's new value as the settings event carries it ("true"/"false" for flags)."""
    return str(value).lower() if isinstance(value, bool) else str(value)
