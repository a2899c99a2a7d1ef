"""Resume: a client that reconnects with its last sequence numbers gets exactly the
events it missed: none lost, none twice, in order."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.client import Api, Ws, register
from tests.conftest import TEST_SETTINGS, Running, ServerFactory, threaded_server
from tests.fakes.clock import FakeClock
from tryst.config import Settings


async def room_with_two(srv: Running) -> tuple[Api, dict[str, Any], Api, dict[str, Any],
                                              dict[str, Any]]:
    talker = await srv.user()
    t = await talker.new_persona("Talker")
    room = await talker.new_room(t["id"], "Resume Room")
    listener = await srv.user()
    listener_persona = await listener.new_persona("Listener")
    await listener.call("POST", f"/rooms/{room['id']}/join",
                        json={"persona_id": listener_persona["id"]})
    return talker, t, listener, listener_persona, room


def seqs(ws: Ws, room_id: str) -> list[int]:
    return [e["seq"] for e in ws.room_events(room_id)]


async def test_reconnect_with_cursor_gets_exactly_what_was_missed(server: Running) -> None:
    talker, t, listener, lp, room = await room_with_two(server)
    stream = f"room:{room['id']}"
    tws = await Ws.connect(server.base, talker.token)
    await tws.hello(t["id"])
    lws = await Ws.connect(server.base, listener.token)
    hello = await lws.hello(lp["id"])
    assert hello["streams"][stream]["last_seq"] == 2  # creator's join, listener's join
    await tws.ok("say", room=room["id"], text="live one")
    await lws.wait_event(room["id"], "say", "live one")
    cursor = seqs(lws, room["id"])[-1]
    await lws.close()
    missed = [(await tws.ok("say", room=room["id"], text=f"missed {i}"))["seq"] for i in range(5)]
    again = await Ws.connect(server.base, listener.token)
    state = (await again.hello(lp["id"], resume={stream: cursor}))["streams"][stream]
    assert state == {"last_seq": missed[-1], "first_seq": 1, "resumed_after": cursor,
                     "truncated": False}
    await again.wait_event(room["id"], "say", "missed 4")
    await tws.ok("say", room=room["id"], text="live again")
    await again.wait_event(room["id"], "say", "live again")
    assert seqs(again, room["id"]) == [*missed, missed[-1] + 1]
    assert [e["text"] for e in again.room_events(room["id"])] == [
        *(f"missed {i}" for i in range(5)), "live again"]
    await tws.close()
    await again.close()


async def test_resume_from_zero_replays_retained_history(server: Running) -> None:
    talker, t, listener, lp, room = await room_with_two(server)
    tws = await Ws.connect(server.base, talker.token)
    await tws.hello(t["id"])
    for i in range(3):
        await tws.ok("pose", room=room["id"], text=f"pose {i}")
    lws = await Ws.connect(server.base, listener.token)
    await lws.hello(lp["id"], resume={f"room:{room['id']}": 0})
    await lws.wait_event(room["id"], "pose", "pose 2")
    assert seqs(lws, room["id"]) == [1, 2, 3, 4, 5]
    await tws.close()
    await lws.close()


async def test_cursor_from_the_future_starts_from_now(server: Running) -> None:
    talker, t, listener, lp, room = await room_with_two(server)
    stream = f"room:{room['id']}"
    lws = await Ws.connect(server.base, listener.token)
    state = (await lws.hello(lp["id"], resume={stream: 9999}))["streams"][stream]
    assert state["last_seq"] == 2
    tws = await Ws.connect(server.base, talker.token)
    await tws.hello(t["id"])
    await tws.ok("say", room=room["id"], text="after bogus cursor")
    event = await lws.wait_event(room["id"], "say", "after bogus cursor")
    assert event["seq"] == 3  # not swallowed as "already seen"
    await tws.close()
    await lws.close()


async def test_resume_past_retention_is_flagged_truncated(server_factory: ServerFactory) -> None:
    clock = FakeClock()
    async with server_factory(clock=clock, retention_days=1) as srv:
        talker, t, listener, lp, room = await room_with_two(srv)
        stream = f"room:{room['id']}"
        tws = await Ws.connect(srv.base, talker.token)
        await tws.hello(t["id"])
        await tws.ok("say", room=room["id"], text="forgotten")
        clock.advance(2 * 86400)
        await srv.tryst.rooms.purge_expired()
        await tws.ok("say", room=room["id"], text="kept")
        lws = await Ws.connect(srv.base, listener.token)
        state = (await lws.hello(lp["id"], resume={stream: 1}))["streams"][stream]
        assert state["truncated"] is True and state["first_seq"] == 4
        await lws.wait_event(room["id"], "say", "kept")
        assert [e["text"] for e in lws.room_events(room["id"])] == ["kept"]
        await tws.close()
        await lws.close()


def stalled_client(base: str, token: str, persona_id: str,
                   resume: dict[str, int] | None = None) -> socket.socket:
    """Connect, say hello, then never read again: a client on a stalled network. Uses the
    sans-I/O websockets protocol on a plain socket with a small receive buffer, so
    nothing reads on our behalf."""
    from websockets.client import ClientProtocol
    from websockets.protocol import State
    from websockets.uri import parse_uri

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", int(base.rsplit(":", 1)[1])))
    protocol = ClientProtocol(parse_uri(base.replace("http", "ws") + "/ws"))
    request = protocol.connect()
    request.headers["Authorization"] = f"Bearer {token}"
    protocol.send_request(request)
    sock.sendall(b"".join(protocol.data_to_send()))
    while protocol.state is not State.OPEN:
        protocol.receive_data(sock.recv(4096))
    protocol.send_text(json.dumps({"type": "hello", "id": "h", "version": 1,
                                   "persona": persona_id, "resume": resume or {}}).encode())
    sock.sendall(b"".join(protocol.data_to_send()))
    return sock


async def test_slow_consumer_is_dropped_and_resumes_without_loss(
        server_factory: ServerFactory) -> None:
    async with server_factory(outbox_limit=20, max_message_chars=50_000,
                              max_frame_bytes=64 * 1024) as srv:
        talker, t, listener, lp, room = await room_with_two(srv)
        stream = f"room:{room['id']}"
        registry = srv.tryst.registry
        stalled = await asyncio.to_thread(stalled_client, srv.base, listener.token, lp["id"])
        tws = await Ws.connect(srv.base, talker.token)
        await tws.hello(t["id"])
        for _ in range(200):
            if len(registry) == 2:
                break
            await asyncio.sleep(0.02)
        big = "x" * 40_000
        sent = []
        for i in range(500):
            sent.append((await tws.ok("say", room=room["id"], text=f"{i} {big}"))["seq"])
            if len(registry) == 1:
                break  # the stalled connection was dropped as too slow
        for _ in range(200):  # closing a client that does not read takes a few seconds
            if len(registry) == 1:
                break
            await asyncio.sleep(0.05)
        assert len(registry) == 1, "the stalled client was never dropped"
        stalled.close()
        again = await Ws.connect(srv.base, listener.token)
        await again.hello(lp["id"], resume={stream: 2})
        await again.wait_for(lambda: seqs(again, room["id"])[-1:] == [sent[-1]])
        assert seqs(again, room["id"]) == sent  # everything, once, in order
        await tws.close()
        await again.close()


# ---------------------------------------------------------------- property test

Step = tuple[str, int]
ROOM_NUMBERS = itertools.count(1)  # a fresh room per example (object ids get reused)
steps = st.lists(st.one_of(
    st.tuples(st.just("post"), st.integers(1, 4)),
    st.tuples(st.just("post_while_dropping"), st.integers(1, 6)),
    st.tuples(st.just("close"), st.just(0)),
    st.tuples(st.just("abort"), st.just(0)),
    st.tuples(st.just("reconnect"), st.just(0)),
), min_size=1, max_size=12)


async def scenario(base: str, talker: Api, tp: dict[str, Any], listener: Api,
                   lp: dict[str, Any], plan: list[Step]) -> None:
    room = await talker.new_room(tp["id"], f"Prop {next(ROOM_NUMBERS)}")
    await listener.call("POST", f"/rooms/{room['id']}/join", json={"persona_id": lp["id"]})
    stream = f"room:{room['id']}"
    tws = await Ws.connect(base, talker.token)
    await tws.hello(tp["id"])
    received: list[dict[str, Any]] = []
    current: Ws | None = None
    posted: list[str] = []

    def harvest() -> None:
        if current is not None:
            received.extend(current.room_events(room["id"]))
            current.events.clear()

    async def connect() -> Ws:
        cursor = received[-1]["seq"] if received else 0
        ws = await Ws.connect(base, listener.token)
        await ws.hello(lp["id"], resume={stream: cursor})
        return ws

    async def post(n: int) -> None:
        for _ in range(n):
            text = f"m{len(posted)}"
            posted.append(text)
            await tws.ok("say", room=room["id"], text=text)

    current = await connect()
    for op, n in plan:
        if op == "post":
            await post(n)
        elif op == "post_while_dropping" and current is not None:
            task = asyncio.create_task(post(n))
            await asyncio.sleep(0.002 * n)
            harvest()
            current.abort()
            current = None
            await task
        elif op in ("close", "abort") and current is not None:
            harvest()
            if op == "close":
                await current.close()
            else:
                current.abort()
            current = None
        elif op == "reconnect":
            harvest()
            if current is not None:
                current.abort()
            current = await connect()
    harvest()
    if current is None:
        current = await connect()
    last = (await talker.call("GET", f"/rooms/{room['id']}",
                              params={"persona_id": tp["id"]}))["last_seq"]

    def caught_up() -> bool:
        seen = received + current.room_events(room["id"])
        return bool(seen) and seen[-1]["seq"] == last

    await current.wait_for(caught_up)
    harvest()
    assert [e["seq"] for e in received] == list(range(1, last + 1))  # once each, in order
    assert [e["text"] for e in received if e["kind"] == "say"] == posted
    await current.close()
    await tws.close()


def test_any_pattern_of_disconnects_yields_each_event_once_in_order(
        database_url: str, tmp_path: Path) -> None:
    base_settings = Settings(data_dir=tmp_path, database_url=database_url,
                             **{**TEST_SETTINGS, "max_rooms_per_persona": 10_000})
    with threaded_server(base_settings) as srv:
        async def users() -> tuple[Api, dict[str, Any], Api, dict[str, Any]]:
            talker = await register(srv.base, "proptalker")
            listener = await register(srv.base, "proplistener")
            tp = await talker.new_persona("Prop Talker")
            lp = await listener.new_persona("Prop Listener")
            await talker.close()
            await listener.close()
            return talker, tp, listener, lp

        talker, tp, listener, lp = asyncio.run(users())

        @settings(max_examples=30, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(plan=steps)
        def check(plan: list[Step]) -> None:
            async def run() -> None:
                t = Api(srv.base, talker.token)
                listener_api = Api(srv.base, listener.token)
                try:
                    await asyncio.wait_for(scenario(srv.base, t, tp, listener_api, lp, plan), 30)
                finally:
                    await t.close()
                    await listener_api.close()

            asyncio.run(run())

        check()


async def test_reader_stalled_during_resume_is_dropped_not_leaked(
        server_factory: ServerFactory) -> None:
    async with server_factory(outbox_limit=20, max_message_chars=50_000,
                              max_frame_bytes=64 * 1024) as srv:
        talker, t, listener, lp, room = await room_with_two(srv)
        registry = srv.tryst.registry
        tws = await Ws.connect(srv.base, talker.token)
        await tws.hello(t["id"])
        big = "x" * 40_000
        for i in range(160):  # a backlog (6 MB) bigger than the kernel's socket buffers
            await tws.ok("say", room=room["id"], text=f"{i} {big}")
        stalled = await asyncio.to_thread(stalled_client, srv.base, listener.token, lp["id"],
                                          {f"room:{room['id']}": 0})
        for _ in range(200):
            if len(registry) == 2:
                break
            await asyncio.sleep(0.02)
        for i in range(100):  # live traffic while its catch-up is stuck
            await tws.ok("say", room=room["id"], text=f"live {i} {big}")
            if len(registry) == 1:
                break
        for _ in range(200):
            if len(registry) == 1:
                break
            await asyncio.sleep(0.05)
        assert len(registry) == 1, "the stalled reader was kept (and its buffer grew)"
        assert srv.tryst.bus.subscriber_count(f"room:{room['id']}") == 1
        assert registry.online([lp["id"]]) == set()
        stalled.close()
        await tws.close()
