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
    scene_stream,
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
    # The server's franking tag on a persona's message (see services/franking.py).
    tag: str | None = None

    @property
    def stream(self) -> str:
        return conversation_stream(self.conversation_id)


@dataclass(frozen=True, slots=True)
class SceneEvent:
    """One entry in a scene's stream. Held in memory only (and in an encrypted log when
    every participant agreed to logging). ``to`` is decided when the event is built,
    from the grants in force at that moment: nobody outside it receives the event, live
    or on resume. ``channel`` is set on content (text, images, ...), None on the
    scene's own notices (proposals, red, resume, leaving), which go to every
    participant. ``follow``/``unfollow`` tell connections to start or stop following
    the stream."""

    scene_id: str
    seq: int
    at: datetime
    kind: str
    persona_id: PersonaId | None
    persona_name: str | None
    text: str
    to: frozenset[PersonaId]
    data: dict[str, object] = field(default_factory=dict)
    account_id: AccountId | None = None
    channel: str | None = None
    tag: str | None = None
    follow: frozenset[PersonaId] = frozenset()
    unfollow: frozenset[PersonaId] = frozenset()

    @property
    def stream(self) -> str:
        return scene_stream(self.scene_id)


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


Event = RoomEvent | ConversationEvent | SceneEvent | Whisper | Signal
NumberedEvent = RoomEvent | ConversationEvent | SceneEvent
