"""JSON shapes for images, shared by the WebSocket door and the HTTP API."""

from __future__ import annotations

from typing import Any

from tryst.domain.events import ConversationEvent, RoomEvent, SceneEvent
from tryst.services.media import View, descriptor


def media_view(view: View) -> dict[str, Any]:
    return {"url": view.url, "blurred": view.blurred, "view_once": view.view_once,
            "expires_at": view.expires_at.isoformat(),
            "media": descriptor(view.media, view.view_once)}


def posted_event(event: RoomEvent | ConversationEvent | SceneEvent) -> dict[str, Any]:
    return {"stream": event.stream, "seq": event.seq}
