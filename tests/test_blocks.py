"""Blocks, mutes and presence over real sockets. Blocks are account-wide, mutual and
invisible: the blocked side cannot tell a block from silence, in what it is told or in
the work the server does to tell it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from tests.client import Ws
from tests.conftest import Running, ServerFactory
from tests.fakes.clock import FakeClock
from tests.test_conversations import conv_events, opened, person, quiet, wait_text


def room_texts(ws: Ws, room_id: str) -> list[str]:
    return [e["text"] for e in ws.room_events(room_id) if e["kind"] in ("say", "pose", "ooc")]


async def test_a_block_hides_both_sides_in_rooms_including_later_personas(
        server: Running) -> None:
    a_api, alice, a_ws = await person(server, "Alice Blocks")
    b_api, bea, b_ws = await person(server, "Bea Blocked")
    _, _, c_ws = await person(server, "Cleo Watches")
    room = await a_api.new_room(alice["id"], "Shared Lounge")
    for ws in (b_ws, c_ws):
        await ws.ok("join", room=room["id"])
    await a_ws.ok("block", persona=bea["id"])
    await b_ws.ok("say", room=room["id"], text="from the blocked side")
    await a_ws.ok("say", room=room["id"], text="from the blocker")
    await c_ws.wait_event(room["id"], "say", "from the blocker")
    await c_ws.wait_event(room["id"], "say", "from the blocked side")
    await b_ws.wait_event(room["id"], "say", "from the blocked side")
    await quiet()
    assert "from the blocked side" not in room_texts(a_ws, room["id"])
    assert "from the blocker" not in room_texts(b_ws, room["id"])
    # Neither is in the other's who-list; a third person sees both.
    a_who = [m["persona"]["name"] for m in (await a_ws.ok("who", room=room["id"]))["members"]]
    b_who = [m["persona"]["name"] for m in (await b_ws.ok("who", room=room["id"]))["members"]]
    c_who = [m["persona"]["name"] for m in (await c_ws.ok("who", room=room["id"]))["members"]]
    assert "Bea Blocked" not in a_who and "Alice Blocks" not in b_who
    assert {"Alice Blocks", "Bea Blocked"} <= set(c_who)
    # A whisper across the block gets the answer for someone who is not there.
    across = await b_ws.fail("whisper", room=room["id"], to=alice["id"], text="psst")
    absent = await b_ws.fail("whisper", room=room["id"], to="p_0000000000000000", text="psst")
    assert (across["code"], across["message"]) == (absent["code"], absent["message"])
    # History, over the WebSocket and HTTP, leaves the other side out too.
    history = await a_ws.ok("history", room=room["id"])
    assert "from the blocked side" not in [e["text"] for e in history["events"]]
    page = await b_api.call("GET", f"/rooms/{room['id']}/events",
                            params={"persona_id": bea["id"]})
    assert "from the blocker" not in [e["text"] for e in page["events"]]
    # A persona the blocked account creates later is covered as well.
    alt = await b_api.new_persona("Bea New Face")
    alt_ws = await Ws.connect(server.base, b_api.token)
    await alt_ws.hello(alt["id"])
    await alt_ws.ok("join", room=room["id"])
    await alt_ws.ok("say", room=room["id"], text="a fresh start")
    await c_ws.wait_event(room["id"], "say", "a fresh start")
    await quiet()
    assert "a fresh start" not in room_texts(a_ws, room["id"])
    # The blocker's list names only the persona they blocked.
    blocks = (await a_ws.ok("blocks"))["blocks"]
    assert [b["persona"]["name"] for b in blocks] == ["Bea Blocked"]
    await a_ws.ok("unblock", persona=bea["id"])
    await alt_ws.ok("say", room=room["id"], text="after the unblock")
    await a_ws.wait_event(room["id"], "say", "after the unblock")
    for ws in (a_ws, b_ws, c_ws, alt_ws):
        await ws.close()


def _shape(reply: dict[str, Any]) -> Any:
    """A reply with ids, names and times taken out: what must not differ."""
    if isinstance(reply, dict):
        return {k: _shape(v) for k, v in reply.items()
                if k not in ("id", "name", "stream", "at", "last_seq", "created_at",
                             "persona_id")}
    if isinstance(reply, list):
        # Order among members asked at the same moment follows their random ids.
        return sorted((_shape(v) for v in reply), key=repr)
    return reply


@contextlib.contextmanager
def statements(srv: Running) -> Iterator[list[str]]:
    """Record the SQL the server runs while the block is open."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = srv.tryst.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_no_block_oracle_in_content_or_work(server: Running) -> None:
    """A request to someone who blocked you is answered like one to someone who has not
    answered: the same reply and the same database work (so the same time, give or
    take noise; bench/request_oracle.py measures it)."""
    _, sender, s_ws = await person(server, "Sam Sender")
    _, blocker, k_ws = await person(server, "Kim Blocker")
    _, quiet_one, q_ws = await person(server, "Quinn Quiet")
    await k_ws.ok("block", persona=sender["id"])
    # Warm up: the first statement of each kind is compiled and cached.
    _, warm, w_ws = await person(server, "Warm Up")
    await s_ws.ok("request", to=warm["id"], text="hello")
    with statements(server) as to_blocker:
        blocked = await s_ws.request("request", to=blocker["id"], text="hello")
    with statements(server) as to_quiet:
        pending = await s_ws.request("request", to=quiet_one["id"], text="hello")
    assert _shape(blocked) == _shape(pending)
    assert blocked["result"]["status"] == "pending"
    assert to_blocker == to_quiet
    # The follow-up is refused the same way, with the same work.
    with statements(server) as again_blocker:
        second_blocked = await s_ws.request("send", conversation=blocked["result"][
            "conversation"]["id"], text="hello?")
    with statements(server) as again_quiet:
        second_pending = await s_ws.request("send", conversation=pending["result"][
            "conversation"]["id"], text="hello?")
    assert _shape(second_blocked) == _shape(second_pending)
    assert second_blocked["code"] == "request_pending"
    assert again_blocker == again_quiet
    # The blocker never hears of it.
    await quiet()
    assert (await k_ws.ok("requests"))["requests"] == []
    assert not [e for e in k_ws.events if e["type"] == "request"]
    for ws in (s_ws, k_ws, q_ws, w_ws):
        await ws.close()


async def test_decline_and_block_from_a_request(server: Running) -> None:
    a_api, alice, a_ws = await person(server, "Alice Pushy")
    _, bea, b_ws = await person(server, "Bea Firm")
    cid = (await a_ws.ok("request", to=bea["id"], text="hi"))["conversation"]["id"]
    await b_ws.ok("decline", conversation=cid, block=True)
    assert [b["persona"]["id"] for b in (await b_ws.ok("blocks"))["blocks"]] == [alice["id"]]
    # A new persona of the same account is refused silently too.
    alt = await a_api.new_persona("Alice In Disguise")
    await a_ws.ok("switch_persona", persona=alt["id"])
    reply = await a_ws.ok("request", to=bea["id"], text="it is someone else, honestly")
    assert reply["status"] == "pending"
    assert (await b_ws.ok("requests"))["requests"] == []
    for ws in (a_ws, b_ws):
        await ws.close()


async def test_a_block_silences_an_existing_conversation_both_ways(server: Running) -> None:
    _, alice, a_ws = await person(server, "Alice Talks")
    _, bea, b_ws = await person(server, "Bea Ends It")
    cid = await opened(a_ws, b_ws, bea)
    await b_ws.ok("conversation_settings", conversation=cid, typing=True)
    await a_ws.ok("conversation_settings", conversation=cid, typing=True)
    await b_ws.ok("block", persona=alice["id"])
    sent = await a_ws.ok("send", conversation=cid, text="are you still there?")
    assert sent["seq"] > 0  # acknowledged like any other line: the block is invisible
    await a_ws.ok("typing", conversation=cid, typing=True)
    await b_ws.ok("send", conversation=cid, text="not for you")
    await wait_text(a_ws, cid, "are you still there?")  # their own line comes back
    await wait_text(b_ws, cid, "not for you")
    await quiet()
    assert "are you still there?" not in [e["text"] for e in conv_events(b_ws, cid)]
    assert "not for you" not in [e["text"] for e in conv_events(a_ws, cid)]
    assert not [e for e in b_ws.events if e["type"] == "typing"]
    history = await b_ws.ok("conversation_history", conversation=cid)
    assert "are you still there?" not in [e["text"] for e in history["events"]]
    view = (await b_ws.ok("conversations"))["conversations"][0]
    assert [m["persona"]["id"] for m in view["members"]] == [bea["id"]]
    assert view["unread"] == 0
    for ws in (a_ws, b_ws):
        await ws.close()


async def test_mutes_hide_room_lines_for_a_while(server_factory: ServerFactory) -> None:
    clock = FakeClock()
    async with server_factory(clock=clock) as srv:
        a_api, alice, a_ws = await person(srv, "Alice Mutes")
        _, bea, b_ws = await person(srv, "Bea Chatty")
        room = await a_api.new_room(alice["id"], "Busy Room")
        await b_ws.ok("join", room=room["id"])
        muted = await a_ws.ok("mute", persona=bea["id"], minutes=10)
        assert muted["mute"]["persona"]["id"] == bea["id"]
        await b_ws.ok("say", room=room["id"], text="while muted")
        await a_ws.ok("say", room=room["id"], text="muter speaks")
        await b_ws.wait_event(room["id"], "say", "muter speaks")  # a mute is one-way
        await quiet()
        assert "while muted" not in room_texts(a_ws, room["id"])
        assert [m["persona"]["id"] for m in (await a_ws.ok("mutes"))["mutes"]] == [bea["id"]]
        clock.advance(11 * 60)
        await b_ws.ok("say", room=room["id"], text="after the mute")
        await a_ws.wait_event(room["id"], "say", "after the mute")
        history = [e["text"] for e in (await a_ws.ok("history", room=room["id"]))["events"]]
        assert "while muted" not in history and "after the mute" in history
        assert (await a_ws.ok("mutes"))["mutes"] == []
        await a_ws.ok("mute", persona=bea["id"], minutes=5)
        await a_ws.ok("unmute", persona=bea["id"])
        await b_ws.ok("say", room=room["id"], text="unmuted early")
        await a_ws.wait_event(room["id"], "say", "unmuted early")
        for ws in (a_ws, b_ws):
            await ws.close()


async def test_presence_and_status(server: Running) -> None:
    _, alice, a_ws = await person(server, "Alice Present")
    b_api, bea, b_ws = await person(server, "Bea Looks")
    await b_ws.ok("set_boundaries", status="busy", status_message="writing a long scene")
    seen = (await a_ws.ok("presence", personas=[bea["id"]]))["presence"][bea["id"]]
    assert seen == {"online": True, "status": "busy", "status_message": "writing a long scene"}
    room = await b_api.new_room(bea["id"], "Status Room")
    await a_ws.ok("join", room=room["id"])
    who = {m["persona"]["id"]: m for m in (await a_ws.ok("who", room=room["id"]))["members"]}
    assert who[bea["id"]]["presence"] == seen
    # Status changes reach conversation partners live.
    cid = await opened(a_ws, b_ws, bea)
    await b_ws.ok("set_boundaries", status="looking")
    change = await a_ws.wait_for(lambda: next(
        (e for e in a_ws.events if e["type"] == "presence" and e["status"] == "looking"),
        None))
    assert change["persona"]["id"] == bea["id"] and change["stream"] == f"conv:{cid}"
    view = (await a_ws.ok("conversations"))["conversations"][0]
    theirs = next(m for m in view["members"] if m["persona"]["id"] == bea["id"])
    assert theirs["presence"]["status"] == "looking"
    # Going offline is announced; a blocked side always looks offline.
    await b_ws.close()
    await a_ws.wait_for(lambda: any(e["type"] == "presence" and e["online"] is False
                                    for e in a_ws.events))
    b_ws = await Ws.connect(server.base, b_api.token)
    await b_ws.hello(bea["id"])
    await b_ws.ok("block", persona=alice["id"])
    hidden = (await a_ws.ok("presence", personas=[bea["id"]]))["presence"][bea["id"]]
    assert hidden == {"online": False, "status": "offline", "status_message": ""}
    listed = await b_api.call("GET", "/presence", params={"persona_id": [alice["id"]]})
    assert listed["presence"][alice["id"]]["online"] is False
    for ws in (a_ws, b_ws):
        await ws.close()


async def test_bad_block_and_mute_input(server: Running) -> None:
    api, _alice, ws = await person(server, "Alice Careful")
    alt = await api.new_persona("Alice Second")
    own = await ws.fail("block", persona=alt["id"])
    assert own["code"] == "invalid"
    assert (await ws.fail("block", persona="p_0000000000000000"))["code"] == "not_found"
    assert (await ws.fail("unblock", persona=alt["id"]))["code"] == "not_found"
    assert (await ws.fail("mute", persona=alt["id"], minutes=0))["code"] == "bad_message"
    assert (await ws.fail("mute", persona=alt["id"], minutes=5))["code"] == "invalid"
    assert (await ws.fail("unmute", persona=alt["id"]))["code"] == "not_found"
    bad = await ws.fail("set_boundaries", reach="everyone")
    assert bad["code"] == "bad_message"
    long = await ws.fail("set_boundaries", status_message="x" * 200)
    assert long["code"] == "invalid" and long["details"]["field"] == "status_message"
    assert (await ws.ok("boundaries"))["boundaries"]["status_message"] == ""
    await ws.close()


async def test_blocks_and_mutes_over_http(server: Running) -> None:
    a_api = await server.user()
    b_api = await server.user()
    bea = await b_api.new_persona("Bea Over Http")
    made = await a_api.call("POST", "/blocks", expect=201, json={"persona_id": bea["id"]})
    assert made["block"]["persona"]["name"] == "Bea Over Http"
    again = await a_api.call("POST", "/blocks", expect=201, json={"persona_id": bea["id"]})
    assert again["block"]["persona"]["id"] == bea["id"]  # idempotent
    assert len((await a_api.call("GET", "/blocks"))["blocks"]) == 1
    await a_api.call("DELETE", f"/blocks/{bea['id']}", expect=204)
    assert (await a_api.call("GET", "/blocks"))["blocks"] == []
    await a_api.call("POST", "/mutes", expect=201, json={"persona_id": bea["id"],
                                                        "minutes": 30})
    assert len((await a_api.call("GET", "/mutes"))["mutes"]) == 1
    await a_api.call("DELETE", f"/mutes/{bea['id']}", expect=204)
    export = await a_api.call("GET", "/accounts/me/export")
    assert export["blocks"] == [] and export["mutes"] == []


@pytest.mark.parametrize("reach", ["anyone", "nobody"])
async def test_a_blocked_group_invitation_is_silent(server: Running, reach: str) -> None:
    _, host, h_ws = await person(server, "Host Blocked")
    _, bea, b_ws = await person(server, "Bea Avoids Host")
    _, cleo, c_ws = await person(server, "Cleo Joins")
    await b_ws.ok("set_boundaries", reach=reach)
    await b_ws.ok("block", persona=host["id"])
    made = await h_ws.ok("create_group", personas=[bea["id"], cleo["id"]], title="Salon")
    assert made["auto_replies"] == []
    assert (await b_ws.ok("requests"))["requests"] == []
    assert len((await c_ws.ok("requests"))["requests"]) == 1
    for ws in (h_ws, b_ws, c_ws):
        await ws.close()


async def test_lines_sent_during_a_block_stay_hidden_after_unblock(server: Running) -> None:
    a_api, alice, a_ws = await person(server, "Alice Unblocks")
    _, bea, b_ws = await person(server, "Bea Was Blocked")
    room = await a_api.new_room(alice["id"], "Quiet Corner")
    await b_ws.ok("join", room=room["id"])
    cid = await opened(b_ws, a_ws, alice)
    for ws in (a_ws, b_ws):
        await ws.ok("conversation_settings", conversation=cid, keep_days=7)
    await a_ws.ok("block", persona=bea["id"])
    await b_ws.ok("say", room=room["id"], text="room line during the block")
    await b_ws.ok("send", conversation=cid, text="private line during the block")
    await a_ws.ok("unblock", persona=bea["id"])
    await b_ws.ok("send", conversation=cid, text="after the unblock")
    await wait_text(a_ws, cid, "after the unblock")
    room_history = [e["text"] for e in (await a_ws.ok("history", room=room["id"]))["events"]]
    page = await a_api.call("GET", f"/rooms/{room['id']}/events",
                            params={"persona_id": alice["id"]})
    conv_history = [e["text"] for e in (await a_ws.ok("conversation_history",
                                                      conversation=cid))["events"]]
    assert "room line during the block" not in room_history
    assert "room line during the block" not in [e["text"] for e in page["events"]]
    assert "private line during the block" not in conv_history
    assert "after the unblock" in conv_history
    view = (await a_ws.ok("conversations"))["conversations"][0]
    assert view["unread"] == 2  # the opening line and the one after the unblock
    # Resuming from before the block does not bring them back either.
    again = await Ws.connect(server.base, a_api.token)
    hello = await again.hello(alice["id"], resume={f"conv:{cid}": 0, f"room:{room['id']}": 0})
    assert f"conv:{cid}" in hello["streams"]
    replayed = [e.get("text") for e in again.events]
    assert "after the unblock" in replayed
    assert "private line during the block" not in replayed
    assert "room line during the block" not in replayed
    for ws in (a_ws, b_ws, again):
        await ws.close()


async def test_the_blocked_side_sees_the_conversation_as_unanswered(server: Running) -> None:
    _, sender, s_ws = await person(server, "Sam Asks Twice")
    _, blocker, k_ws = await person(server, "Kim Blocks Later")
    _, silent, q_ws = await person(server, "Quinn Never Answers")
    to_blocker = (await s_ws.ok("request", to=blocker["id"], text="hi"))["conversation"]["id"]
    to_silent = (await s_ws.ok("request", to=silent["id"], text="hi"))["conversation"]["id"]
    await k_ws.ok("block", persona=sender["id"])
    # Across a block the other side looks offline (as the spec requires), so compare
    # with someone who really is offline.
    await q_ws.close()
    for _ in range(100):
        seen = await s_ws.ok("presence", personas=[silent["id"]])
        if not seen["presence"][silent["id"]]["online"]:
            break
        await asyncio.sleep(0.05)
    replies = [await s_ws.request("conversation_settings", conversation=cid, keep_days=5)
               for cid in (to_blocker, to_silent)]
    assert _shape(replies[0]) == _shape(replies[1])
    views = {c["id"]: c for c in (await s_ws.ok("conversations"))["conversations"]}
    assert _shape(views[to_blocker]) == _shape(views[to_silent])
    states = sorted(m["state"] for m in views[to_blocker]["members"])
    assert states == ["active", "pending"]
    for ws in (s_ws, k_ws):
        await ws.close()


async def test_someone_blocked_cannot_withdraw_an_invitation_by_reinviting(
        server_factory: ServerFactory) -> None:
    async with server_factory(request_cooldown_hours=0) as srv:
        _, host, h_ws = await person(srv, "Host Invites")
        _, pest, p_ws = await person(srv, "Pest Member")
        _, bea, b_ws = await person(srv, "Bea Invited")
        await b_ws.ok("block", persona=pest["id"])
        cid = (await h_ws.ok("create_group", personas=[pest["id"]]))["conversation"]["id"]
        await p_ws.ok("accept", conversation=cid)
        await h_ws.ok("invite", conversation=cid, persona=bea["id"])
        assert len((await b_ws.ok("requests"))["requests"]) == 1
        await p_ws.ok("invite", conversation=cid, persona=bea["id"])
        listed = (await b_ws.ok("requests"))["requests"]
        assert [r["from"]["id"] for r in listed] == [host["id"]]
        for ws in (h_ws, p_ws, b_ws):
            await ws.close()


async def test_hidden_lines_do_not_end_history_paging(server: Running) -> None:
    a_api, alice, a_ws = await person(server, "Alice Pages")
    _, bea, b_ws = await person(server, "Bea Pages")
    room = await a_api.new_room(alice["id"], "Paged Room")
    await a_ws.ok("say", room=room["id"], text="older line")
    await b_ws.ok("join", room=room["id"])
    await a_ws.ok("mute", persona=bea["id"], minutes=30)
    for n in range(3):
        await b_ws.ok("say", room=room["id"], text=f"muted {n}")
    page = await a_api.call("GET", f"/rooms/{room['id']}/events",
                            params={"persona_id": alice["id"], "limit": 2})
    assert page["events"] == [] and page["next_before"] is not None
    texts: list[str] = []
    before = page["next_before"]
    while before is not None:
        page = await a_api.call("GET", f"/rooms/{room['id']}/events",
                                params={"persona_id": alice["id"], "limit": 2,
                                        "before": before})
        texts = [e["text"] for e in page["events"]] + texts
        before = page["next_before"]
    assert "older line" in texts and not any(t.startswith("muted") for t in texts)
    for ws in (a_ws, b_ws):
        await ws.close()
