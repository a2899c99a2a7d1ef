"""Every bad input a client can send over the WebSocket gets a clear, documented error;
the connection stays usable where that is safe; state is never corrupted."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from tests.client import Api, Ws
from tests.conftest import Running, ServerFactory


async def member_ws(srv: Running, name: str) -> tuple[Api, dict[str, Any], dict[str, Any], Ws]:
    api = await srv.user()
    persona = await api.new_persona(name)
    room = await api.new_room(persona["id"], f"{name} Room")
    ws = await Ws.connect(srv.base, api.token)
    await ws.hello(persona["id"])
    return api, persona, room, ws


async def still_usable(ws: Ws) -> None:
    assert (await ws.request("ping"))["type"] == "ack"


async def last_error(ws: Ws) -> dict[str, Any]:
    await ws.wait_for(lambda: ws.unmatched_errors)
    return ws.unmatched_errors.pop()


@pytest.mark.parametrize(("frame", "code"), [
    ("{not json", "bad_json"),
    ("", "bad_json"),
    ("[1, 2]", "bad_message"),
    ("42", "bad_message"),
    ('{"id": "x"}', "bad_message"),
    ('{"type": 7, "id": "x"}', "bad_message"),
])
async def test_unparseable_frames(server: Running, frame: str, code: str) -> None:
    _, _, _, ws = await member_ws(server, "Parser Test")
    await ws.send_raw(frame)
    if '"id": "x"' in frame:
        reply = await ws.wait_for(lambda: ws.replies.get("x"))
    else:
        reply = await last_error(ws)
        assert reply["id"] is None
    assert reply["type"] == "error" and reply["code"] == code and reply["message"]
    await still_usable(ws)
    await ws.close()


async def test_unknown_type_lists_the_known_ones(server: Running) -> None:
    _, _, _, ws = await member_ws(server, "Unknown Type")
    error = await ws.fail("shout", room="r_x", text="HEY")
    assert error["code"] == "unknown_type"
    assert "say" in error["details"]["known_types"]
    await still_usable(ws)
    await ws.close()


@pytest.mark.parametrize(("fields", "bad_field"), [
    ({}, "room"),  # missing room and text
    ({"room": "r_x"}, "text"),
    ({"room": "r_x", "text": 5}, "text"),
    ({"room": "r_x", "text": "hi", "colour": "red"}, "colour"),  # unknown fields refused
    ({"room": ["r_x"], "text": "hi"}, "room"),
])
async def test_schema_violations_name_the_field(server: Running, fields: dict[str, Any],
                                                bad_field: str) -> None:
    _, _, _, ws = await member_ws(server, "Schema Test")
    error = await ws.fail("say", **fields)
    assert error["code"] == "bad_message"
    assert bad_field in [e["field"] for e in error["details"]["errors"]]
    await still_usable(ws)
    await ws.close()


async def test_non_string_id_is_refused_without_echo(server: Running) -> None:
    _, _, _, ws = await member_ws(server, "Id Test")
    await ws.send_raw(json.dumps({"type": "ping", "id": 12}))
    error = await last_error(ws)
    assert error["code"] == "bad_message" and error["id"] is None
    await ws.send_raw(json.dumps({"type": "ping", "id": "i" * 65}))
    assert (await last_error(ws))["code"] == "bad_message"
    await still_usable(ws)
    await ws.close()


@pytest.mark.parametrize(("text", "problem"), [
    ("", "empty"), ("   \n  ", "empty"), ("bell\x07", "control"), ("x" * 4001, "longer"),
])
async def test_bad_message_text(server: Running, text: str, problem: str) -> None:
    _, _, room, ws = await member_ws(server, "Text Test")
    error = await ws.fail("say", room=room["id"], text=text)
    assert error["code"] == "invalid" and problem in error["message"]
    assert error["details"]["field"] == "text"
    history = await ws.ok("history", room=room["id"])
    assert [e["kind"] for e in history["events"]] == ["join"]  # nothing was stored
    await ws.close()


async def test_oversize_frame_soft_limit_keeps_connection(server_factory: ServerFactory) -> None:
    async with server_factory(max_frame_bytes=1024, hard_frame_bytes=8192) as srv:
        _, _, room, ws = await member_ws(srv, "Big Frame")
        await ws.send_raw(json.dumps({"type": "say", "id": "big", "room": room["id"],
                                      "text": "x" * 2000}))
        error = await last_error(ws)  # the id is not read from a frame that is too large
        assert error["code"] == "frame_too_large" and error["details"]["max_bytes"] == 1024
        await still_usable(ws)
        await ws.send_raw("y" * 10_000)  # past the hard limit: the server closes (1009)
        code, _ = await ws.wait_closed()
        assert code == 1009


async def test_binary_frames_are_refused(server: Running) -> None:
    _, _, _, ws = await member_ws(server, "Binary")
    await ws.send_raw(b'{"type": "ping", "id": "b"}')
    assert (await last_error(ws))["code"] == "binary_frame"
    await still_usable(ws)
    await ws.close()


async def test_hello_rules(server: Running) -> None:
    api = await server.user()
    ws = await Ws.connect(server.base, api.token)
    assert (await ws.fail("ping"))["code"] == "hello_required"
    assert (await ws.fail("hello", version=2))["code"] == "unsupported_version"
    await ws.hello()
    assert (await ws.fail("hello", version=1))["code"] == "already_authenticated"
    await ws.close()


async def test_hello_with_unknown_persona_keeps_connection(server: Running) -> None:
    api = await server.user()
    ws = await Ws.connect(server.base, api.token)
    assert (await ws.fail("hello", version=1, persona="p_nope"))["code"] == "not_found"
    persona = await api.new_persona("Second Try")
    await ws.ok("switch_persona", persona=persona["id"])
    await ws.close()


async def test_bad_or_missing_token_closes_with_4001(server: Running) -> None:
    for token in (None, "forged-token"):
        ws = await Ws.connect(server.base, token)
        error = await ws.fail("hello", version=1)
        assert error["code"] == "not_authenticated"
        assert (await ws.wait_closed())[0] == 4001


async def test_token_in_hello_works_without_header(server: Running) -> None:
    api = await server.user()
    ws = await Ws.connect(server.base, None)
    result = await ws.ok("hello", version=1, token=api.token)
    assert result["account"]["username"]
    await ws.close()


async def test_silent_connections_are_closed(server_factory: ServerFactory) -> None:
    async with server_factory(hello_timeout=0.3) as srv:
        api = await srv.user()
        ws = await Ws.connect(srv.base, api.token)
        assert (await ws.wait_closed())[0] == 4000


async def test_cross_site_websocket_is_refused(server: Running) -> None:
    api = await server.user()
    with pytest.raises(websockets.InvalidStatus) as err:
        await websockets.connect(server.base.replace("http", "ws") + "/ws",
                                 additional_headers={"cookie": f"tryst_session={api.token}"},
                                 origin="https://evil.example")  # type: ignore[arg-type]
    assert err.value.response.status_code == 403
    ok = await websockets.connect(server.base.replace("http", "ws") + "/ws",
                                  origin=server.base)  # type: ignore[arg-type]
    await ok.close()


async def test_message_flood_is_throttled_per_persona(server_factory: ServerFactory) -> None:
    async with server_factory(message_rate=1.0, message_burst=3) as srv:
        _, _, room, ws = await member_ws(srv, "Flooder")
        replies = [await ws.request("say", room=room["id"], text=f"m{i}") for i in range(6)]
        assert [r["type"] for r in replies[:3]] == ["ack"] * 3
        refused = replies[3]
        assert refused["code"] == "rate_limited" and refused["details"]["retry_after"] > 0
        history = await ws.ok("history", room=room["id"])
        assert [e["text"] for e in history["events"] if e["kind"] == "say"] == ["m0", "m1", "m2"]
        await asyncio.sleep(refused["details"]["retry_after"] + 0.05)
        await ws.ok("say", room=room["id"], text="after waiting")
        await ws.close()


async def test_command_flood_is_throttled_per_address(server_factory: ServerFactory) -> None:
    async with server_factory(address_rate=1.0, address_burst=40) as srv:
        _, _, _, ws = await member_ws(srv, "Address Flood")  # uses a few tokens
        codes = [(await ws.request("ping"))["type"] for _ in range(40)]
        assert "error" in codes
        refused = next(r for r in ws.replies.values() if r["type"] == "error")
        assert refused["code"] == "rate_limited"
        async with httpx.AsyncClient(base_url=srv.base) as http:
            response = await http.get("/api/v1/health")
        assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
        assert response.json()["error"]["code"] == "rate_limited"
        await ws.close()


async def test_login_attempts_are_throttled(server_factory: ServerFactory) -> None:
    async with server_factory(auth_rate_per_minute=1.0, auth_burst=3) as srv:
        async with httpx.AsyncClient(base_url=srv.base) as http:
            statuses = [(await http.post("/api/v1/sessions", json={
                "username": "nobody", "password": "guess number"})).status_code
                for _ in range(5)]
        assert statuses[:2] == [401, 401] and statuses[-1] == 429


async def test_connection_limit_per_account(server_factory: ServerFactory) -> None:
    async with server_factory(max_connections_per_account=2) as srv:
        api = await srv.user()
        first = await Ws.connect(srv.base, api.token)
        second = await Ws.connect(srv.base, api.token)
        await first.hello()
        await second.hello()
        third = await Ws.connect(srv.base, api.token)
        error = await third.fail("hello", version=1)
        assert error["code"] == "limit_reached" and error["details"]["limit"] == 2
        assert (await third.wait_closed())[0] == 4029
        await first.close()
        await asyncio.sleep(0.1)
        fourth = await Ws.connect(srv.base, api.token)
        await fourth.hello()  # a slot freed up
        await second.close()
        await fourth.close()


async def test_garbage_interleaved_with_messages_corrupts_nothing(server: Running) -> None:
    _, _, room, ws = await member_ws(server, "Mixed Input")
    acked = []
    for i in range(30):
        await ws.send_raw(["{", "[]", '{"type":"say"}', "\x00", '{"type":"nope","id":"z"}'][i % 5])
        acked.append((await ws.ok("say", room=room["id"], text=f"valid {i}"))["seq"])
    history = await ws.ok("history", room=room["id"], limit=200)
    says = [e for e in history["events"] if e["kind"] == "say"]
    assert [e["text"] for e in says] == [f"valid {i}" for i in range(30)]
    assert [e["seq"] for e in says] == acked
    seqs = [e["seq"] for e in history["events"]]
    assert seqs == list(range(1, len(seqs) + 1))  # contiguous, no holes, no repeats
    await ws.close()
