"""Events the services publish after commit. Doors render them; nothing here knows a wire."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tryst.domain.rooms import EventKind
from tryst.ids import (
    AccountId,
    ConversationId,
    PersonaId,
    RoomId,
    conversation_stream,
    room_stream,
)


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
    # The author's account: never sent to clients, used to apply blocks. Filled in by
    # the service for live events and by a join when read back.
    account_id: AccountId | None = None

    @property
    def stream(self) -> str:
        return room_stream(self.room_id)


@dataclass(frozen=True, slots=True)
class ConversationEvent:
    """One entry in a conversation's stream, numbered like a room's."""

    conversation_id: ConversationId
    seq: int
    at: datetime
    kind: EventKind
    persona_id: PersonaId | None
    persona_name: str | None
    text: str
    data: dict[str, object] = field(default_factory=dict)
    account_id: AccountId | None = None
    expires_at: datetime | None = None

    @property
    def stream(self) -> str:
        return conversation_stream(self.conversation_id)


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
    from_account: AccountId | None = None

    @property
    def stream(self) -> str:
        return room_stream(self.room_id)


@dataclass(frozen=True, slots=True)
class Signal:
    """A live-only notice on a stream: typing, read receipts, presence, requests. Never
    stored or numbered. ``to`` limits it to some personas (None: every subscriber);
    ``account_id`` is the account it is about, so blocks apply to it like to messages."""

    stream: str
    kind: str
    at: datetime
    persona_id: PersonaId | None
    persona_name: str | None
    account_id: AccountId | None
    to: frozenset[PersonaId] | None
    data: dict[str, object] = field(default_factory=dict)


Event = RoomEvent | ConversationEvent | Whisper | Signal
NumberedEvent = RoomEvent | ConversationEvent
