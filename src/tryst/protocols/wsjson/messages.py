"""Client-to-server message schemas. Unknown fields are refused, so a typo in a field
name is an error the client sees, not a silently ignored instruction."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

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


ClientMessage = Annotated[
    Hello | SwitchPersona | Join | Leave | Say | Pose | Ooc | Whisper | Notice | SetTopic
    | Who | History | ListRooms | Ping,
    Field(discriminator="type"),
]

MESSAGE_TYPES = ("hello", "switch_persona", "join", "leave", "say", "pose", "ooc", "whisper",
                 "notice", "set_topic", "who", "history", "list_rooms", "ping")
