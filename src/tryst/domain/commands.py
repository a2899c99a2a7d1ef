"""Commands every door produces from its own wire format. Sessions execute them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SelectPersona:
    """Act as this persona from now on; ``resume`` maps stream names to the last sequence
    number the client holds, for exactly-once catch-up."""

    persona_id: str
    resume: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JoinRoom:
    room_id: str


@dataclass(frozen=True, slots=True)
class LeaveRoom:
    room_id: str


@dataclass(frozen=True, slots=True)
class Say:
    room_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Pose:
    room_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Ooc:
    room_id: str
    text: str


@dataclass(frozen=True, slots=True)
class SendWhisper:
    room_id: str
    to_persona_id: str
    text: str


@dataclass(frozen=True, slots=True)
class PostNotice:
    room_id: str
    text: str


@dataclass(frozen=True, slots=True)
class SetTopic:
    room_id: str
    topic: str


@dataclass(frozen=True, slots=True)
class Who:
    room_id: str


@dataclass(frozen=True, slots=True)
class History:
    room_id: str
    before: int | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class ListRooms:
    query: str | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Ping:
    pass


Command = (SelectPersona | JoinRoom | LeaveRoom | Say | Pose | Ooc | SendWhisper | PostNotice
           | SetTopic | Who | History | ListRooms | Ping)
