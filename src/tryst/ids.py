"""Typed identifiers. Ids are random so that nothing about an account leaks through them
(sequential persona ids would let anyone guess which personas were made together)."""

from __future__ import annotations

import secrets
from typing import NewType

AccountId = NewType("AccountId", str)
PersonaId = NewType("PersonaId", str)
RoomId = NewType("RoomId", str)
ConversationId = NewType("ConversationId", str)


def _new(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def new_account_id() -> AccountId:
    return AccountId(_new("a"))


def new_persona_id() -> PersonaId:
    return PersonaId(_new("p"))


def new_room_id() -> RoomId:
    return RoomId(_new("r"))


def room_stream(room_id: RoomId) -> str:
    """Name of a room's event stream: streams are what sequence numbers count in."""
    return f"room:{room_id}"


def new_conversation_id() -> ConversationId:
    return ConversationId(_new("c"))


def conversation_stream(conversation_id: ConversationId) -> str:
    """Name of a conversation's event stream (numbered like a room's)."""
    return f"conv:{conversation_id}"


def inbox_stream(persona_id: PersonaId) -> str:
    """A persona's live-only stream: message requests and invitations as they arrive."""
    return f"inbox:{persona_id}"


SceneId = NewType("SceneId", str)


def new_scene_id() -> SceneId:
    return SceneId(_new("s"))


def scene_stream(scene_id: str) -> str:
    """Name of a scene's stream: numbered like a room's, but held only in memory."""
    return f"scene:{scene_id}"
