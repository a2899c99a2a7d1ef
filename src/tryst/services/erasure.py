"""Erasing a persona: shared by persona deletion and account deletion."""

from __future__ import annotations

from datetime import datetime

from tryst.domain.events import RoomEvent
from tryst.domain.rooms import EventKind, Visibility
from tryst.ids import PersonaId, RoomId, room_stream
from tryst.ports import UnitOfWork

DELETED = "[deleted]"


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
            seq = await uow.rooms.next_seq(room_id)
            event = RoomEvent(room_id=room_id, seq=seq, at=now, kind=EventKind.REDACTION,
                              persona_id=None, persona_name=None, text="",
                              data={"seqs": seqs, "erased": erase})
            await uow.events.append(event)
            events.append(event)
        if await uow.rooms.membership(room_id, persona_id) is not None:
            await uow.rooms.remove_member(room_id, persona_id)
            seq = await uow.rooms.next_seq(room_id)
            event = RoomEvent(room_id=room_id, seq=seq, at=now, kind=EventKind.LEAVE,
                              persona_id=None, persona_name=DELETED, text="",
                              data={"reason": "deleted"})
            await uow.events.append(event)
            events.append(event)
    await uow.rooms.remove_invites_of(persona_id)
    await uow.personas.delete(persona_id)
    return events
