"""Domain objects as JSON-ready data: one shape for the HTTP API and the WebSocket,
so a client sees the same persona card or event whichever way it asked."""

from __future__ import annotations

from typing import Any

from tryst.domain.accounts import Account
from tryst.domain.blocks import Block, Mute
from tryst.domain.conversations import Boundaries
from tryst.domain.events import ConversationEvent, RoomEvent, Signal, Whisper
from tryst.domain.personas import Persona
from tryst.domain.rooms import Membership, Room
from tryst.domain.tags import TagVocabulary


def account(a: Account) -> dict[str, Any]:
    return {"id": a.id, "username": a.username, "role": a.role.value,
            "created_at": a.created_at.isoformat(),
            "age_assurance": {"result": a.age.result, "method": a.age.method,
                              "attested_at": a.age.attested_at.isoformat()}}


def persona_card(p: Persona) -> dict[str, Any]:
    """What anyone may see of a persona. Never the account: which personas share an
    account is known only to the account itself and to staff."""
    return {"id": p.id, "name": p.name, "age": p.age, "pronouns": p.pronouns,
            "short_description": p.short_description, "profile": p.profile,
            "interests": {k: v.value for k, v in sorted(p.interests.items())},
            "hard_limits": list(p.hard_limits), "adult_content": p.adult_content,
            "created_at": p.created_at.isoformat()}


def persona_ref(p: Persona) -> dict[str, Any]:
    return {"id": p.id, "name": p.name}


def room(r: Room, member_count: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": r.id, "name": r.name, "topic": r.topic,
                           "description": r.description, "visibility": r.visibility.value,
                           "rating": r.rating.value, "images": r.images,
                           "created_at": r.created_at.isoformat(),
                           "stream": f"room:{r.id}", "last_seq": r.last_seq}
    if member_count is not None:
        out["member_count"] = member_count
    return out


def membership(m: Membership) -> dict[str, Any]:
    return {"room_id": m.room_id, "persona_id": m.persona_id, "role": m.role.value,
            "joined_at": m.joined_at.isoformat()}


def room_event(e: RoomEvent | ConversationEvent) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "event", "stream": e.stream, "seq": e.seq, "at": e.at.isoformat(),
        "kind": e.kind.value,
        "persona": ({"id": e.persona_id, "name": e.persona_name} if e.persona_id
                    else {"id": None, "name": e.persona_name} if e.persona_name else None),
        "text": e.text,
    }
    if e.data:
        out["data"] = e.data
    return out


def whisper(w: Whisper) -> dict[str, Any]:
    return {"type": "whisper", "stream": w.stream, "room": w.room_id, "at": w.at.isoformat(),
            "from": {"id": w.from_id, "name": w.from_name},
            "to": {"id": w.to_id, "name": w.to_name}, "text": w.text}


def vocabulary(v: TagVocabulary) -> dict[str, Any]:
    return {"categories": [
        {"name": name, "tags": [{"id": t.id, "name": t.name, "description": t.description}
                                for t in tags]}
        for name, tags in v.categories().items()
    ]}


def conversation_event(e: ConversationEvent) -> dict[str, Any]:
    out = room_event(e)
    if e.expires_at is not None:
        out["expires_at"] = e.expires_at.isoformat()
    if e.tag is not None:
        out["tag"] = e.tag
    return out


def signal(s: Signal) -> dict[str, Any]:
    """Live-only notices: typing, read, presence, request."""
    out: dict[str, Any] = {"type": s.kind, "stream": s.stream, "at": s.at.isoformat(),
                           "persona": {"id": s.persona_id, "name": s.persona_name}}
    out.update(s.data)
    return out


def boundaries(b: Boundaries) -> dict[str, Any]:
    return {"persona_id": b.persona_id, "reach": b.reach.value,
            "refuse_limit_conflicts": b.refuse_limit_conflicts, "auto_reply": b.auto_reply,
            "status": b.status.value, "status_message": b.status_message}


def presence(online: bool, b: Boundaries) -> dict[str, Any]:
    if not online:
        return {"online": False, "status": "offline", "status_message": ""}
    return {"online": True, "status": b.status.value, "status_message": b.status_message}


def block(b: Block) -> dict[str, Any]:
    return {"persona": {"id": b.persona_id, "name": b.persona_name},
            "created_at": b.created_at.isoformat()}


def mute(m: Mute) -> dict[str, Any]:
    return {"persona": {"id": m.persona_id, "name": m.persona_name},
            "created_at": m.created_at.isoformat(), "until": m.until.isoformat()}
