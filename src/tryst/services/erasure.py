"""Erasing a persona: shared by persona deletion and account deletion."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from tryst.clock import Clock
from tryst.domain.errors import Conflict
from tryst.domain.events import RoomEvent
from tryst.domain.rooms import DELETED, EventKind, Visibility
from tryst.ids import PersonaId, RoomId, room_stream
from tryst.ports import Bus, UnitOfWork, UnitOfWorkFactory
from tryst.services.sequencer import StreamSequencer
from tryst.services.streams import append_event


async def rooms_touched(uow: UnitOfWork, persona_id: PersonaId) -> list[RoomId]:
    """Rooms whose streams erasing this persona will append to (lock these first)."""
    authored = await uow.events.rooms_authored_in(persona_id)
    member = [m.room_id for m in await uow.rooms.rooms_of(persona_id)]
    return sorted(set(authored) | set(member))


def streams_of(room_ids: list[RoomId]) -> list[str]:
    return [room_stream(r) for r in room_ids]


async def erase_persona(uow: UnitOfWork, persona_id: PersonaId, now: datetime,
                        room_ids: list[RoomId]) -> list[RoomEvent]:
    """Within the caller's transaction: in invite-only rooms (private spaces) delete what
    the persona wrote; elsewhere replace it with "[deleted]"; leave every room; delete
    the persona. Returns the events to publish after commit."""
    events: list[RoomEvent] = []
    for room_id in room_ids:
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
    await uow.personas.delete(persona_id)
    return events


PersonaIds = Callable[[UnitOfWork], Awaitable[list[PersonaId]]]
MAX_PASSES = 5


async def erase_personas(*, uow: UnitOfWorkFactory, sequencer: StreamSequencer, bus: Bus,
                         clock: Clock, persona_ids: PersonaIds,
                         finish: Callable[[UnitOfWork], Awaitable[None]] | None = None) -> None:
    """Erase personas and what they wrote, publishing the redactions after commit.

    The rooms to lock are read first, then read again inside the transaction under their
    locks: if a join slipped in between, the pass is retried with the larger set. After
    a pass commits, another pass sweeps anything written concurrently (possible on
    PostgreSQL in a room outside the locked set); it ends when a pass finds nothing.
    ``finish`` runs in the first committed pass (e.g. deleting the account row)."""
    committed = False
    locked: set[RoomId] = set()
    for _ in range(MAX_PASSES):
        async with uow(readonly=True) as reader:
            ids = await persona_ids(reader)
            for pid in ids:
                locked.update(await rooms_touched(reader, pid))
        if committed and not locked:
            return  # the sweep found nothing more
        async with sequencer.hold(streams_of(sorted(locked))):
            async with uow() as writer:
                ids = await persona_ids(writer)
                touched = {pid: await rooms_touched(writer, pid) for pid in ids}
                grown = {r for rooms in touched.values() for r in rooms} - locked
                if grown:
                    locked |= grown
                    continue  # lock those rooms too and start again
                events: list[RoomEvent] = []
                for pid in ids:
                    events += await erase_persona(writer, pid, clock.now(), touched[pid])
                if not committed and finish is not None:
                    await finish(writer)
                await writer.commit()
            committed = True
            for event in events:
                bus.publish(event)
        locked = set()
    raise Conflict("erasing took too many attempts because of concurrent activity; "
                   "try again")
