"""Events the services publish after commit. Doors render them; nothing here knows a wire."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tryst.domain.rooms import EventKind
from tryst.ids import PersonaId, RoomId, room_stream


@dataclass(frozen=True, slots=True)
class RoomEvent:
    """One entry in a room's stream, numbered by ``seq`` (1, 2, 3, ... per room)."""

    room_id: RoomId
    seq: int
    at: datetime
    kind: EventKind
    persona_id: PersonaId | None
    persona_name: str | None
    text: str
    data: dict[str, object] = field(default_factory=dict)

    @property
    def stream(self) -> str:
        return room_stream(self.room_id)


@dataclass(frozen=True, slots=True)
class Whisper:
    """A private line to one persona present in a room. Live only: never stored, never
    numbered, delivered to the two personas' connections and nobody else."""

    room_id: RoomId
    at: datetime
    from_id: PersonaId
    from_name: str
    to_id: PersonaId
    to_name: str
    text: str

    @property
    def stream(self) -> str:
        return room_stream(self.room_id)


Event = RoomEvent | Whisper
