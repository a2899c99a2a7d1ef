"""Real clients for tests: httpx for HTTP, websockets for the WebSocket protocol."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import httpx
import websockets

PASSWORD = "a long enough password"


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.code = body.get("error", {}).get("code")


class Api:
    """A logged-in (or anonymous) HTTP client."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.token = token
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.AsyncClient(base_url=base, headers=headers, timeout=30)

    async def close(self) -> None:
        await self.http.aclose()

    async def call(self, method: str, path: str, expect: int | None = None,
                   **kwargs: Any) -> Any:
        response = await self.http.request(method, "/api/v1" + path, **kwargs)
        body = response.json() if response.content else None
        if expect is not None:
            assert response.status_code == expect, (response.status_code, body)
        if response.status_code >= 400:
            raise ApiError(response.status_code, body or {})
        return body

    async def new_persona(self, name: str, **fields: Any) -> dict[str, Any]:
        fields.setdefault("age", 30)
        return await self.call("POST", "/personas", json={"name": name, **fields})

    async def new_room(self, persona_id: str, name: str, **fields: Any) -> dict[str, Any]:
        return await self.call("POST", "/rooms",
                               json={"persona_id": persona_id, "name": name, **fields})


async def register(base: str, username: str, password: str = PASSWORD) -> Api:
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.post("/api/v1/accounts", json={
            "username": username, "password": password, "confirm_adult": True})
        assert response.status_code == 201, response.text
        return Api(base, response.json()["token"])


def frames_to_messages(raw: str) -> list[dict[str, Any]]:
    data = json.loads(raw)
    return data if isinstance(data, list) else [data]


class Ws:
    """A WebSocket client that sorts what arrives into replies (by id) and events."""

    def __init__(self, conn: websockets.ClientConnection) -> None:
        self.conn = conn
        self.events: list[dict[str, Any]] = []
        self.replies: dict[str, dict[str, Any]] = {}
        self.reply_order: list[dict[str, Any]] = []
        self.unmatched_errors: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, base: str, token: str | None, **kwargs: Any) -> Ws:
        url = base.replace("http://", "ws://") + "/ws"
        headers = {"authorization": f"Bearer {token}"} if token else {}
        conn = await websockets.connect(url, additional_headers=headers, **kwargs)
        return cls(conn)

    async def _read(self) -> None:
        try:
            async for raw in self.conn:
                assert isinstance(raw, str)
                for msg in frames_to_messages(raw):
                    if msg["type"] in ("ack", "error") and msg.get("id"):
                        self.replies[msg["id"]] = msg
                        self.reply_order.append(msg)
                    elif msg["type"] == "error":
                        self.unmatched_errors.append(msg)
                    else:
                        self.events.append(msg)
                async with self._changed:
                    self._changed.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            async with self._changed:
                self._changed.notify_all()

    async def wait_for(self, predicate: Any, within: float = 10) -> Any:
        async def check() -> Any:
            async with self._changed:
                while True:
                    result = predicate()
                    if result:
                        return result
                    if self._reader.done():
                        raise AssertionError(
                            f"connection closed: {self.conn.close_code} {self.conn.close_reason}")
                    await self._changed.wait()

        return await asyncio.wait_for(check(), within)

    async def send_raw(self, data: str | bytes) -> None:
        await self.conn.send(data)

    async def request(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Send a command and return the whole reply (ack or error)."""
        msg_id = f"c{next(self._ids)}"
        await self.conn.send(json.dumps({"type": type_, "id": msg_id, **fields}))
        return await self.wait_for(lambda: self.replies.get(msg_id))  # type: ignore[no-any-return]

    async def ok(self, type_: str, **fields: Any) -> dict[str, Any]:
        reply = await self.request(type_, **fields)
        assert reply["type"] == "ack", reply
        return reply["result"]  # type: ignore[no-any-return]

    async def fail(self, type_: str, **fields: Any) -> dict[str, Any]:
        reply = await self.request(type_, **fields)
        assert reply["type"] == "error", reply
        return reply

    async def hello(self, persona: str | None = None, **fields: Any) -> dict[str, Any]:
        if persona is not None:
            fields["persona"] = persona
        return await self.ok("hello", version=1, **fields)

    def room_events(self, room_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("stream") == f"room:{room_id}"
                and e["type"] == "event" and (kind is None or e["kind"] == kind)]

    async def wait_event(self, room_id: str, kind: str, text: str | None = None,
                         within: float = 10) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            for e in self.room_events(room_id, kind):
                if text is None or e["text"] == text:
                    return e
            return None

        return await self.wait_for(find, within)  # type: ignore[no-any-return]

    async def wait_closed(self, within: float = 10) -> tuple[int, str]:
        """Wait for the server to close; returns the close code and reason it sent."""
        await asyncio.wait_for(asyncio.shield(self._reader), within)
        assert self.conn.close_code is not None
        return self.conn.close_code, self.conn.close_reason or ""

    async def close(self) -> None:
        await self.conn.close()
        self._reader.cancel()

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake, like a lost network."""
        self.conn.transport.abort()
        self._reader.cancel()
