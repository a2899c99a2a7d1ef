"""uvicorn's sans-I/O WebSocket protocol plus one ASGI extension, ``tryst.raw_socket``,
through which the WebSocket door writes already-framed bytes straight to the transport.

Why: fan-out is the hot path. Through plain ASGI every delivery costs a coroutine
send, a framing and a socket write (measured ~20 us per delivery, bench/fanout.py).
With this, an event is framed once for all recipients, and each connection gets one
write per event-loop pass carrying everything queued for it (ANCHORS: ~1M/s)."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

RAW_SOCKET = "tryst.raw_socket"


class RawSocket:
    """Write access to one WebSocket connection's transport, respecting flow control."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: TrystWebSocketProtocol) -> None:
        self._protocol = protocol

    @property
    def open(self) -> bool:
        p = self._protocol
        # (only attributes present since uvicorn 0.35, the oldest version allowed)
        return not (p.close_sent or p.transport.is_closing())

    @property
    def writable(self) -> bool:
        """False while the kernel and transport buffers are full (the peer is not reading)."""
        return self.open and self._protocol.tryst_writable.is_set()

    async def wait_writable(self) -> None:
        await self._protocol.tryst_writable.wait()

    def write(self, frames: bytes) -> None:
        """Write complete WebSocket frames (server frames are unmasked)."""
        if self.open:
            self._protocol.transport.write(frames)


class TrystWebSocketProtocol(WebSocketsSansIOProtocol):
    """Adds the raw-socket extension, and tracks the transport's flow control itself:
    only some uvicorn versions do, and it is what keeps a stalled reader's data from
    piling up in memory."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tryst_writable = asyncio.Event()
        self.tryst_writable.set()

    def pause_writing(self) -> None:
        self.tryst_writable.clear()
        super().pause_writing()

    def resume_writing(self) -> None:
        self.tryst_writable.set()
        super().resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.tryst_writable.set()  # wake anyone waiting; `open` is now False
        super().connection_lost(exc)

    async def run_asgi(self) -> None:
        extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
        extensions[RAW_SOCKET] = RawSocket(self)
        await super().run_asgi()
