"""Rules found missing in review: each has a test that fails without its fix."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.client import Api, ApiError, Ws
from tests.conftest import Running, ServerFactory


async def persona_ws(srv: Running, name: str) -> tuple[Api, dict[str, Any], Ws]:
    api = await srv.user()
    persona = await api.new_persona(name)
    ws = await Ws.connect(srv.base, api.token)
    await ws.hello(persona["id"])
    return api, persona, ws


async def test_deleting_a_persona_cuts_its_live_connections(server: Running) -> None:
    owner_api, owner, ows = await persona_ws(server, "Parlour Host")
    room = await owner_api.new_room(owner["id"], "Closed Parlour", visibility="invite_only")
    guest_api, guest, gws = await persona_ws(server, "Departing Guest")
    await owner_api.call("POST", f"/rooms/{room['id']}/invites",
                         json={"persona_id": owner["id"], "target_persona_id": guest["id"]})
    await gws.ok("join", room=room["id"])
    other = await guest_api.new_persona("Departing Other")  # same account, not deleted
    other_ws = await Ws.connect(server.base, guest_api.token)
    await other_ws.hello(other["id"])
    # Delete the persona from another connection (HTTP), while gws still acts as it.
    await guest_api.call("DELETE", f"/personas/{guest['id']}", expect=204)
    assert await gws.wait_closed() == (4002, "persona deleted")
    await ows.ok("say", room=room["id"], text="after you left")
    await ows.wait_event(room["id"], "say", "after you left")
    assert "after you left" not in json.dumps(gws.events)
    assert (await other_ws.request("ping"))["type"] == "ack"  # the account's other persona
    for ws in (ows, other_ws):
        await ws.close()


async def test_patch_with_null_is_refused_and_changes_nothing(server: Running) -> None:
    api = await server.user()
    persona = await api.new_persona("Null Test", adult_content=True)
    room = await api.new_room(persona["id"], "Null Room", topic="kept")
    for path, body in ((f"/personas/{persona['id']}", {"name": None, "adult_content": None}),
                       (f"/rooms/{room['id']}", {"persona_id": persona["id"], "topic": None})):
        response = await api.http.patch("/api/v1" + path, json=body)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid"
    card = await api.call("GET", f"/personas/{persona['id']}")
    assert (card["name"], card["adult_content"]) == ("Null Test", True)
    again = await api.call("GET", f"/rooms/{room['id']}", params={"persona_id": persona["id"]})
    assert again["topic"] == "kept"


async def test_kick_rules_and_invitations(server: Running) -> None:
    owner_api, owner, _ = await persona_ws(server, "Strict Owner")
    room = await owner_api.new_room(owner["id"], "Strict Room", visibility="invite_only")
    people = {}
    for name in ("Strict Mod", "Strict Mod Two", "Strict Member"):
        api, persona, ws = await persona_ws(server, name)
        await owner_api.call("POST", f"/rooms/{room['id']}/invites", json={
            "persona_id": owner["id"], "target_persona_id": persona["id"]})
        await ws.ok("join", room=room["id"])
        people[name] = (api, persona, ws)
    for name in ("Strict Mod", "Strict Mod Two"):
        await owner_api.call("POST", f"/rooms/{room['id']}/roles", json={
            "persona_id": owner["id"], "target_persona_id": people[name][1]["id"],
            "role": "moderator"})
    mod_api, mod, _ = people["Strict Mod"]
    for target in (owner, people["Strict Mod Two"][1]):
        with pytest.raises(ApiError) as err:
            await mod_api.call("POST", f"/rooms/{room['id']}/kick", json={
                "persona_id": mod["id"], "target_persona_id": target["id"]})
        assert err.value.code == "forbidden"
    _, member, member_ws = people["Strict Member"]
    await mod_api.call("POST", f"/rooms/{room['id']}/kick", expect=204, json={
        "persona_id": mod["id"], "target_persona_id": member["id"]})
    await member_ws.wait_event(room["id"], "leave")
    # The kick took the invitation back: the room is invisible again.
    assert (await member_ws.fail("join", room=room["id"]))["code"] == "not_found"
    # The last owner cannot step down and leave the room ownerless.
    with pytest.raises(ApiError) as err:
        await owner_api.call("POST", f"/rooms/{room['id']}/roles", json={
            "persona_id": owner["id"], "target_persona_id": owner["id"], "role": "member"})
    assert err.value.code == "conflict"
    await owner_api.call("POST", f"/rooms/{room['id']}/roles", json={
        "persona_id": owner["id"], "target_persona_id": mod["id"], "role": "owner"})
    await owner_api.call("POST", f"/rooms/{room['id']}/roles", json={
        "persona_id": owner["id"], "target_persona_id": owner["id"], "role": "member"})


async def test_invalid_frames_do_not_extend_the_hello_deadline(
        server_factory: ServerFactory) -> None:
    async with server_factory(hello_timeout=1.0) as srv:
        api = await srv.user()
        ws = await Ws.connect(srv.base, api.token)
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(6):
            if ws.conn.close_code is not None:
                break
            await ws.send_raw("{nonsense")
            await asyncio.sleep(0.3)
        code, _ = await ws.wait_closed()
        assert code == 4000 and loop.time() - started < 2.0


async def test_renamed_persona_is_named_correctly_on_open_connections(server: Running) -> None:
    owner_api, owner, ows = await persona_ws(server, "Name Room Owner")
    room = await owner_api.new_room(owner["id"], "Rename Room", visibility="public")
    api, persona, ws = await persona_ws(server, "Old Name")
    await api.call("PATCH", f"/personas/{persona['id']}", json={"name": "New Name"})
    await ws.ok("join", room=room["id"])  # this connection still holds the old copy
    joined = await ows.wait_for(lambda: [e for e in ows.room_events(room["id"], "join")
                                         if e["persona"]["id"] == persona["id"]])
    assert joined[0]["persona"]["name"] == "New Name"
    await ws.ok("whisper", room=room["id"], to=owner["id"], text="psst")
    whisper = await ows.wait_for(lambda: [e for e in ows.events if e["type"] == "whisper"])
    assert whisper[0]["from"]["name"] == "New Name"
    await ws.close()
    await ows.close()


async def test_failed_persona_in_hello_says_the_connection_is_authenticated(
        server: Running) -> None:
    api = await server.user()
    ws = await Ws.connect(server.base, api.token)
    error = await ws.fail("hello", version=1, persona="p_missing")
    assert error["code"] == "not_found" and error["details"]["authenticated"] is True
    await ws.close()
