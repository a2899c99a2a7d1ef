"""Erasing a persona: shared by persona deletion and account deletion."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime

from tryst.clock import Clock
from tryst.config import Settings
from tryst.domain.conversations import MemberState
from tryst.domain.errors import Conflict
from tryst.domain.events import Event
from tryst.domain.rooms import DELETED, EventKind, Visibility
from tryst.ids import ConversationId, PersonaId, RoomId, conversation_stream, room_stream
from tryst.ports import Bus, UnitOfWork, UnitOfWorkFactory
from tryst.services.convstreams import append
from tryst.services.sequencer import StreamSequencer
from tryst.services.streams import append_event


async def streams_touched(uow: UnitOfWork, persona_id: PersonaId) -> list[str]:
    """Room and conversation streams erasing this persona will append to (lock these
    first)."""
    authored = await uow.events.rooms_authored_in(persona_id)
    member = [m.room_id for m in await uow.rooms.rooms_of(persona_id)]
    conversations = set(await uow.conversations.conversations_with(persona_id)) \
        | set(await uow.conversations.authored_in(persona_id))
    return sorted({room_stream(r) for r in set(authored) | set(member)}
                  | {conversation_stream(c) for c in conversations})


async def _erase_from_conversation(uow: UnitOfWork, settings: Settings, persona_id: PersonaId,
                                   now: datetime, conversation_id: ConversationId
                                   ) -> list[Event]:
    """Conversations are private: what the persona wrote is deleted, not redacted."""
    conversation = await uow.conversations.get(conversation_id)
    if conversation is None:
        return []
    lines: list[tuple[EventKind, None, str, dict[str, object]]] = []
    seqs = await uow.conversations.erase_authored(persona_id, conversation_id)
    if seqs:
        lines.append((EventKind.REDACTION, None, "", {"seqs": seqs, "erased": True}))
    member = await uow.conversations.member(conversation_id, persona_id)
    if member is not None:
        await uow.conversations.remove_member(conversation_id, persona_id)
        lines.append((EventKind.LEAVE, None, "", {"reason": "deleted"}))
    remaining = await uow.conversations.members(conversation_id)
    if not any(m.state is not MemberState.LEFT for m in remaining):
        await uow.conversations.delete(conversation_id)  # nobody is left to read it
        return []
    if not lines:
        return []
    events = await append(uow, conversation, remaining, settings, now, lines)
    return [replace(e, persona_name=DELETED) if e.kind is EventKind.LEAVE else e
            for e in events]


async def erase_persona(uow: UnitOfWork, settings: Settings, persona_id: PersonaId,
                        now: datetime, streams: list[str]) -> list[Event]:
    """Within the caller's transaction: in invite-only rooms (private spaces) and
    conversations delete what the persona wrote; elsewhere replace it with "[deleted]";
    leave every room and conversation; delete the persona. Returns the events to
    publish after commit."""
    events: list[Event] = []
    for stream in streams:
        kind, _, key = stream.partition(":")
        if kind == "conv":
            events += await _erase_from_conversation(uow, settings, persona_id, now,
                                                     ConversationId(key))
            continue
        room_id = RoomId(key)
        room = await uow.rooms.get(room_id)
        if room is None:
            continue
        erase = room.visibility is Visibility.INVITE_ONLY
        seqs = await uow.events.redact_authored(persona_id, room_id, erase=erase)
        if seqs:
            events.append(await append_event(uow, room_id, now, EventKind.REDACTION,
                                             data={"seqs": seqs, "erased": erase}))
        if await uow.rooms.membership(room_id, persona_id) is not None:
            await uow.rooms.remove_member(room_id, persona_id)
            events.append(await append_event(uow, room_id, now, EventKind.LEAVE,
                                             persona_name=DELETED,
                                             data={"reason": "deleted"}))
    await uow.rooms.remove_invites_of(persona_id)
    await uow.boundaries.forget_name(persona_id, DELETED)
    await uow.personas.delete(persona_id)
    return events


PersonaIds = Callable[[UnitOfWork], Awaitable[list[PersonaId]]]
MAX_PASSES = 5


async def erase_personas(*, uow: UnitOfWorkFactory, sequencer: StreamSequencer, bus: Bus,
                         settings: Settings, clock: Clock, persona_ids: PersonaIds,
                         finish: Callable[[UnitOfWork], Awaitable[None]] | None = None) -> None:
    """Erase personas and what they wrote, publishing the redactions after commit.

    The rooms to lock are read first, then read again inside the transaction under their
    locks: if a join slipped in between, the pass is retried with the larger set. After
    a pass commits, another pass sweeps anything written concurrently (possible on
    PostgreSQL in a room outside the locked set); it ends when a pass finds nothing.
    ``finish`` runs in the first committed pass (e.g. deleting the account row)."""
    committed = False
    locked: set[str] = set()
    for _ in range(MAX_PASSES):
        async with uow(readonly=True) as reader:
            ids = await persona_ids(reader)
            for pid in ids:
                locked.update(await streams_touched(reader, pid))
        if committed and not locked:
            return  # the sweep found nothing more
        async with sequencer.hold(sorted(locked)):
            async with uow() as writer:
                ids = await persona_ids(writer)
                touched = {pid: await streams_touched(writer, pid) for pid in ids}
                grown = {r for streams in touched.values() for r in streams} - locked
                if grown:
                    locked |= grown
                    continue  # lock those streams too and start again
                events: list[Event] = []
                for pid in ids:
                    events += await erase_persona(writer, settings, pid, clock.now(), touched[pid])
                if not committed and finish is not None:
                    await finish(writer)
                await writer.commit()
            committed = True
            for event in events:
                bus.publish(event)
        locked = set()
    raise Conflict("erasing took too many attempts because of concurrent activity; "
                   "try again")
