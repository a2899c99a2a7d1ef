"""Client-to-server message schemas. Unknown fields are refused, so a typo in a field
name is an error the client sees, not a silently ignored instruction."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

Id = Annotated[StrictStr, Field(min_length=1, max_length=64)]
ObjectId = Annotated[StrictStr, Field(min_length=1, max_length=64)]
Text = StrictStr  # length is checked by the server's own limit, with a clearer error
# Sequence numbers stay within what JSON numbers carry exactly in every client (2^53).
Seq = Annotated[StrictInt, Field(ge=0, le=2**53)]
Resume = Annotated[dict[Annotated[StrictStr, Field(max_length=80)], Seq],
                   Field(max_length=1000)]


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: Id


class Hello(_Msg):
    type: Literal["hello"]
    version: StrictInt
    token: Annotated[StrictStr, Field(max_length=256)] | None = None
    persona: ObjectId | None = None
    resume: Resume = Field(default_factory=dict)


class SwitchPersona(_Msg):
    type: Literal["switch_persona"]
    persona: ObjectId
    resume: Resume = Field(default_factory=dict)


class Join(_Msg):
    type: Literal["join"]
    room: ObjectId


class Leave(_Msg):
    type: Literal["leave"]
    room: ObjectId


class Say(_Msg):
    type: Literal["say"]
    room: ObjectId
    text: Text


class Pose(_Msg):
    type: Literal["pose"]
    room: ObjectId
    text: Text


class Ooc(_Msg):
    type: Literal["ooc"]
    room: ObjectId
    text: Text


class Whisper(_Msg):
    type: Literal["whisper"]
    room: ObjectId
    to: ObjectId
    text: Text


class Notice(_Msg):
    type: Literal["notice"]
    room: ObjectId
    text: Text


class SetTopic(_Msg):
    type: Literal["set_topic"]
    room: ObjectId
    topic: Annotated[StrictStr, Field(max_length=2000)]


class Who(_Msg):
    type: Literal["who"]
    room: ObjectId


class History(_Msg):
    type: Literal["history"]
    room: ObjectId
    before: Annotated[StrictInt, Field(ge=1, le=2**53)] | None = None
    limit: Annotated[StrictInt, Field(ge=1, le=200)] = 50


class ListRooms(_Msg):
    type: Literal["list_rooms"]
    query: Annotated[StrictStr, Field(max_length=100)] | None = None
    limit: Annotated[StrictInt, Field(ge=1, le=200)] = 50
    offset: Annotated[StrictInt, Field(ge=0, le=100_000)] = 0


class Ping(_Msg):
    type: Literal["ping"]


# ---------------------------------------------------------------- conversations

Style = Literal["say", "pose", "ooc"]
# Safety warnings a sender confirms by sending again (docs/protocol.md §14).
Confirm = Annotated[list[Literal["personal_data", "off_platform"]], Field(max_length=2)]


class Request(_Msg):
    """A message request: the first message to a persona."""

    type: Literal["request"]
    to: ObjectId
    text: Text
    style: Style = "say"
    confirm: Confirm = Field(default_factory=list)


class CreateGroup(_Msg):
    type: Literal["create_group"]
    personas: Annotated[list[ObjectId], Field(min_length=1, max_length=32)]
    title: Annotated[StrictStr, Field(max_length=400)] = ""
    text: Text | None = None


class Invite(_Msg):
    type: Literal["invite"]
    conversation: ObjectId
    persona: ObjectId


class Requests(_Msg):
    type: Literal["requests"]


class OpenRequest(_Msg):
    type: Literal["open_request"]
    conversation: ObjectId


class Accept(_Msg):
    type: Literal["accept"]
    conversation: ObjectId


class Decline(_Msg):
    type: Literal["decline"]
    conversation: ObjectId
    block: StrictBool = False


class Send(_Msg):
    type: Literal["send"]
    conversation: ObjectId
    text: Text
    style: Style = "say"
    confirm: Confirm = Field(default_factory=list)


class Read(_Msg):
    type: Literal["read"]
    conversation: ObjectId
    seq: Seq


class Typing(_Msg):
    type: Literal["typing"]
    conversation: ObjectId
    typing: StrictBool


class ConversationSettings(_Msg):
    type: Literal["conversation_settings"]
    conversation: ObjectId
    keep_days: Annotated[StrictInt, Field(ge=0, le=100_000)] | None = None
    typing: StrictBool | None = None
    receipts: StrictBool | None = None
    disappear_seconds: Annotated[StrictInt, Field(ge=0, le=10**9)] | None = None


class Clear(_Msg):
    type: Literal["clear"]
    conversation: ObjectId


class LeaveConversation(_Msg):
    type: Literal["leave_conversation"]
    conversation: ObjectId


class Conversations(_Msg):
    type: Literal["conversations"]


class ConversationHistory(_Msg):
    type: Literal["conversation_history"]
    conversation: ObjectId
    before: Annotated[StrictInt, Field(ge=1, le=2**53)] | None = None
    limit: Annotated[StrictInt, Field(ge=1, le=200)] = 50


# ---------------------------------------------------------------- boundaries


class Block(_Msg):
    type: Literal["block"]
    persona: ObjectId


class Unblock(_Msg):
    type: Literal["unblock"]
    persona: ObjectId


class Blocks(_Msg):
    type: Literal["blocks"]


class Mute(_Msg):
    type: Literal["mute"]
    persona: ObjectId
    minutes: Annotated[StrictInt, Field(ge=1, le=366 * 24 * 60)]


class Unmute(_Msg):
    type: Literal["unmute"]
    persona: ObjectId


class Mutes(_Msg):
    type: Literal["mutes"]


class SetBoundaries(_Msg):
    type: Literal["set_boundaries"]
    reach: Literal["anyone", "shared_room", "nobody"] | None = None
    refuse_limit_conflicts: StrictBool | None = None
    auto_reply: Annotated[StrictStr, Field(max_length=2000)] | None = None
    status: Literal["online", "looking", "busy", "dnd", "away"] | None = None
    status_message: Annotated[StrictStr, Field(max_length=1000)] | None = None


class GetBoundaries(_Msg):
    type: Literal["boundaries"]


class Presence(_Msg):
    type: Literal["presence"]
    personas: Annotated[list[ObjectId], Field(min_length=1, max_length=200)]

# ---------------------------------------------------------------- scenes

ChannelName = Literal["text", "images", "camera", "device", "logging"]
Choices = Annotated[dict[ChannelName, StrictBool], Field(max_length=5)]
Minutes = Annotated[StrictInt, Field(ge=1, le=24 * 60)]
TagList = Annotated[list[Annotated[StrictStr, Field(max_length=64)]], Field(max_length=30)]


class _Card(_Msg):
    """A scene card and the sender's own answer to it (proposals and counter-proposals)."""

    title: Annotated[StrictStr, Field(max_length=400)]
    tags: TagList = Field(default_factory=list)
    channels: Annotated[list[ChannelName], Field(min_length=1, max_length=5)]
    choices: Choices | None = None
    minutes: Minutes | None = None


class ProposeScene(_Card):
    type: Literal["propose_scene"]
    personas: Annotated[list[ObjectId], Field(min_length=1, max_length=7)]


class AcceptScene(_Msg):
    type: Literal["accept_scene"]
    scene: ObjectId
    version: Annotated[StrictInt, Field(ge=1, le=2**31)]  # the card version read
    choices: Choices
    minutes: Minutes | None = None


class DeclineScene(_Msg):
    type: Literal["decline_scene"]
    scene: ObjectId


class CounterScene(_Card):
    type: Literal["counter_scene"]
    scene: ObjectId


class StartScene(_Msg):
    type: Literal["start_scene"]
    scene: ObjectId


class SceneSend(_Msg):
    type: Literal["scene_send"]
    scene: ObjectId
    text: Text
    style: Style = "say"


class Red(_Msg):
    """The safeword. Without ``scene``: every running scene of the account."""

    type: Literal["red"]
    scene: ObjectId | None = None


class Yellow(_Msg):
    type: Literal["yellow"]
    scene: ObjectId


class ResumeScene(_Msg):
    type: Literal["resume_scene"]
    scene: ObjectId


class LeaveScene(_Msg):
    type: Literal["leave_scene"]
    scene: ObjectId


class EndScene(_Msg):
    type: Literal["end_scene"]
    scene: ObjectId


class Grant(_Msg):
    type: Literal["grant"]
    scene: ObjectId
    channel: ChannelName
    minutes: Minutes | None = None


class Revoke(_Msg):
    type: Literal["revoke"]
    scene: ObjectId
    channel: ChannelName


class Scenes(_Msg):
    type: Literal["scenes"]


class Logs(_Msg):
    type: Literal["logs"]


class ExportLog(_Msg):
    type: Literal["export_log"]
    log: ObjectId
    format: Literal["text", "html"] = "text"


class WithdrawLog(_Msg):
    type: Literal["withdraw_log"]
    log: ObjectId


class FrankedLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sender: ObjectId
    stream: Annotated[StrictStr, Field(max_length=80)]
    seq: Seq
    at: Annotated[StrictStr, Field(max_length=40)]
    text: Annotated[StrictStr, Field(max_length=100_000)]
    tag: Annotated[StrictStr, Field(max_length=120)]


class VerifyMessages(_Msg):
    type: Literal["verify_messages"]
    messages: Annotated[list[FrankedLine], Field(min_length=1, max_length=100)]


class PostImage(_Msg):
    """Post an image uploaded with POST /api/v1/media in exactly one place."""

    type: Literal["post_image"]
    media: ObjectId
    room: ObjectId | None = None
    conversation: ObjectId | None = None
    scene: ObjectId | None = None
    caption: Text | None = None
    view_once: StrictBool = False


class ViewMedia(_Msg):
    type: Literal["view_media"]
    media: ObjectId
    reveal: StrictBool = False


ClientMessage = Annotated[
    Hello | SwitchPersona | Join | Leave | Say | Pose | Ooc | Whisper | Notice | SetTopic
    | Who | History | ListRooms | Ping | Request | CreateGroup | Invite | Requests | OpenRequest
    | Accept | Decline | Send | Read | Typing | ConversationSettings | Clear | LeaveConversation
    | Conversations | ConversationHistory | Block | Unblock | Blocks | Mute | Unmute | Mutes
    | SetBoundaries | GetBoundaries | Presence | ProposeScene | AcceptScene | DeclineScene
    | CounterScene | StartScene | SceneSend | Red | Yellow | ResumeScene | LeaveScene | EndScene
    | Grant | Revoke | Scenes | Logs | ExportLog | WithdrawLog | VerifyMessages | PostImage
    | ViewMedia,
    Field(discriminator="type"),
]

MESSAGE_TYPES = ("hello", "switch_persona", "join", "leave", "say", "pose", "ooc", "whisper",
                 "notice", "set_topic", "who", "history", "list_rooms", "ping", "request",
                 "create_group", "invite", "requests", "open_request", "accept", "decline",
                 "send", "read", "typing", "conversation_settings", "clear",
                 "leave_conversation", "conversations", "conversation_history", "block",
                 "unblock", "blocks", "mute", "unmute", "mutes", "set_boundaries",
                 "boundaries", "presence", "propose_scene", "accept_scene", "decline_scene",
                 "counter_scene", "start_scene", "scene_send", "red", "yellow", "resume_scene",
                 "leave_scene", "end_scene", "grant", "revoke", "scenes", "logs", "export_log",
                 "withdraw_log", "verify_messages", "post_image", "view_media")
