"""Minimal reference relay for bench/fanout.py: the baseline Tryst is compared with.

A bare ``websockets`` server: every frame a client sends is relayed, unchanged and
unparsed, to every connected client (the sender included) with
``websockets.asyncio.server.broadcast``. No rooms, no auth, no persistence, no JSON.

Two additions exist only so the benchmark can drive it like Tryst:
- each client gets ``{"type":"ack","id":"bench-ready"}`` once it is in the broadcast set,
  so the load generator knows no early message can miss it;
- ``GET /api/v1/health`` answers 200, the same readiness probe as Tryst's.

Run: ``python bench/reference_relay.py --port 8765 [--uvloop]``.
"""

from __future__ import annotations

import argparse
import asyncio
import http
import signal

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

READY_FRAME = '{"type":"ack","id":"bench-ready"}'

CLIENTS: set[ServerConnection] = set()


async def relay(ws: ServerConnection) -> None:
    """Add the connection to the broadcast set and relay each of its frames to everyone."""
    CLIENTS.add(ws)
    try:
        await ws.send(READY_FRAME)
        async for frame in ws:
            broadcast(CLIENTS, frame)
    finally:
        CLIENTS.discard(ws)


def health(_connection: ServerConnection, request: Request) -> Response | None:
    """Answer the readiness probe over plain HTTP; everything else goes on to the upgrade."""
    if request.path == "/api/v1/health":
        return Response(http.HTTPStatus.OK, "OK", Headers([("Content-Length", "3")]), b"ok\n")
    return None


async def main(host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM."""
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    # Defaults otherwise: the point is a relay anyone would write in ten lines.
    # compression=None only spells out what the load generator negotiates anyway.
    async with serve(relay, host, port, compression=None, process_request=health):
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--uvloop", action="store_true",
                        help="run on uvloop (as uvicorn[standard] does) instead of asyncio")
    args = parser.parse_args()
    if args.uvloop:
        import uvloop

        uvloop.run(main(args.host, args.port))
    else:
        asyncio.run(main(args.host, args.port))
