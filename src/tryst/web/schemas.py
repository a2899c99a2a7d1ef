"""Request bodies of the HTTP API. Unknown fields are refused."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

Level = Literal["fave", "yes", "maybe", "no"]
Short = Annotated[StrictStr, Field(max_length=200)]
Password = Annotated[StrictStr, Field(max_length=4096)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterIn(_In):
    username: Annotated[StrictStr, Field(max_length=64)]
    password: Password
    confirm_adult: StrictBool = Field(
        description="The person confirms they are 18 or older (self-attestation provider).")
    age_evidence: dict[Short, Annotated[StrictStr, Field(max_length=4096)]] = Field(
        default_factory=dict, max_length=20,
        description="Extra fields for a stronger age-assurance provider, if configured.")
    session: Literal["token", "cookie"] = Field(
        "token", description="'token': a bearer token in the response body (API clients). "
        "'cookie': an HttpOnly cookie and no token in the body (browsers).")


class LoginIn(_In):
    username: Annotated[StrictStr, Field(max_length=64)]
    password: Password
    session: Literal["token", "cookie"] = "token"


class PasswordChangeIn(_In):
    current_password: Password
    new_password: Password


class DeleteAccountIn(_In):
    password: Password
    confirm: Literal["delete my account"] = Field(
        description="Type exactly 'delete my account': erasure cannot be undone.")


class PersonaIn(_In):
    name: Annotated[StrictStr, Field(max_length=200)]
    age: StrictInt
    short_description: Annotated[StrictStr, Field(max_length=2000)] = ""
    profile: Annotated[StrictStr, Field(max_length=100_000)] = ""
    pronouns: Annotated[StrictStr, Field(max_length=200)] = ""
    interests: dict[Annotated[StrictStr, Field(max_length=64)], Level] = Field(
        default_factory=dict, max_length=2000)
    hard_limits: list[Annotated[StrictStr, Field(max_length=2000)]] = Field(
        default_factory=list, max_length=500)
    adult_content: StrictBool = False


class PersonaPatch(_In):
    name: Annotated[StrictStr, Field(max_length=200)] | None = None
    age: StrictInt | None = None
    short_description: Annotated[StrictStr, Field(max_length=2000)] | None = None
    profile: Annotated[StrictStr, Field(max_length=100_000)] | None = None
    pronouns: Annotated[StrictStr, Field(max_length=200)] | None = None
    interests: dict[Annotated[StrictStr, Field(max_length=64)], Level] | None = Field(
        None, max_length=2000)
    hard_limits: list[Annotated[StrictStr, Field(max_length=2000)]] | None = Field(
        None, max_length=500)
    adult_content: StrictBool | None = None


Visibility = Literal["public", "unlisted", "invite_only"]
Rating = Literal["general", "mature", "adult"]
PersonaIdField = Annotated[StrictStr, Field(max_length=64, description="Acting persona.")]


class RoomIn(_In):
    persona_id: PersonaIdField
    name: Annotated[StrictStr, Field(max_length=200)]
    topic: Annotated[StrictStr, Field(max_length=2000)] = ""
    description: Annotated[StrictStr, Field(max_length=20_000)] = ""
    visibility: Visibility = "public"
    rating: Rating = "general"
    images: StrictBool = Field(False, description="Whether members may share images.")


class RoomPatch(_In):
    persona_id: PersonaIdField
    name: Annotated[StrictStr, Field(max_length=200)] | None = None
    topic: Annotated[StrictStr, Field(max_length=2000)] | None = None
    description: Annotated[StrictStr, Field(max_length=20_000)] | None = None
    visibility: Visibility | None = None
    rating: Rating | None = None
    images: StrictBool | None = None


class ActAs(_In):
    persona_id: PersonaIdField


class TargetIn(_In):
    persona_id: PersonaIdField
    target_persona_id: Annotated[StrictStr, Field(max_length=64)]


class RoleIn(TargetIn):
    role: Literal["owner", "moderator", "member"]


# ---------------------------------------------------------------- conversations

Id = Annotated[StrictStr, Field(min_length=1, max_length=64)]
Style = Literal["say", "pose", "ooc"]
MessageText = Annotated[StrictStr, Field(max_length=100_000)]  # the server's limit is lower


class RequestIn(ActAs):
    to: Id = Field(description="The persona to send a message request to.")
    text: MessageText
    style: Style = "say"


class GroupIn(ActAs):
    personas: Annotated[list[Id], Field(min_length=1, max_length=32)]
    title: Annotated[StrictStr, Field(max_length=400)] = ""
    text: MessageText | None = None


class DeclineIn(ActAs):
    block: StrictBool = Field(False, description="Also block the persona who asked.")


class MessageIn(ActAs):
    text: MessageText
    style: Style = "say"


class ReadIn(ActAs):
    seq: Annotated[StrictInt, Field(ge=0, le=2**53)]


class ConversationSettingsIn(ActAs):
    keep_days: Annotated[StrictInt, Field(ge=0, le=100_000)] | None = None
    typing: StrictBool | None = None
    receipts: StrictBool | None = None
    disappear_seconds: Annotated[StrictInt, Field(ge=0, le=10**9)] | None = None


class InviteIn(ActAs):
    target_persona_id: Id


class BlockIn(_In):
    persona_id: Id = Field(description="The persona to block (its whole account is blocked).")


class MuteIn(_In):
    persona_id: Id
    minutes: Annotated[StrictInt, Field(ge=1, le=366 * 24 * 60)]


class BoundariesPatch(_In):
    reach: Literal["anyone", "shared_room", "nobody"] | None = None
    refuse_limit_conflicts: StrictBool | None = None
    auto_reply: Annotated[StrictStr, Field(max_length=2000)] | None = None
    status: Literal["online", "looking", "busy", "dnd", "away"] | None = None
    status_message: Annotated[StrictStr, Field(max_length=1000)] | None = None
