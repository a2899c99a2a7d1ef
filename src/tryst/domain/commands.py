"""Commands every door produces from its own wire format. Sessions execute them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tryst.domain.media import MediaCommand
from tryst.domain.scene_commands import SceneCommand


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


# ---------------------------------------------------------------- conversations


@dataclass(frozen=True, slots=True)
class SendRequest:
    """A first message to a persona: a message request."""

    to_persona_id: str
    text: str
    style: str = "say"
    confirm: tuple[str, ...] = ()  # safety warnings the sender has seen and sends anyway


@dataclass(frozen=True, slots=True)
class CreateGroup:
    persona_ids: tuple[str, ...]
    title: str = ""
    text: str | None = None


@dataclass(frozen=True, slots=True)
class InviteToConversation:
    conversation_id: str
    persona_id: str


@dataclass(frozen=True, slots=True)
class ListRequests:
    pass


@dataclass(frozen=True, slots=True)
class OpenRequest:
    conversation_id: str


@dataclass(frozen=True, slots=True)
class AcceptRequest:
    conversation_id: str


@dataclass(frozen=True, slots=True)
class DeclineRequest:
    conversation_id: str
    block: bool = False


@dataclass(frozen=True, slots=True)
class SendMessage:
    conversation_id: str
    text: str
    style: str = "say"
    confirm: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MarkRead:
    conversation_id: str
    seq: int


@dataclass(frozen=True, slots=True)
class SetTyping:
    conversation_id: str
    typing: bool


@dataclass(frozen=True, slots=True)
class ConfigureConversation:
    conversation_id: str
    changes: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class ClearConversation:
    conversation_id: str


@dataclass(frozen=True, slots=True)
class LeaveConversation:
    conversation_id: str


@dataclass(frozen=True, slots=True)
class ListConversations:
    pass


@dataclass(frozen=True, slots=True)
class ConversationHistory:
    conversation_id: str
    before: int | None = None
    limit: int = 50


# ---------------------------------------------------------------- boundaries


@dataclass(frozen=True, slots=True)
class BlockPersona:
    persona_id: str


@dataclass(frozen=True, slots=True)
class UnblockPersona:
    persona_id: str


@dataclass(frozen=True, slots=True)
class ListBlocks:
    pass


@dataclass(frozen=True, slots=True)
class MutePersona:
    persona_id: str
    minutes: int


@dataclass(frozen=True, slots=True)
class UnmutePersona:
    persona_id: str


@dataclass(frozen=True, slots=True)
class ListMutes:
    pass


@dataclass(frozen=True, slots=True)
class SetBoundaries:
    """Who may reach this persona, its filters, auto-reply and presence status."""

    changes: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class GetBoundaries:
    pass


@dataclass(frozen=True, slots=True)
class QueryPresence:
    persona_ids: tuple[str, ...]


PrivateCommand = (SendRequest | CreateGroup | InviteToConversation | ListRequests | OpenRequest
                  | AcceptRequest | DeclineRequest | SendMessage | MarkRead | SetTyping
                  | ConfigureConversation | ClearConversation | LeaveConversation
                  | ListConversations | ConversationHistory | BlockPersona | UnblockPersona
                  | ListBlocks | MutePersona | UnmutePersona | ListMutes | SetBoundaries
                  | GetBoundaries | QueryPresence)
AnyCommand = Command | PrivateCommand | SceneCommand | MediaCommand
