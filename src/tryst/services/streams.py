"""Appending to a room's stream: the one place that reserves a sequence number and
writes the event, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from tryst.domain.events import RoomEvent
from tryst.domain.rooms import EventKind
from tryst.ids import AccountId, PersonaId, RoomId
from tryst.ports import UnitOfWork


async def append_event(uow: UnitOfWork, room_id: RoomId, at: datetime, kind: EventKind, *,
                       persona_id: PersonaId | None = None, persona_name: str | None = None,
                       text: str = "", data: dict[str, object] | None = None,
                       account_id: AccountId | None = None) -> RoomEvent:
    seq = await uow.rooms.next_seq(room_id)
    event = RoomEvent(room_id=room_id, seq=seq, at=at, kind=kind, persona_id=persona_id,
                      persona_name=persona_name, text=text, data=data or {},
                      account_id=account_id)
    await uow.events.append(event)
    return event
