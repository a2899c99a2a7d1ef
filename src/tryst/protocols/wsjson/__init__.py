"""The JSON-over-WebSocket protocol, version 1 (docs/protocol.md)."""

from tryst.protocols.wsjson.codec import (
    PROTOCOL_VERSION,
    ClientMessage,
    ProtocolError,
    decode_client_frame,
    encode,
    text_frame,
)

__all__ = ["PROTOCOL_VERSION", "ClientMessage", "ProtocolError", "decode_client_frame",
           "encode", "text_frame"]
