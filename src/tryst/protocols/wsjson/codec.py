"""Decode client frames into typed messages; encode server messages as JSON text.

Errors are ProtocolError with a documented code, and the client's ``id`` when it could
be read, so the client can match the error to what it sent."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from websockets.frames import Frame, Opcode

from tryst.protocols.wsjson.messages import MESSAGE_TYPES, ClientMessage

__all__ = ["PROTOCOL_VERSION", "ClientMessage", "ProtocolError", "decode_client_frame",
           "encode", "text_frame"]

PROTOCOL_VERSION = 1
_ADAPTER: TypeAdapter[Any] = TypeAdapter(ClientMessage)


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, *, id: str | None = None,
                 details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.id = id
        self.details = details or {}


def decode_client_frame(data: str | bytes, max_bytes: int) -> Any:
    """Parse one client frame. Raises ProtocolError: frame_too_large, bad_json,
    bad_message or unknown_type."""
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if size > max_bytes:
        raise ProtocolError("frame_too_large",
                            f"frames may be at most {max_bytes} bytes; this one was {size}",
                            details={"max_bytes": max_bytes})
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError("bad_json", f"the frame is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ProtocolError("bad_message", "a frame must be a JSON object")
    msg_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    if msg_id is not None and not 1 <= len(msg_id) <= 64:
        msg_id = None
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad_message", "the frame has no 'type'", id=msg_id)
    if kind not in MESSAGE_TYPES:
        raise ProtocolError("unknown_type", f"unknown message type {kind[:40]!r}", id=msg_id,
                            details={"known_types": list(MESSAGE_TYPES)})
    try:
        return _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in err["loc"][1:]) or "(frame)",
                     "problem": err["msg"]} for err in exc.errors(include_url=False)[:10]]
        raise ProtocolError("bad_message", f"the {kind} message is not valid",
                            id=msg_id, details={"errors": problems}) from None


def encode(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode()


def text_frame(message: dict[str, Any]) -> bytes:
    """A complete server-to-client WebSocket text frame (unmasked, RFC 6455) holding one
    message. Made once per event and shared by every recipient."""
    return Frame(Opcode.TEXT, orjson.dumps(message)).serialize(mask=False, extensions=[])
