"""Rooms over real HTTP and WebSocket: visibility, ratings, roles, talking, whispers,
history and retention."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.client import Api, ApiError, Ws
from tests.conftest import Running, ServerFactory
from tests.fakes.clock import FakeClock


async def persona_ws(srv: Running, name: str, **fields: Any) -> tuple[Api, dict[str, Any], Ws]:
    api = await srv.user()
    persona = await api.new_persona(name, **fields)
    ws = await Ws.connect(srv.base, api.token)
    await ws.hello(persona["id"])
    return api, persona, ws


async def test_listing_shows_public_rooms_only_and_searches(server: Running) -> None:
    api = await server.user()
    p = await api.new_persona("Lister")
    await api.new_room(p["id"], "Moonlit Garden", topic="Evening walks")
    await api.new_room(p["id"], "Hidden Cellar", visibility="unlisted")
    await api.new_room(p["id"], "Secret Attic", visibility="invite_only")
    await api.new_room(p["id"], "Sunny Patio", topic="Breakfast talk")
    names = [r["name"] for r in (await api.call("GET", "/rooms"))["rooms"]]
    assert names == ["Moonlit Garden", "Sunny Patio"]
    found = await api.call("GET", "/rooms", params={"q": "breakfast"})
    assert [r["name"] for r in found["rooms"]] == ["Sunny Patio"]
    assert (await api.call("GET", "/rooms", params={"q": "%"}))["rooms"] == []
    assert found["rooms"][0]["member_count"] == 1
    with pytest.raises(ApiError) as err:
        await api.new_room(p["id"], "moonlit garden")
    assert err.value.code == "conflict"


async def test_unlisted_rooms_are_joinable_by_id(server: Running) -> None:
    owner = await server.user()
    o = await owner.new_persona("Unlisted Owner")
    room = await owner.new_room(o["id"], "Back Room", visibility="unlisted")
    _, _, ws = await persona_ws(server, "Guest With Link")
    joined = await ws.ok("join", room=room["id"])
    assert joined["created"] is True and joined["membership"]["role"] == "member"
    again = await ws.ok("join", room=room["id"])
    assert again["created"] is False  # joining twice is harmless
    await ws.close()


async def test_invite_only_rooms_are_invisible_until_invited(server: Running) -> None:
    owner = await server.user()
    o = await owner.new_persona("Host Person")
    room = await owner.new_room(o["id"], "Private Parlour", visibility="invite_only")
    guest_api, guest, ws = await persona_ws(server, "Invited Guest")
    refused = await ws.fail("join", room=room["id"])
    missing = await ws.fail("join", room="r_0000000000000000")
    assert refused["code"] == missing["code"] == "not_found"  # no existence oracle
    with pytest.raises(ApiError):
        await guest_api.call("GET", f"/rooms/{room['id']}", params={"persona_id": guest["id"]})
    await owner.call("POST", f"/rooms/{room['id']}/invites",
                     json={"persona_id": o["id"], "target_persona_id": guest["id"]}, expect=201)
    joined = await ws.ok("join", room=room["id"])
    assert joined["room"]["visibility"] == "invite_only"
    await ws.close()


async def test_adult_rooms_need_the_personas_opt_in(server: Running) -> None:
    owner = await server.user()
    o = await owner.new_persona("Adult Host", adult_content=True)
    room = await owner.new_room(o["id"], "After Hours", rating="adult")
    api, persona, ws = await persona_ws(server, "Careful Guest")
    error = await ws.fail("join", room=room["id"])
    assert error["code"] == "adult_opt_in_required"
    await api.call("PATCH", f"/personas/{persona['id']}", json={"adult_content": True})
    await ws.ok("switch_persona", persona=persona["id"])  # pick up the changed persona
    await ws.ok("join", room=room["id"])
    no_opt_in = await server.user()
    p = await no_opt_in.new_persona("No Opt In")
    with pytest.raises(ApiError) as err:
        await no_opt_in.new_room(p["id"], "Adult Attempt", rating="adult")
    assert err.value.code == "adult_opt_in_required"
    await ws.close()


async def test_say_pose_ooc_reach_every_member_in_order(server: Running) -> None:
    owner_api, owner, ows = await persona_ws(server, "Narrator")
    room = await owner_api.new_room(owner["id"], "Story Room")
    _, _, gws = await persona_ws(server, "Listener")
    await gws.ok("join", room=room["id"])
    await ows.wait_event(room["id"], "join")
    acks = [await ows.ok(kind, room=room["id"], text=text) for kind, text in
            [("say", "Good evening."), ("pose", "lights a lantern."), ("ooc", "brb 5")]]
    await gws.wait_event(room["id"], "ooc", "brb 5")
    got = [(e["kind"], e["text"], e["seq"]) for e in gws.room_events(room["id"])
           if e["kind"] in ("say", "pose", "ooc")]
    assert got == [("say", "Good evening.", acks[0]["seq"]),
                   ("pose", "lights a lantern.", acks[1]["seq"]),
                   ("ooc", "brb 5", acks[2]["seq"])]
    assert all(e["persona"]["name"] == "Narrator" for e in gws.room_events(room["id"], "say"))
    await ows.close()
    await gws.close()


async def test_whisper_reaches_only_the_target(server: Running) -> None:
    api, sender, sws = await persona_ws(server, "Whisperer")
    room = await api.new_room(sender["id"], "Quiet Hall")
    _, target, tws = await persona_ws(server, "Whisper Target")
    _, _, bws = await persona_ws(server, "Bystander")
    await tws.ok("join", room=room["id"])
    await bws.ok("join", room=room["id"])
    result = await sws.ok("whisper", room=room["id"], to=target["id"], text="meet at dawn")
    assert result["delivered"] is True
    got = await tws.wait_for(lambda: [e for e in tws.events if e["type"] == "whisper"])
    assert got[0]["text"] == "meet at dawn" and got[0]["from"]["name"] == "Whisperer"
    await sws.wait_for(lambda: [e for e in sws.events if e["type"] == "whisper"])  # echo
    await bws.ok("say", room=room["id"], text="marker")  # everything before it has arrived
    await bws.wait_event(room["id"], "say", "marker")
    assert not [e for e in bws.events if e["type"] == "whisper"]
    assert "meet at dawn" not in str(bws.events)
    history = await bws.ok("history", room=room["id"])
    assert "meet at dawn" not in str(history)  # never stored
    await tws.close()
    await tws.wait_closed()
    gone = await sws.fail("whisper", room=room["id"], to=target["id"], text="still there?")
    assert gone["code"] == "not_found"  # only to personas present now
    for ws in (sws, bws):
        await ws.close()


async def test_roles_topic_notice_and_kick(server: Running) -> None:
    api, owner, ows = await persona_ws(server, "Room Owner")
    room = await api.new_room(owner["id"], "Governed Room")
    _, mod, mws = await persona_ws(server, "Future Mod")
    _, member, xws = await persona_ws(server, "Plain Member")
    for ws in (mws, xws):
        await ws.ok("join", room=room["id"])
    assert (await xws.fail("set_topic", room=room["id"], topic="mine"))["code"] == "forbidden"
    assert (await xws.fail("notice", room=room["id"], text="hear ye"))["code"] == "forbidden"
    with pytest.raises(ApiError) as err:
        await api.call("POST", f"/rooms/{room['id']}/roles", json={
            "persona_id": owner["id"], "target_persona_id": "p_0000000000000000",
            "role": "moderator"})
    assert err.value.code == "not_member"
    await api.call("POST", f"/rooms/{room['id']}/roles", json={
        "persona_id": owner["id"], "target_persona_id": mod["id"], "role": "moderator"})
    result = await mws.ok("set_topic", room=room["id"], topic="Be kind")
    assert result["room"]["topic"] == "Be kind"
    topic = await xws.wait_event(room["id"], "topic")
    assert topic["text"] == "Be kind"
    await mws.ok("notice", room=room["id"], text="Quiet hours start at ten.")
    await xws.wait_event(room["id"], "system", "Quiet hours start at ten.")
    who = await xws.ok("who", room=room["id"])
    roles = {m["persona"]["name"]: (m["role"], m["online"]) for m in who["members"]}
    assert roles == {"Room Owner": ("owner", True), "Future Mod": ("moderator", True),
                     "Plain Member": ("member", True)}
    await mws.ok("notice", room=room["id"], text="kicking now")
    mod_api_kick = await mws.request("ping")
    assert mod_api_kick["type"] == "ack"
    await api.call("POST", f"/rooms/{room['id']}/kick", expect=204, json={
        "persona_id": owner["id"], "target_persona_id": member["id"]})
    leave = await xws.wait_event(room["id"], "leave")
    assert leave["data"] == {"reason": "kicked"}
    assert (await xws.fail("say", room=room["id"], text="hello?"))["code"] == "not_member"
    await ows.ok("say", room=room["id"], text="after the kick")
    await mws.wait_event(room["id"], "say", "after the kick")
    assert not xws.room_events(room["id"], "say")  # nothing reaches them after leaving
    for ws in (ows, mws, xws):
        await ws.close()


async def test_who_shows_offline_members(server: Running) -> None:
    api, owner, ows = await persona_ws(server, "Who Owner")
    room = await api.new_room(owner["id"], "Who Room")
    _, _, gws = await persona_ws(server, "Who Guest")
    await gws.ok("join", room=room["id"])
    await gws.close()
    await gws.wait_closed()
    await asyncio.sleep(0.1)  # the server notices the close
    who = await ows.ok("who", room=room["id"])
    assert {m["persona"]["name"]: m["online"] for m in who["members"]} == {
        "Who Owner": True, "Who Guest": False}
    await ows.close()


async def test_history_pages_backwards(server: Running) -> None:
    api, owner, ws = await persona_ws(server, "Historian")
    room = await api.new_room(owner["id"], "Archive")
    for i in range(12):
        await ws.ok("say", room=room["id"], text=f"line {i}")
    page = await api.call("GET", f"/rooms/{room['id']}/events",
                          params={"persona_id": owner["id"], "limit": 5})
    assert [e["text"] for e in page["events"]] == [f"line {i}" for i in range(7, 12)]
    older = await api.call("GET", f"/rooms/{room['id']}/events", params={
        "persona_id": owner["id"], "limit": 5, "before": page["next_before"]})
    assert [e["text"] for e in older["events"]] == [f"line {i}" for i in range(2, 7)]
    ws_page = await ws.ok("history", room=room["id"], before=older["next_before"], limit=5)
    assert [e["kind"] for e in ws_page["events"]] == ["join", "say", "say"]
    outsider = await server.user()
    o = await outsider.new_persona("Outsider")
    with pytest.raises(ApiError) as err:
        await outsider.call("GET", f"/rooms/{room['id']}/events", params={"persona_id": o["id"]})
    assert err.value.code == "not_member"
    await ws.close()


async def test_history_older_than_retention_is_purged(server_factory: ServerFactory) -> None:
    clock = FakeClock()
    async with server_factory(clock=clock, retention_days=7) as srv:
        api, owner, ws = await persona_ws(srv, "Keeper")
        room = await api.new_room(owner["id"], "Retained")
        await ws.ok("say", room=room["id"], text="old news")
        clock.advance(6 * 86400)
        await ws.ok("say", room=room["id"], text="recent news")
        page = await ws.ok("history", room=room["id"])
        assert [e["text"] for e in page["events"]] == ["", "old news", "recent news"]
        clock.advance(1.5 * 86400)  # wakes the server's retention task

        async def history_texts() -> list[str]:
            page = await ws.ok("history", room=room["id"])
            return [e["text"] for e in page["events"]]

        for _ in range(100):
            if await history_texts() == ["recent news"]:
                break
            # The task may have been mid-purge when time jumped; its next minute's sleep
            # then starts after the jump, so keep time moving until it runs again.
            clock.advance(61)
            await asyncio.sleep(0.05)
        assert await history_texts() == ["recent news"]  # the join and "old news" went
        assert await srv.tryst.rooms.purge_expired() == 0
        await ws.close()


async def test_rooms_per_persona_limit(server_factory: ServerFactory) -> None:
    async with server_factory(max_rooms_per_persona=2) as srv:
        api, persona, ws = await persona_ws(srv, "Busy Bee")
        await api.new_room(persona["id"], "First Room")
        other_api = await srv.user()
        other = await other_api.new_persona("Other Owner")
        second = await other_api.new_room(other["id"], "Second Room")
        third = await other_api.new_room(other["id"], "Third Room")
        await ws.ok("join", room=second["id"])
        error = await ws.fail("join", room=third["id"])
        assert error["code"] == "limit_reached" and error["details"]["limit"] == 2
        await ws.ok("leave", room=second["id"])
        await ws.ok("join", room=third["id"])
        await ws.close()


async def test_pipelined_lines_keep_their_order_and_replies_arrive_in_order(
        server: Running) -> None:
    api, owner, ws = await persona_ws(server, "Fast Typist")
    room = await api.new_room(owner["id"], "Pipeline Room")
    sent: list[str] = []
    for i in range(40):  # send everything without waiting for a single reply
        frame: dict[str, Any] = {"type": "say", "id": f"p{i}", "room": room["id"],
                                 "text": f"line {i}"}
        if i == 13:
            frame = {"type": "say", "id": "p13", "room": room["id"], "text": ""}  # invalid
        if i == 20:
            frame = {"type": "who", "id": "p20", "room": room["id"]}  # waits for 0..19
        if i == 30:
            frame = {"type": "say", "id": "p30", "room": "r_0000000000000000", "text": "x"}
        sent.append(frame["id"])
        await ws.send_raw(json.dumps(frame))
    await ws.wait_for(lambda: all(i in ws.replies for i in sent))
    order = [m["id"] for m in ws.reply_order if m["id"] in sent]
    assert order == sent  # replies in the order the commands were sent
    assert ws.replies["p13"]["code"] == "invalid"
    assert ws.replies["p30"]["code"] == "not_found"
    assert ws.replies["p20"]["type"] == "ack"
    says = [e for e in (await ws.ok("history", room=room["id"], limit=200))["events"]
            if e["kind"] == "say"]
    expected = [f"line {i}" for i in range(40) if i not in (13, 20, 30)]
    assert [e["text"] for e in says] == expected
    acked = [ws.replies[f"p{i}"]["result"]["seq"] for i in range(40) if i not in (13, 20, 30)]
    assert acked == [e["seq"] for e in says]
    await ws.close()
