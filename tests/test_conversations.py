"""Private conversations over real sockets: message requests, decline and cooldown,
who-may-reach-me, groups, typing, receipts, unread counts and retention."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.client import Api, ApiError, Ws
from tests.conftest import Running, ServerFactory
from tests.fakes.clock import FakeClock


async def person(srv: Running, name: str, **fields: Any) -> tuple[Api, dict[str, Any], Ws]:
    api = await srv.user()
    persona = await api.new_persona(name, **fields)
    ws = await Ws.connect(srv.base, api.token)
    await ws.hello(persona["id"])
    return api, persona, ws


def conv_events(ws: Ws, conversation: str, kind: str | None = None) -> list[dict[str, Any]]:
    return [e for e in ws.events if e.get("stream") == f"conv:{conversation}"
            and e["type"] == "event" and (kind is None or e["kind"] == kind)]


async def wait_text(ws: Ws, conversation: str, text: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        return next((e for e in conv_events(ws, conversation) if e["text"] == text), None)
    return await ws.wait_for(find)  # type: ignore[no-any-return]


async def opened(asker: Ws, answerer: Ws, persona: dict[str, Any]) -> str:
    """A direct conversation: ``asker`` requests ``persona``, ``answerer`` accepts."""
    cid: str = (await asker.ok("request", to=persona["id"], text="hi"))["conversation"]["id"]
    await answerer.ok("accept", conversation=cid)
    return cid


async def quiet() -> None:
    """Let anything in flight arrive before asserting that something did not."""
    await asyncio.sleep(0.3)


async def test_request_accept_and_talk(server: Running) -> None:
    _, _alice, a_ws = await person(server, "Alice Request")
    _, bea, b_ws = await person(server, "Bea Request")
    sent = await a_ws.ok("request", to=bea["id"], text="Hello, would you like to write?")
    assert sent["status"] == "pending" and sent["auto_replies"] == []
    cid = sent["conversation"]["id"]
    assert sent["conversation"]["stream"] == f"conv:{cid}"
    # The recipient is told a request arrived, and sees the sender's card, not the text.
    notice = await b_ws.wait_for(lambda: next(
        (e for e in b_ws.events if e["type"] == "request"), None))
    assert notice["stream"] == f"inbox:{bea['id']}" and notice["conversation"] == cid
    listed = (await b_ws.ok("requests"))["requests"]
    assert [r["conversation"]["id"] for r in listed] == [cid]
    assert listed[0]["from"]["name"] == "Alice Request" and "text" not in listed[0]
    opened = await b_ws.ok("open_request", conversation=cid)
    assert opened["event"]["text"] == "Hello, would you like to write?"
    # Nothing more is delivered until the request is accepted.
    more = await a_ws.fail("send", conversation=cid, text="are you there?")
    assert more["code"] == "request_pending"
    assert conv_events(b_ws, cid) == []
    accepted = await b_ws.ok("accept", conversation=cid)
    assert accepted["conversation"]["members"][0]["state"] == "active"
    await a_ws.wait_for(lambda: conv_events(a_ws, cid, "join")[1:])
    ack = await b_ws.ok("send", conversation=cid, text="Gladly.", style="pose")
    event = await wait_text(a_ws, cid, "Gladly.")
    assert event["kind"] == "pose" and event["seq"] == ack["seq"]
    await a_ws.ok("send", conversation=cid, text="Wonderful.")
    await wait_text(b_ws, cid, "Wonderful.")
    history = await b_ws.ok("conversation_history", conversation=cid)
    texts = [e["text"] for e in history["events"] if e["kind"] in ("say", "pose")]
    assert texts == ["Hello, would you like to write?", "Gladly.", "Wonderful."]
    again = await a_ws.fail("request", to=bea["id"], text="hello again")
    assert again["code"] == "conflict" and again["details"]["conversation"] == cid
    for ws in (a_ws, b_ws):
        await ws.close()


async def test_a_decline_looks_like_no_answer_and_resending_waits_for_the_cooldown(
        server_factory: ServerFactory) -> None:
    clock = FakeClock()
    async with server_factory(clock=clock, request_cooldown_hours=24) as srv:
        _, _alice, a_ws = await person(srv, "Alice Decline")
        _, bea, b_ws = await person(srv, "Bea Decline")
        _, cleo, c_ws = await person(srv, "Cleo Silent")
        to_bea = await a_ws.ok("request", to=bea["id"], text="Hi Bea")
        to_cleo = await a_ws.ok("request", to=cleo["id"], text="Hi Cleo")
        await b_ws.ok("decline", conversation=to_bea["conversation"]["id"])
        # The sender's view of a declined request and an unanswered one is the same.
        lists = (await a_ws.ok("conversations"))["conversations"]
        states = {c["id"]: sorted(m["state"] for m in c["members"]) for c in lists}
        assert states[to_bea["conversation"]["id"]] == states[to_cleo["conversation"]["id"]] \
            == ["active", "pending"]
        clock.advance(3600)
        early_bea = await a_ws.fail("request", to=bea["id"], text="Hi again")
        early_cleo = await a_ws.fail("request", to=cleo["id"], text="Hi again")
        assert early_bea["code"] == early_cleo["code"] == "request_pending"
        assert early_bea["details"] == early_cleo["details"] == {"retry_after": 23 * 3600.0}
        assert (await b_ws.ok("requests"))["requests"] == []
        clock.advance(23 * 3600)
        await a_ws.ok("request", to=bea["id"], text="One more try, politely")
        listed = (await b_ws.ok("requests"))["requests"]
        assert len(listed) == 1
        opened = await b_ws.ok("open_request", conversation=listed[0]["conversation"]["id"])
        assert opened["event"]["text"] == "One more try, politely"
        for ws in (a_ws, b_ws, c_ws):
            await ws.close()


async def test_who_may_reach_me(server: Running) -> None:
    b_api, bea, b_ws = await person(server, "Bea Haven")
    _, _alice, a_ws = await person(server, "Alice Knocks")
    settings = await b_ws.ok("set_boundaries", reach="nobody",
                             auto_reply="I am not taking new requests right now.")
    assert settings["boundaries"]["reach"] == "nobody"
    refused = await a_ws.ok("request", to=bea["id"], text="hello")
    assert refused["status"] == "pending"
    assert refused["auto_replies"] == [{"persona": {"id": bea["id"], "name": "Bea Haven"},
                                        "text": "I am not taking new requests right now."}]
    assert (await b_ws.ok("requests"))["requests"] == []
    # Only personas sharing a room; and no auto-reply unless one is set.
    await b_api.call("PATCH", f"/personas/{bea['id']}/boundaries",
                     json={"reach": "shared_room", "auto_reply": ""})
    _, _cleo, c_ws = await person(server, "Cleo Stranger")
    silent = await c_ws.ok("request", to=bea["id"], text="hello")
    assert silent["auto_replies"] == [] and (await b_ws.ok("requests"))["requests"] == []
    room = await b_api.new_room(bea["id"], "Common Room")
    _, _dana, d_ws = await person(server, "Dana Roommate")
    await d_ws.ok("join", room=room["id"])
    await d_ws.ok("request", to=bea["id"], text="we met in the common room")
    names = [r["from"]["name"] for r in (await b_ws.ok("requests"))["requests"]]
    assert names == ["Dana Roommate"]
    current = await b_api.call("GET", f"/personas/{bea['id']}/boundaries")
    assert current["boundaries"]["reach"] == "shared_room"
    for ws in (a_ws, b_ws, c_ws, d_ws):
        await ws.close()


async def test_requests_conflicting_with_hard_limits_or_no_list_can_be_refused(
        server: Running) -> None:
    _, bea, b_ws = await person(server, "Bea Limits", interests={"slow-burn": "no"},
                                hard_limits=["Horror"])
    await b_ws.ok("set_boundaries", refuse_limit_conflicts=True, auto_reply="Not a match.")
    _, _, a_ws = await person(server, "Alice Horror", interests={"horror": "fave"})
    _, _, c_ws = await person(server, "Cleo Slow", interests={"slow-burn": "yes"})
    _, _, d_ws = await person(server, "Dana Maybe", interests={"horror": "maybe"})
    for ws in (a_ws, c_ws):
        reply = await ws.ok("request", to=bea["id"], text="hello")
        assert reply["auto_replies"][0]["text"] == "Not a match."
    ok = await d_ws.ok("request", to=bea["id"], text="hello")
    assert ok["auto_replies"] == []
    names = [r["from"]["name"] for r in (await b_ws.ok("requests"))["requests"]]
    assert names == ["Dana Maybe"]
    for ws in (a_ws, b_ws, c_ws, d_ws):
        await ws.close()


async def test_request_floods_are_throttled(server_factory: ServerFactory) -> None:
    async with server_factory(request_burst=3, request_rate_per_hour=1) as srv:
        _, _, a_ws = await person(srv, "Alice Flood")
        api = await srv.user()
        targets = [await api.new_persona(f"Target {n}") for n in "ABCD"]
        for target in targets[:3]:
            await a_ws.ok("request", to=target["id"], text="hi")
        flood = await a_ws.fail("request", to=targets[3]["id"], text="hi")
        assert flood["code"] == "rate_limited" and flood["details"]["retry_after"] > 0
        assert "requests" in flood["message"]
        await a_ws.close()


async def test_a_new_persona_does_not_reset_the_request_allowance(
        server_factory: ServerFactory) -> None:
    async with server_factory(request_burst=2, request_rate_per_hour=1) as srv:
        api, _, ws = await person(srv, "Alice Quota")
        other = await srv.user()
        targets = [await other.new_persona(f"Quota Target {n}") for n in "ABC"]
        for target in targets[:2]:
            await ws.ok("request", to=target["id"], text="hi")
        alt = await api.new_persona("Alice Quota Alt")
        await ws.ok("switch_persona", persona=alt["id"])
        flood = await ws.fail("request", to=targets[2]["id"], text="hi")
        assert flood["code"] == "rate_limited"
        await ws.close()


async def test_groups_by_invitation(server: Running) -> None:
    _, _host, h_ws = await person(server, "Group Host")
    guests = [await person(server, f"Guest {n}") for n in "ABC"]
    made = await h_ws.ok("create_group", personas=[g[1]["id"] for g in guests[:2]],
                         title="Book club", text="Welcome, everyone")
    cid = made["conversation"]["id"]
    assert made["conversation"]["kind"] == "group" and len(made["invited"]) == 2
    for _, _, ws in guests[:2]:
        listed = (await ws.ok("requests"))["requests"]
        assert listed[0]["conversation"]["title"] == "Book club"
        await ws.ok("accept", conversation=cid)
    await h_ws.ok("send", conversation=cid, text="First topic")
    for _, _, ws in guests[:2]:
        await wait_text(ws, cid, "First topic")
    await h_ws.ok("invite", conversation=cid, persona=guests[2][1]["id"])
    await guests[2][2].ok("accept", conversation=cid)
    await guests[2][2].ok("send", conversation=cid, text="Late but here")
    await wait_text(h_ws, cid, "Late but here")
    view = await h_ws.ok("conversations")
    members = view["conversations"][0]["members"]
    assert sorted(m["persona"]["name"] for m in members) == [
        "Group Host", "Guest A", "Guest B", "Guest C"]
    await guests[0][2].ok("leave_conversation", conversation=cid)
    left = await guests[0][2].fail("send", conversation=cid, text="still here?")
    assert left["code"] == "not_member"
    for ws in [h_ws] + [g[2] for g in guests]:
        await ws.close()


async def test_group_size_is_limited(server: Running) -> None:
    _, _host, h_ws = await person(server, "Big Host")
    api = await server.user()
    others = [await api.new_persona(f"Crowd {n}") for n in "ABCDEFGH"]
    too_many = await h_ws.fail("create_group", personas=[p["id"] for p in others])
    assert too_many["code"] == "invalid" and too_many["details"]["limit"] == 8
    made = await h_ws.ok("create_group", personas=[p["id"] for p in others[:7]])
    full = await h_ws.fail("invite", conversation=made["conversation"]["id"],
                           persona=others[7]["id"])
    assert full["code"] == "limit_reached"
    await h_ws.close()


async def test_typing_needs_both_sides_and_receipts_too(server: Running) -> None:
    _, alice, a_ws = await person(server, "Alice Typing")
    _, bea, b_ws = await person(server, "Bea Typing")
    cid = await opened(a_ws, b_ws, bea)
    await a_ws.ok("conversation_settings", conversation=cid, typing=True, receipts=True)
    await a_ws.ok("typing", conversation=cid, typing=True)
    await b_ws.ok("typing", conversation=cid, typing=True)  # Bea has not turned it on
    await quiet()
    assert not [e for e in a_ws.events + b_ws.events if e["type"] == "typing"]
    await b_ws.ok("conversation_settings", conversation=cid, typing=True)
    await a_ws.ok("typing", conversation=cid, typing=True)
    typing = await b_ws.wait_for(lambda: next(
        (e for e in b_ws.events if e["type"] == "typing"), None))
    assert typing["persona"]["id"] == alice["id"] and typing["typing"] is True
    # Read receipts: Bea reads, but only Alice shares receipts: nothing is sent.
    sent = await a_ws.ok("send", conversation=cid, text="a line to read")
    await wait_text(b_ws, cid, "a line to read")
    unread = (await b_ws.ok("conversations"))["conversations"][0]["unread"]
    assert unread == 2  # the opening line and this one
    await b_ws.ok("read", conversation=cid, seq=sent["seq"])
    assert (await b_ws.ok("conversations"))["conversations"][0]["unread"] == 0
    await quiet()
    assert not [e for e in a_ws.events if e["type"] == "read"]
    view = (await a_ws.ok("conversations"))["conversations"][0]
    assert all("last_read_seq" not in m for m in view["members"])
    await b_ws.ok("conversation_settings", conversation=cid, receipts=True)
    sent = await a_ws.ok("send", conversation=cid, text="another line")
    await b_ws.ok("read", conversation=cid, seq=sent["seq"])
    receipt = await a_ws.wait_for(lambda: next(
        (e for e in a_ws.events if e["type"] == "read"), None))
    assert receipt["persona"]["id"] == bea["id"] and receipt["seq"] >= sent["seq"]
    for ws in (a_ws, b_ws):
        await ws.close()


async def test_not_stored_means_gone_once_everyone_has_read_it(server: Running) -> None:
    _, _alice, a_ws = await person(server, "Alice Ephemeral")
    _, bea, b_ws = await person(server, "Bea Ephemeral")
    cid = await opened(a_ws, b_ws, bea)
    view = (await a_ws.ok("conversations"))["conversations"][0]
    assert view["keep_days"] == 0 and view["me"]["keep_days"] == 0  # private by default
    sent = await a_ws.ok("send", conversation=cid, text="for your eyes now")
    await wait_text(b_ws, cid, "for your eyes now")
    history = await b_ws.ok("conversation_history", conversation=cid)
    assert "for your eyes now" in [e["text"] for e in history["events"]]
    await b_ws.ok("read", conversation=cid, seq=sent["seq"])
    for ws in (a_ws, b_ws):
        history = await ws.ok("conversation_history", conversation=cid)
        assert history["events"] == []
    for ws in (a_ws, b_ws):
        await ws.close()


async def test_history_is_kept_for_the_shortest_choice_and_timers_apply(
        server_factory: ServerFactory) -> None:
    clock = FakeClock()
    async with server_factory(clock=clock, conversation_max_days=30) as srv:
        _, _alice, a_ws = await person(srv, "Alice Keeps")
        _, bea, b_ws = await person(srv, "Bea Keeps")
        cid = await opened(a_ws, b_ws, bea)
        too_long = await a_ws.fail("conversation_settings", conversation=cid, keep_days=31)
        assert too_long["code"] == "invalid" and too_long["details"]["maximum"] == 30
        await a_ws.ok("conversation_settings", conversation=cid, keep_days=14)
        both = await b_ws.ok("conversation_settings", conversation=cid, keep_days=3)
        assert both["conversation"]["keep_days"] == 3
        sent = await a_ws.ok("send", conversation=cid, text="kept a while")
        await b_ws.ok("read", conversation=cid, seq=sent["seq"])
        history = await a_ws.ok("conversation_history", conversation=cid)
        assert "kept a while" in [e["text"] for e in history["events"]]
        clock.advance(3 * 86400 + 1)
        history = await a_ws.ok("conversation_history", conversation=cid)
        assert "kept a while" not in [e["text"] for e in history["events"]]
        # A disappearing timer any member sets applies to everyone's copy.
        await b_ws.ok("conversation_settings", conversation=cid, disappear_seconds=60)
        await a_ws.ok("send", conversation=cid, text="gone in a minute")
        clock.advance(61)
        texts = [e["text"] for e in (await b_ws.ok("conversation_history",
                                                   conversation=cid))["events"]]
        assert "gone in a minute" not in texts
        bad = await a_ws.fail("conversation_settings", conversation=cid, disappear_seconds=5)
        assert bad["code"] == "invalid"
        for ws in (a_ws, b_ws):
            await ws.close()


async def test_deleting_my_copy_leaves_theirs(server: Running) -> None:
    _, _alice, a_ws = await person(server, "Alice Clears")
    _, bea, b_ws = await person(server, "Bea Keeps Copy")
    cid = await opened(a_ws, b_ws, bea)
    for ws in (a_ws, b_ws):
        await ws.ok("conversation_settings", conversation=cid, keep_days=7)
    await a_ws.ok("send", conversation=cid, text="a memory")
    await wait_text(b_ws, cid, "a memory")
    await a_ws.ok("clear", conversation=cid)
    assert (await a_ws.ok("conversation_history", conversation=cid))["events"] == []
    theirs = await b_ws.ok("conversation_history", conversation=cid)
    assert "a memory" in [e["text"] for e in theirs["events"]]
    for ws in (a_ws, b_ws):
        await ws.close()


async def test_conversation_resume_is_exactly_once(server: Running) -> None:
    a_api, alice, a_ws = await person(server, "Alice Resumes")
    _, bea, b_ws = await person(server, "Bea Talks")
    cid = await opened(a_ws, b_ws, bea)
    await b_ws.ok("send", conversation=cid, text="one")
    seen = await wait_text(a_ws, cid, "one")
    a_ws.abort()
    await b_ws.ok("send", conversation=cid, text="two")
    await b_ws.ok("send", conversation=cid, text="three")
    again = await Ws.connect(server.base, a_api.token)
    hello = await again.hello(alice["id"], resume={f"conv:{cid}": seen["seq"]})
    state = hello["streams"][f"conv:{cid}"]
    assert state["resumed_after"] == seen["seq"] and state["truncated"] is False
    await wait_text(again, cid, "three")
    assert [e["text"] for e in conv_events(again, cid)] == ["two", "three"]
    await again.close()
    await b_ws.close()


async def test_bad_conversation_input_gets_clear_errors(server: Running) -> None:
    api, alice, ws = await person(server, "Alice Mistakes")
    alt = await api.new_persona("Alice Alt Mistakes")
    assert (await ws.fail("request", to=alice["id"], text="me"))["code"] == "invalid"
    own = await ws.fail("request", to=alt["id"], text="my alt")
    assert own["code"] == "invalid" and "own" in own["message"]
    missing = await ws.fail("request", to="p_0000000000000000", text="hi")
    assert missing["code"] == "not_found"
    _, bea, b_ws = await person(server, "Bea Target")
    assert (await ws.fail("request", to=bea["id"], text="   "))["code"] == "invalid"
    assert (await ws.fail("request", to=bea["id"], text="hi", style="shout"))["code"] \
        == "bad_message"
    assert (await ws.fail("request", to=bea["id"], text="x" * 5000))["code"] == "invalid"
    unknown = await ws.fail("send", conversation="c_0000000000000000", text="hi")
    assert unknown["code"] == "not_found"
    extra = await ws.fail("send", conversation="c_0000000000000000", text="hi", colour="red")
    assert extra["code"] == "bad_message"  # unknown fields are refused, not ignored
    cid = (await ws.ok("request", to=bea["id"], text="hi"))["conversation"]["id"]
    # A conversation is invisible to those outside it.
    _, _, c_ws = await person(server, "Cleo Outsider")
    for command, fields in (("send", {"text": "hi"}), ("conversation_history", {}),
                            ("read", {"seq": 1}), ("clear", {}), ("accept", {})):
        error = await c_ws.fail(command, conversation=cid, **fields)
        assert error["code"] == "not_found", (command, error)
    assert (await ws.fail("typing", conversation=cid, typing="yes"))["code"] == "bad_message"
    for w in (ws, b_ws, c_ws):
        await w.close()


async def test_http_api_covers_requests_and_conversations(server: Running) -> None:
    a_api = await server.user()
    alice = await a_api.new_persona("Alice Http")
    b_api = await server.user()
    bea = await b_api.new_persona("Bea Http")
    sent = await a_api.call("POST", "/requests", expect=201, json={
        "persona_id": alice["id"], "to": bea["id"], "text": "hello over http"})
    cid = sent["conversation"]["id"]
    listed = await b_api.call("GET", "/requests", params={"persona_id": bea["id"]})
    assert listed["requests"][0]["from"]["id"] == alice["id"]
    opened = await b_api.call("GET", f"/requests/{cid}/opening",
                              params={"persona_id": bea["id"]})
    assert opened["event"]["text"] == "hello over http"
    await b_api.call("POST", f"/requests/{cid}/accept", json={"persona_id": bea["id"]})
    posted = await b_api.call("POST", f"/conversations/{cid}/messages", expect=201,
                              json={"persona_id": bea["id"], "text": "reply over http"})
    page = await a_api.call("GET", f"/conversations/{cid}/events",
                            params={"persona_id": alice["id"]})
    assert page["events"][-1]["text"] == "reply over http"
    read = await a_api.call("POST", f"/conversations/{cid}/read",
                            json={"persona_id": alice["id"], "seq": posted["seq"]})
    assert read["last_read_seq"] == posted["seq"]
    settings = await a_api.call("PATCH", f"/conversations/{cid}/settings",
                                json={"persona_id": alice["id"], "keep_days": 5})
    assert settings["conversation"]["me"]["keep_days"] == 5
    with pytest.raises(ApiError) as err:
        await a_api.call("PATCH", f"/conversations/{cid}/settings",
                         json={"persona_id": alice["id"], "keep_days": -1})
    assert err.value.status == 422
    with pytest.raises(ApiError) as err:
        await b_api.call("GET", f"/conversations/{cid}/events",
                         params={"persona_id": alice["id"]})  # not Bea's persona
    assert err.value.code in ("not_found", "forbidden")
    await a_api.call("POST", f"/conversations/{cid}/leave", expect=204,
                     json={"persona_id": alice["id"]})
    convs = await a_api.call("GET", "/conversations", params={"persona_id": alice["id"]})
    assert convs["conversations"] == []


async def test_erasing_a_persona_deletes_its_conversation_lines(server: Running) -> None:
    a_api, alice, a_ws = await person(server, "Alice Erased")
    _, bea, b_ws = await person(server, "Bea Remains")
    cid = await opened(a_ws, b_ws, bea)
    await b_ws.ok("conversation_settings", conversation=cid, keep_days=7)
    await a_ws.ok("conversation_settings", conversation=cid, keep_days=7)
    await a_ws.ok("send", conversation=cid, text="words to erase")
    await wait_text(b_ws, cid, "words to erase")
    await a_api.call("DELETE", f"/personas/{alice['id']}", expect=204)
    history = await b_ws.ok("conversation_history", conversation=cid)
    assert "words to erase" not in [e["text"] for e in history["events"]]
    assert "hi" not in [e["text"] for e in history["events"]]
    await b_ws.close()


async def test_turning_a_timer_off_does_not_bring_lines_back(
        server_factory: ServerFactory) -> None:
    clock = FakeClock()
    async with server_factory(clock=clock) as srv:
        _, _, a_ws = await person(srv, "Alice Timer")
        _, bea, b_ws = await person(srv, "Bea Timer")
        cid = await opened(a_ws, b_ws, bea)
        for ws in (a_ws, b_ws):
            await ws.ok("conversation_settings", conversation=cid, keep_days=7)
        await a_ws.ok("conversation_settings", conversation=cid, disappear_seconds=60)
        await a_ws.ok("send", conversation=cid, text="short lived")
        await a_ws.ok("conversation_settings", conversation=cid, disappear_seconds=0)
        clock.advance(120)
        texts = [e["text"] for e in (await b_ws.ok("conversation_history",
                                                   conversation=cid))["events"]]
        assert "short lived" not in texts
        for ws in (a_ws, b_ws):
            await ws.close()


async def test_newcomers_to_a_group_see_only_what_follows_their_invitation(
        server: Running) -> None:
    _, _, h_ws = await person(server, "Host Earlier")
    _, first, f_ws = await person(server, "First Guest")
    _, late, l_ws = await person(server, "Late Guest")
    cid = (await h_ws.ok("create_group", personas=[first["id"]],
                         text="welcome"))["conversation"]["id"]
    await f_ws.ok("accept", conversation=cid)
    for ws in (h_ws, f_ws):
        await ws.ok("conversation_settings", conversation=cid, keep_days=7)
    await h_ws.ok("send", conversation=cid, text="said before the newcomer")
    await h_ws.ok("invite", conversation=cid, persona=late["id"])
    await l_ws.ok("accept", conversation=cid)
    await h_ws.ok("send", conversation=cid, text="said after")
    await wait_text(l_ws, cid, "said after")
    texts = [e["text"] for e in (await l_ws.ok("conversation_history",
                                               conversation=cid))["events"]]
    assert "said after" in texts and "said before the newcomer" not in texts
    assert "welcome" not in texts
    # Their arrival (not stored by default) makes the group keep nothing beyond reading.
    view = (await h_ws.ok("conversations"))["conversations"][0]
    assert view["keep_days"] == 0
    for ws in (h_ws, f_ws, l_ws):
        await ws.close()
