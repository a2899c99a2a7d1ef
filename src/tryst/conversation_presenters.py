"""Conversations and requests as JSON-ready data (HTTP API and WebSocket alike)."""

from __future__ import annotations

from typing import Any

from tryst import media_presenters, presenters, scene_presenters
from tryst.domain import commands as c
from tryst.domain import scene_commands as sc
from tryst.domain.conversations import Conversation
from tryst.domain.media import MediaCommand, PostImage, ViewMedia
from tryst.ids import conversation_stream
from tryst.services.conversations import ConversationView
from tryst.services.requests import IncomingRequest, RequestSent


def conversation_ref(c: Conversation) -> dict[str, Any]:
    return {"id": c.id, "kind": c.kind.value, "title": c.title,
            "stream": conversation_stream(c.id)}


def conversation(v: ConversationView) -> dict[str, Any]:
    c, me = v.conversation, v.mine
    return {
        **conversation_ref(c), "created_at": c.created_at.isoformat(), "last_seq": c.last_seq,
        "disappear_seconds": c.disappear_seconds, "keep_days": v.keep_days, "unread": v.unread,
        "me": {"persona_id": me.persona_id, "keep_days": me.keep_days, "typing": me.typing,
               "receipts": me.receipts, "last_read_seq": me.last_read_seq,
               "cleared_seq": me.cleared_seq},
        "members": [{"persona": presenters.persona_ref(m.persona), "state": m.state,
                     "presence": presenters.presence(m.online, m.status),
                     **({"last_read_seq": m.last_read_seq}
                        if m.last_read_seq is not None else {})}
                    for m in v.members],
    }


def request_sent(r: RequestSent) -> dict[str, Any]:
    """Always "pending": a decline, a block or a boundary look exactly like no answer."""
    return {"status": "pending", "conversation": conversation_ref(r.conversation),
            "last_seq": r.conversation.last_seq,
            "invited": [presenters.persona_ref(p) for p in r.invited],
            "auto_replies": [{"persona": presenters.persona_ref(p), "text": text}
                             for p, text in r.auto_replies]}


def incoming(r: IncomingRequest) -> dict[str, Any]:
    return {"conversation": conversation_ref(r.conversation),
            "from": presenters.persona_card(r.inviter),
            "requested_at": r.requested_at.isoformat(),
            "members": [presenters.persona_ref(p) for p in r.members]}


def render_private(command: c.PrivateCommand | sc.SceneCommand | MediaCommand,
                   result: Any) -> dict[str, Any]:
    """The ack's ``result`` for conversation, boundary and scene commands."""
    if isinstance(command, sc.SCENE_TYPES):
        return scene_presenters.render_scene(command, result)
    if isinstance(command, PostImage):
        return media_presenters.posted_event(result)
    if isinstance(command, ViewMedia):
        return media_presenters.media_view(result)
    match command:
        case c.SendRequest() | c.CreateGroup() | c.InviteToConversation():
            return request_sent(result)
        case c.ListRequests():
            return {"requests": [incoming(r) for r in result]}
        case c.OpenRequest():
            return {"event": presenters.conversation_event(result) if result else None}
        case c.AcceptRequest() | c.ConfigureConversation():
            return {"conversation": conversation(result)}
        case c.SendMessage():
            return {"stream": result.stream, "seq": result.seq}
        case c.MarkRead():
            return {"last_read_seq": result}
        case c.ClearConversation():
            return {"cleared_seq": result}
        case c.ListConversations():
            return {"conversations": [conversation(v) for v in result]}
        case c.ConversationHistory():
            events, next_before = result
            return {"events": [presenters.conversation_event(e) for e in events],
                    "next_before": next_before}
        case c.BlockPersona():
            return {"block": presenters.block(result)}
        case c.ListBlocks():
            return {"blocks": [presenters.block(b) for b in result]}
        case c.MutePersona():
            return {"mute": presenters.mute(result)}
        case c.ListMutes():
            return {"mutes": [presenters.mute(x) for x in result]}
        case c.SetBoundaries() | c.GetBoundaries():
            return {"boundaries": presenters.boundaries(result)}
        case c.QueryPresence():
            return {"presence": {pid: presenters.presence(online, b)
                                 for pid, (online, b) in result.items()}}
    return {}
