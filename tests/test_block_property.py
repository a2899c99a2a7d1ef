"""Blocks, as a property: whatever accounts, personas, requests, conversations, room
lines, blocks and unblocks happen, nothing an account sends while a block stands between
it and another account ever reaches that other account: not live on any of its
connections (whichever persona they use), not when a connection resumes, not in
conversation or room history (WebSocket or HTTP), not through the requests list or an
opened request. And while a block stands, nothing of the other account shows at all:
its lines (whenever they were sent), typing/read/presence/request signals, who-list
entries, conversation members, presence."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections import Counter
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    rule,
    run_state_machine_as_test,
)

from tests.client import Api, ApiError, Ws, register
from tests.conftest import TEST_SETTINGS, threaded_server
from tryst.config import Settings

T = TypeVar("T")
NUMBERS = itertools.count(1)  # names, usernames and texts unique across examples
RUN = secrets.token_hex(3)
MAX_PERSONAS = 3
HISTORY = 200  # one page holds a whole example's stream
MAYBE_GONE = frozenset({"not_found", "not_member"})  # conversations one is not (yet) in

index = st.integers(0, 63)
door = st.sampled_from(["ws", "http"])
resume_mode = st.sampled_from(["none", "zero", "cursor"])


def pick(items: Sequence[T], i: int) -> T:
    return items[i % len(items)]


@dataclass
class Conn:
    ws: Ws
    persona: str
    seen: int = 0  # how many of ws.events have been checked


@dataclass
class Acct:
    index: int
    api: Api
    personas: list[str]
    conns: list[Conn]


@dataclass(frozen=True)
class Line:
    """A message the server acknowledged: who sent it and, at that moment, which
    accounts were on the other side of a block with the sender."""

    text: str
    account: int
    persona: str
    hidden_from: frozenset[int]


async def ws_try(ws: Ws, allowed: frozenset[str], type_: str, **fields: Any) -> Any:
    reply = await ws.request(type_, **fields)
    if reply["type"] == "error":
        assert reply["code"] in allowed, (type_, fields, reply)
        return None
    return reply["result"]


async def http_try(api: Api, allowed: frozenset[str], method: str, path: str,
                   **kwargs: Any) -> Any:
    """The answer ({} for an empty one), or None for an error among ``allowed``."""
    try:
        body = await api.call(method, path, **kwargs)
    except ApiError as exc:
        assert exc.code in allowed, (method, path, kwargs, exc.status, exc.body)
        return None
    return {} if body is None else body


class BlockMachine(RuleBasedStateMachine):
    base: ClassVar[str] = ""
    totals: ClassVar[Counter[str]] = Counter()

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.accounts: list[Acct] = []
        self.owner: dict[str, int] = {}  # persona -> account index
        self.blocks: set[tuple[int, str]] = set()  # (blocker account, blocked persona)
        self.strict: set[frozenset[int]] = set()  # pairs blocked since the last settle
        self.lines: dict[str, Line] = {}
        self.convs: dict[str, frozenset[str]] = {}  # direct conversation -> its personas
        self.room = ""
        self.in_room: set[str] = set()
        self.signalling: set[tuple[str, str]] = set()  # (conversation, persona)
        self.cursors: dict[tuple[str, str], int] = {}  # (persona, stream) -> last seq seen
        self.counts: Counter[str] = Counter()
        self.interrupted = False

    # ------------------------------------------------------------ plumbing

    def act(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run one step, then check everything that arrived live meanwhile."""
        self.interrupted = True

        async def step() -> None:
            await coro
            await self.settle()

        self.loop.run_until_complete(asyncio.wait_for(step(), 60))
        self.interrupted = False

    def pairs(self) -> set[frozenset[int]]:
        return {frozenset({a, self.owner[p]}) for a, p in self.blocks}

    def blocked(self, a: int, b: int) -> bool:
        return frozenset({a, b}) in self.pairs()

    def hidden_from(self, account: int) -> frozenset[int]:
        return frozenset(other for pair in self.pairs() if account in pair
                         for other in pair if other != account)

    def others(self, account: int) -> list[str]:
        return [p for p, a in self.owner.items() if a != account]

    def convs_of(self, persona: str) -> list[str]:
        return [cid for cid, members in self.convs.items() if persona in members]

    def new_text(self) -> str:
        return f"m{next(NUMBERS)}"

    def record(self, text: str, account: int, persona: str) -> None:
        hidden = self.hidden_from(account)
        self.lines[text] = Line(text, account, persona, hidden)
        self.counts["sent"] += 1
        if hidden:
            self.counts["sent under a block"] += 1

    def resume(self, persona: str, mode: str) -> dict[str, int]:
        streams = [f"room:{self.room}"] + [f"conv:{c}" for c in self.convs_of(persona)]
        if mode == "zero":
            return dict.fromkeys(streams, 0)
        if mode == "cursor":
            return {s: self.cursors[persona, s] for s in streams
                    if (persona, s) in self.cursors}
        return {}

    # ------------------------------------------------------------ the checks

    def saw(self, viewer: int, item: dict[str, Any], door: str, *, now: bool) -> None:
        """``viewer``'s account was shown ``item`` (an event or a signal) through ``door``.
        Its text must not have been sent across a block; with ``now``, nothing of an
        account blocked at this moment may show at all."""
        author_persona = (item.get("persona") or {}).get("id")
        if author_persona is None:
            return
        assert author_persona in self.owner, (door, item)
        author = self.owner[author_persona]
        if author == viewer:
            return
        text = item.get("text")
        if item.get("type") == "event" and text:
            line = self.lines.get(text)
            assert line is not None, f"{door}: a text nobody sent was shown: {item}"
            assert line.persona == author_persona, (door, item, line)
            assert viewer not in line.hidden_from, (
                f"{door}: account {viewer} was shown {text!r}, which account {author} "
                f"sent while a block stood between them: {item}")
            self.counts[f"delivered: {door}"] += 1
        if now:
            assert not self.blocked(viewer, author), (
                f"{door}: account {viewer} was shown something of account {author}, "
                f"which is blocked (blocks {sorted(self.blocks)}): {item}")

    def visible(self, viewer: int, persona: str, door: str) -> None:
        owner = self.owner.get(persona)
        assert owner is not None, (door, persona)
        assert not self.blocked(viewer, owner), (
            f"{door}: account {viewer} was shown persona {persona} of account {owner}, "
            f"which is blocked (blocks {sorted(self.blocks)})")

    async def settle(self) -> None:
        """Ping every connection (its replies come after whatever was queued before), then
        check what arrived. A pair blocked since the previous settle must have seen
        nothing at all of each other in between; any text must not cross a block."""
        conns = [(acct, conn) for acct in self.accounts for conn in acct.conns]
        await asyncio.gather(*(conn.ws.ok("ping") for _, conn in conns))
        strict = self.strict & self.pairs()
        for acct, conn in conns:
            self.check_live(acct, conn, strict)
        self.strict = self.pairs()

    def check_live(self, acct: Acct, conn: Conn, strict: set[frozenset[int]]) -> None:
        assert not conn.ws.unmatched_errors, conn.ws.unmatched_errors
        fresh = conn.ws.events[conn.seen:]
        conn.seen += len(fresh)
        for item in fresh:
            if item.get("type") == "event":
                key = (conn.persona, item["stream"])
                self.cursors[key] = max(self.cursors.get(key, 0), item["seq"])
            self.saw(acct.index, item, "live", now=False)
            author = self.owner.get((item.get("persona") or {}).get("id", ""))
            if author is not None and author != acct.index:
                assert frozenset({acct.index, author}) not in strict, (
                    f"live: account {acct.index} got something of account {author} while "
                    f"a block stood (blocks {sorted(self.blocks)}): {item}")

    async def look(self, acct: Acct, conn: Conn | None, persona: str) -> None:
        """Every door that reads: conversations, their history, room history, who,
        requests, opened requests, presence; over the WebSocket (as the connection's
        persona) when ``conn`` is given, else over HTTP."""
        viewer = acct.index
        name = "ws" if conn else "http"

        async def ask(allowed: frozenset[str], type_: str, fields: dict[str, Any],
                      path: str, **params: Any) -> Any:
            if conn is not None:
                return await ws_try(conn.ws, allowed, type_, **fields)
            return await http_try(acct.api, allowed, "GET", path,
                                  params={"persona_id": persona, **params})

        listed = await ask(frozenset(), "conversations", {}, "/conversations")
        for conversation in listed["conversations"]:
            for member in conversation["members"]:
                self.visible(viewer, member["persona"]["id"], f"{name} conversation members")
        for cid in self.convs_of(persona):
            page = await ask(MAYBE_GONE, "conversation_history",
                             {"conversation": cid, "limit": HISTORY},
                             f"/conversations/{cid}/events", limit=HISTORY)
            for item in page["events"] if page else []:
                self.saw(viewer, item, f"{name} conversation history", now=True)
            opened = await ask(MAYBE_GONE, "open_request", {"conversation": cid},
                               f"/requests/{cid}/opening")
            if opened and opened["event"]:
                self.saw(viewer, opened["event"], f"{name} open_request", now=True)
        page = await ask(frozenset({"not_member"}), "history",
                         {"room": self.room, "limit": HISTORY},
                         f"/rooms/{self.room}/events", limit=HISTORY)
        for item in page["events"] if page else []:
            self.saw(viewer, item, f"{name} room history", now=True)
        who = await ask(frozenset({"not_member"}), "who", {"room": self.room},
                        f"/rooms/{self.room}/members")
        for member in who["members"] if who else []:
            self.visible(viewer, member["persona"]["id"], f"{name} who")
        requests = await ask(frozenset(), "requests", {}, "/requests")
        for request in requests["requests"]:
            self.visible(viewer, request["from"]["id"], f"{name} requests")
            for member in request["members"]:
                self.visible(viewer, member["id"], f"{name} request members")
            self.counts["listed requests"] += 1
        others = self.others(viewer)
        if conn is not None:
            presence = (await conn.ws.ok("presence", personas=others))["presence"]
        else:
            presence = (await acct.api.call("GET", "/presence",
                                            params={"persona_id": others}))["presence"]
        for pid, state in presence.items():
            if self.blocked(viewer, self.owner[pid]):
                assert state["online"] is False, (f"{name} presence", pid, state)

    # ------------------------------------------------------------ set-up

    @initialize(n=st.integers(2, 3))
    def accounts_and_room(self, n: int) -> None:
        self.act(self._setup(n))

    async def _setup(self, n: int) -> None:
        for i in range(n):
            api = await register(self.base, f"blk{RUN}n{next(NUMBERS)}")
            persona = (await api.new_persona(f"Persona {next(NUMBERS)}"))["id"]
            self.owner[persona] = i
            self.accounts.append(Acct(i, api, [persona], []))
        host = self.accounts[0]
        room = await host.api.new_room(host.personas[0], f"Block Room {RUN} {next(NUMBERS)}")
        self.room = room["id"]
        for acct in self.accounts:
            persona = acct.personas[0]
            if acct.index:
                await acct.api.call("POST", f"/rooms/{self.room}/join",
                                    json={"persona_id": persona})
            self.in_room.add(persona)
            for _ in range(2):
                ws = await Ws.connect(self.base, acct.api.token)
                await ws.hello(persona)
                acct.conns.append(Conn(ws, persona))

    # ------------------------------------------------------------ personas, connections

    @rule(a=index)
    def new_persona(self, a: int) -> None:
        acct = pick(self.accounts, a)
        if len(acct.personas) < MAX_PERSONAS:
            self.act(self._new_persona(acct))

    async def _new_persona(self, acct: Acct) -> None:
        persona = (await acct.api.new_persona(f"Persona {next(NUMBERS)}"))["id"]
        self.owner[persona] = acct.index
        acct.personas.append(persona)

    @rule(a=index, c=index, p=index, mode=resume_mode)
    def switch_persona(self, a: int, c: int, p: int, mode: str) -> None:
        acct = pick(self.accounts, a)
        self.act(self._switch(acct, pick(acct.conns, c), pick(acct.personas, p), mode))

    async def _switch(self, acct: Acct, conn: Conn, persona: str, mode: str) -> None:
        self.check_live(acct, conn, set())  # what came for the previous persona
        await conn.ws.ok("switch_persona", persona=persona, resume=self.resume(persona, mode))
        conn.persona = persona

    @rule(a=index, c=index, mode=resume_mode)
    def reconnect(self, a: int, c: int, mode: str) -> None:
        acct = pick(self.accounts, a)
        self.act(self._reconnect(acct, pick(acct.conns, c), mode))

    async def _reconnect(self, acct: Acct, conn: Conn, mode: str) -> None:
        await conn.ws.ok("ping")
        self.check_live(acct, conn, self.strict & self.pairs())
        await conn.ws.close()
        conn.ws = await Ws.connect(self.base, acct.api.token)
        conn.seen = 0
        await conn.ws.hello(conn.persona, resume=self.resume(conn.persona, mode))

    # ------------------------------------------------------------ blocks

    @rule(a=index, t=index, c=index, via=door)
    def block(self, a: int, t: int, c: int, via: str) -> None:
        acct = pick(self.accounts, a)
        self.act(self._block(acct, pick(self.others(acct.index), t), pick(acct.conns, c), via))

    async def _block(self, acct: Acct, target: str, conn: Conn, via: str) -> None:
        if via == "ws":
            await conn.ws.ok("block", persona=target)
        else:
            await acct.api.call("POST", "/blocks", json={"persona_id": target}, expect=201)
        self.blocks.add((acct.index, target))
        self.counts["blocks"] += 1

    @rule(b=index, c=index, via=door)
    def unblock(self, b: int, c: int, via: str) -> None:
        if self.blocks:
            blocker, target = pick(sorted(self.blocks), b)
            self.act(self._unblock(self.accounts[blocker], target, c, via))

    async def _unblock(self, acct: Acct, target: str, c: int, via: str) -> None:
        if via == "ws":
            await pick(acct.conns, c).ws.ok("unblock", persona=target)
        else:
            await acct.api.call("DELETE", f"/blocks/{target}", expect=204)
        self.blocks.discard((acct.index, target))
        self.counts["unblocks"] += 1

    # ------------------------------------------------------------ requests, conversations

    @rule(a=index, c=index, t=index, via=door)
    def request(self, a: int, c: int, t: int, via: str) -> None:
        acct = pick(self.accounts, a)
        self.act(self._request(acct, pick(acct.conns, c), pick(self.others(acct.index), t),
                               via))

    async def _request(self, acct: Acct, conn: Conn, target: str, via: str) -> None:
        text, sender = self.new_text(), conn.persona
        refused = frozenset({"request_pending", "conflict"})
        if via == "ws":
            result = await ws_try(conn.ws, refused, "request", to=target, text=text)
        else:
            result = await http_try(acct.api, refused, "POST", "/requests", json={
                "persona_id": sender, "to": target, "text": text})
        if result is None:
            return
        assert result["status"] == "pending", result
        self.convs[result["conversation"]["id"]] = frozenset({sender, target})
        self.record(text, acct.index, sender)

    @rule(a=index, c=index, k=index, via=door)
    def accept(self, a: int, c: int, k: int, via: str) -> None:
        acct = pick(self.accounts, a)
        conn = pick(acct.conns, c)
        if self.convs_of(conn.persona):
            self.act(self._accept(acct, conn, pick(self.convs_of(conn.persona), k), via))

    async def _accept(self, acct: Acct, conn: Conn, cid: str, via: str) -> None:
        if via == "ws":
            result = await ws_try(conn.ws, MAYBE_GONE, "accept", conversation=cid)
        else:
            result = await http_try(acct.api, MAYBE_GONE, "POST", f"/requests/{cid}/accept",
                                    json={"persona_id": conn.persona})
        if result is not None:
            self.counts["accepted"] += 1

    @rule(a=index, c=index, k=index, also_block=st.booleans(), via=door)
    def decline(self, a: int, c: int, k: int, also_block: bool, via: str) -> None:
        acct = pick(self.accounts, a)
        conn = pick(acct.conns, c)
        if self.convs_of(conn.persona):
            self.act(self._decline(acct, conn, pick(self.convs_of(conn.persona), k),
                                   also_block, via))

    async def _decline(self, acct: Acct, conn: Conn, cid: str, also_block: bool,
                       via: str) -> None:
        if via == "ws":
            done = await ws_try(conn.ws, MAYBE_GONE, "decline", conversation=cid,
                                block=also_block)
        else:
            done = await http_try(acct.api, MAYBE_GONE, "POST", f"/requests/{cid}/decline",
                                  json={"persona_id": conn.persona, "block": also_block})
        if done is not None and also_block:
            (inviter,) = self.convs[cid] - {conn.persona}
            self.blocks.add((acct.index, inviter))
            self.counts["blocks"] += 1

    @rule(a=index, c=index, k=index, via=door)
    def send(self, a: int, c: int, k: int, via: str) -> None:
        acct = pick(self.accounts, a)
        conn = pick(acct.conns, c)
        if self.convs_of(conn.persona):
            self.act(self._send(acct, conn, pick(self.convs_of(conn.persona), k), via))

    async def _send(self, acct: Acct, conn: Conn, cid: str, via: str) -> None:
        text = self.new_text()
        allowed = MAYBE_GONE | {"request_pending"}
        if via == "ws":
            result = await ws_try(conn.ws, allowed, "send", conversation=cid, text=text)
        else:
            result = await http_try(acct.api, allowed, "POST", f"/conversations/{cid}/messages",
                                    json={"persona_id": conn.persona, "text": text})
        if result is not None:
            self.record(text, acct.index, conn.persona)

    @rule(a=index, c=index, k=index)
    def typing_and_read(self, a: int, c: int, k: int) -> None:
        acct = pick(self.accounts, a)
        conn = pick(acct.conns, c)
        if self.convs_of(conn.persona):
            self.act(self._signals(conn, pick(self.convs_of(conn.persona), k)))

    async def _signals(self, conn: Conn, cid: str) -> None:
        if (cid, conn.persona) not in self.signalling:
            if await ws_try(conn.ws, MAYBE_GONE, "conversation_settings", conversation=cid,
                            typing=True, receipts=True) is None:
                return
            self.signalling.add((cid, conn.persona))
        await ws_try(conn.ws, MAYBE_GONE, "typing", conversation=cid, typing=True)
        await ws_try(conn.ws, MAYBE_GONE, "read", conversation=cid, seq=2**40)

    # ------------------------------------------------------------ the room

    @rule(a=index, c=index)
    def say(self, a: int, c: int) -> None:
        acct = pick(self.accounts, a)
        self.act(self._say(acct, pick(acct.conns, c)))

    async def _say(self, acct: Acct, conn: Conn) -> None:
        if conn.persona not in self.in_room:
            await conn.ws.ok("join", room=self.room)
            self.in_room.add(conn.persona)
        text = self.new_text()
        await conn.ws.ok("say", room=self.room, text=text)
        self.record(text, acct.index, conn.persona)

    # ------------------------------------------------------------ reading doors

    @rule(a=index, c=index, p=index, via=door)
    def look_around(self, a: int, c: int, p: int, via: str) -> None:
        acct = pick(self.accounts, a)
        conn = pick(acct.conns, c)
        if via == "ws":
            self.act(self.look(acct, conn, conn.persona))
        else:
            self.act(self.look(acct, None, pick(acct.personas, p)))

    def teardown(self) -> None:
        try:
            if self.accounts and not self.interrupted:
                self.act(self._look_everywhere())
        finally:
            self.loop.run_until_complete(self._close())
            self.loop.close()
            note(f"blocks {sorted(self.blocks)}; counts {dict(self.counts)}")
            self.totals.update(self.counts)

    async def _look_everywhere(self) -> None:
        for acct in self.accounts:
            for persona in acct.personas:
                await self.look(acct, None, persona)
            for conn in acct.conns:
                await self.look(acct, conn, conn.persona)

    async def _close(self) -> None:
        for acct in self.accounts:
            for conn in acct.conns:
                await conn.ws.close()
            await acct.api.close()


def test_nothing_sent_across_a_block_ever_arrives(database_url: str, tmp_path: Path) -> None:
    config = Settings(data_dir=tmp_path, database_url=database_url, **{
        **TEST_SETTINGS, "address_rate": 100_000.0, "address_burst": 100_000,
        "request_rate_per_hour": 1e9, "request_burst": 1_000_000,
        # Requests may be re-sent at once, so a request refused by a block can be followed
        # by one that is shown, accepted and read back through every door.
        "request_cooldown_hours": 0.0})
    with threaded_server(config) as srv:
        class Machine(BlockMachine):
            base = srv.base
            totals: ClassVar[Counter[str]] = Counter()

        run_state_machine_as_test(Machine, settings=settings(
            max_examples=20, stateful_step_count=25, deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture,
                                   HealthCheck.too_slow]))
        totals = Machine.totals
        print(dict(totals))
        # Not vacuous: lines were sent across blocks, and lines did arrive, live and
        # through the history doors.
        assert totals["sent under a block"] > 0, totals
        assert totals["delivered: live"] > 0, totals
        assert any(totals[k] for k in totals if "history" in k), totals
        assert totals["unblocks"] > 0 and totals["accepted"] > 0, totals
