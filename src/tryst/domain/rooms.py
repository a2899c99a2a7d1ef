"""Rooms: who may enter, who may do what, and what a message may be."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tryst.domain.errors import AdultOptInRequired, Forbidden, InvalidInput
from tryst.domain.text import clean_text
from tryst.ids import PersonaId, RoomId

DELETED = "[deleted]"  # stands in for an erased author's name and words
ROOM_NAME_MAX = 48
TOPIC_MAX = 300
DESCRIPTION_MAX = 4000


class Visibility(StrEnum):
    PUBLIC = "public"  # listed and open to any adult persona
    UNLISTED = "unlisted"  # open to anyone who knows its id, not listed
    INVITE_ONLY = "invite_only"  # only invited personas may join


class Rating(StrEnum):
    GENERAL = "general"
    MATURE = "mature"
    ADULT = "adult"


class RoomRole(StrEnum):
    OWNER = "owner"
    MODERATOR = "moderator"
    MEMBER = "member"

    @property
    def can_moderate(self) -> bool:
        return self is not RoomRole.MEMBER


class EventKind(StrEnum):
    """Kinds of event in a room's stream. Whispers are not stream events (see docs)."""

    SAY = "say"
    POSE = "pose"
    OOC = "ooc"
    SYSTEM = "system"  # notices from the server or a room moderator
    JOIN = "join"
    LEAVE = "leave"
    TOPIC = "topic"
    REDACTION = "redaction"  # earlier events were erased (account deletion, moderation)
    IMAGE = "image"  # an image (data.media), with an optional caption as text


SPOKEN_KINDS = frozenset({EventKind.SAY, EventKind.POSE, EventKind.OOC})
# What a mute hides: everything a persona says or shows.
MUTED_KINDS = SPOKEN_KINDS | {EventKind.IMAGE}


@dataclass(frozen=True, slots=True)
class Room:
    id: RoomId
    name: str
    topic: str
    description: str
    visibility: Visibility
    rating: Rating
    created_at: datetime
    last_seq: int
    images: bool = False  # whether members may share images here (off unless chosen)


@dataclass(frozen=True, slots=True)
class Membership:
    room_id: RoomId
    persona_id: PersonaId
    role: RoomRole
    joined_at: datetime


def validate_room_name(raw: str) -> str:
    name = " ".join(clean_text(raw, field="name", max_chars=ROOM_NAME_MAX,
                               multiline=False).split())
    if len(name) < 2:
        raise InvalidInput("room name must be at least 2 characters", details={"field": "name"})
    return name


def validate_topic(raw: str) -> str:
    return clean_text(raw, field="topic", max_chars=TOPIC_MAX, allow_empty=True, multiline=False)


def validate_description(raw: str) -> str:
    return clean_text(raw, field="description", max_chars=DESCRIPTION_MAX, allow_empty=True)


_STYLES = {"say": EventKind.SAY, "pose": EventKind.POSE, "ooc": EventKind.OOC}


def spoken_style(value: str) -> EventKind:
    """The kind of line a ``style`` field names: say, pose or ooc."""
    kind = _STYLES.get(value)
    if kind is None:
        raise InvalidInput("style must be say, pose or ooc", details={"field": "style"})
    return kind


def validate_message(raw: str, max_chars: int) -> str:
    return clean_text(raw, field="text", max_chars=max_chars)


def check_can_enter(room: Room, *, adult_opt_in: bool, invited: bool) -> None:
    """Raise unless a persona may join: invitation for invite-only rooms, and the persona's
    own opt-in for rooms rated adult (nobody is walked into adult content by default)."""
    if room.visibility is Visibility.INVITE_ONLY and not invited:
        raise Forbidden("this room is invite-only")
    if room.rating is Rating.ADULT and not adult_opt_in:
        raise AdultOptInRequired(
            "this room is rated adult: turn on adult content for this persona to enter"
        )


def check_can_moderate(role: RoomRole | None, *, staff: bool) -> None:
    if staff:
        return
    if role is None or not role.can_moderate:
        raise Forbidden("only the room's owners and moderators can do that")


def check_can_remove(actor: RoomRole | None, target: RoomRole | None, *, staff: bool) -> None:
    """Moderators may remove members; only owners may remove moderators or owners."""
    if staff:
        return
    check_can_moderate(actor, staff=False)
    if target is not None and target is not RoomRole.MEMBER and actor is not RoomRole.OWNER:
        raise Forbidden("only the room's owners can remove its moderators and owners")


def check_can_set_role(actor: RoomRole | None, *, staff: bool) -> None:
    if staff:
        return
    if actor is not RoomRole.OWNER:
        raise Forbidden("only the room's owners can change roles")


def is_listed(room: Room) -> bool:
    return room.visibility is Visibility.PUBLIC
