"""Scene consent, as a property. Whatever participants grant, revoke, say, call red or
yellow, confirm, leave or reconnect:

- no content reaches a participant who had not granted its channel when it was sent
  (live or on resume), and every participant who had, gets it;
- after red, no content event is delivered until every participant confirmed resuming;
- a persona outside the scene (and one that left it) receives nothing of it;
- nothing of a scene is stored unless every participant present had turned logging on,
  and then only as ciphertext: no line's text is ever found in the database;
- a franked line verifies exactly as delivered and fails once altered.

A stateful hypothesis test against a real server (in a thread, as in test_block_property)
driven over real WebSockets. A simple model (who is present, who granted what, paused or
not) predicts every outcome; the server's answers and deliveries are checked against it."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.client import Ws
from tests.conftest import TEST_SETTINGS, threaded_server
from tests.test_block_property import Http, account, connect, ws_try
from tryst.config import Settings
from tryst.storage.tables import metadata, scene_log_entries

NUMBERS = itertools.count(1)
RUN = secrets.token_hex(3)
CHANNELS = ("text", "images", "logging")
GONE = frozenset({"not_found"})
ACTIONS = ["send"] * 6 + ["grant", "grant", "revoke", "revoke", "red", "red", "resume",
                          "resume", "resume_all", "yellow", "leave", "new_scene", "reconnect",
                          "verify", "verify"]


@dataclass
class Person:
    name: str
    api: Http
    persona: str
    ws: Ws


@dataclass
class Model:
    scene: str = ""
    status: str = "none"  # none, active, paused, ended
    present: set[int] = field(default_factory=set)
    grants: dict[int, set[str]] = field(default_factory=dict)
    confirmed: set[int] = field(default_factory=set)
    logged: int = 0  # entries expected in the scene's log (0: no log)
    shredded: bool = False
    # every line sent in this example: text -> (scene, who was to receive it)
    lines: dict[str, tuple[str, frozenset[int]]] = field(default_factory=dict)


class SceneMachine(RuleBasedStateMachine):
    base: ClassVar[str] = ""
    url: ClassVar[str] = ""
    totals: ClassVar[Counter[str]] = Counter()

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.people: list[Person] = []
        self.outsider: Person | None = None
        self.m = Model()
        self.all_texts: list[str] = []
        self.engine: AsyncEngine | None = None

    def act(self, coro: Coroutine[Any, Any, None]) -> None:
        async def step() -> None:
            await coro
            await self.settle()
        self.loop.run_until_complete(asyncio.wait_for(step(), 60))

    # ------------------------------------------------------------ set-up

    @initialize(flags=st.lists(st.booleans(), min_size=4, max_size=4))
    def start(self, flags: list[bool]) -> None:
        async def go() -> None:
            self.engine = create_async_engine(self.url)
            for _ in range(4):
                api = await account(self.base)
                name = f"Sp{RUN}n{next(NUMBERS)}"
                persona = (await api.call("POST", "/personas", json={
                    "name": name, "age": 30}))["id"]
                ws = await connect(self.base, api.token)
                await ws.hello(persona)
                self.people.append(Person(name, api, persona, ws))
            self.outsider = self.people.pop()
            a = self.people[0]
            for other in self.people[1:]:
                cid = (await a.ws.ok("request", to=other.persona, text="hello"))[
                    "conversation"]["id"]
                await other.ws.ok("accept", conversation=cid)
            await self.propose(flags)
        self.act(go())

    async def propose(self, flags: list[bool]) -> None:
        """Everyone in: a scene with text, images and logging; the invitees grant
        channels by ``flags`` (the first always grants text)."""
        a, *others = self.people
        proposed = await a.ws.ok("propose_scene", personas=[p.persona for p in others],
                                 title="A property scene", channels=list(CHANNELS))
        self.m = Model(scene=proposed["scene"]["id"], status="active",
                       present=set(range(len(self.people))),
                       grants={0: set(CHANNELS)}, lines=self.m.lines)
        for i, person in enumerate(others, start=1):
            if i == 1:
                chosen = {"text": True, "images": flags[0], "logging": flags[1] or flags[3]}
            else:  # may refuse text (then takes images, so it agrees to something)
                chosen = {"text": flags[3], "images": flags[2] or not flags[3],
                          "logging": flags[1]}
            await person.ws.wait_for(lambda p=person: self.scene_events(p))
            await person.ws.ok("accept_scene", version=1, scene=self.m.scene, choices=chosen)
            self.m.grants[i] = {ch for ch, yes in chosen.items() if yes}

    # ------------------------------------------------------------ helpers

    def stream(self) -> str:
        return f"scene:{self.m.scene}"

    def scene_events(self, person: Person, scene: str | None = None) -> list[dict[str, Any]]:
        stream = f"scene:{scene or self.m.scene}"
        return [e for e in person.ws.events if e.get("stream") == stream]

    def running(self) -> bool:
        return self.m.status in ("active", "paused")

    def can_act(self, i: int) -> bool:
        return self.running() and i in self.m.present

    def expect_logging(self) -> bool:
        m = self.m
        return (m.status == "active" and not m.shredded and len(m.present) >= 2
                and all("logging" in m.grants[i] for i in m.present))

    def leave_model(self, i: int) -> None:
        m = self.m
        m.present.discard(i)
        m.confirmed.discard(i)
        if len(m.present) < 2:
            m.status = "ended"
        elif m.status == "paused" and m.present <= m.confirmed:
            m.status, m.confirmed = "active", set()

    # ------------------------------------------------------------ rules

    @rule(action=st.sampled_from(ACTIONS), i=st.integers(0, 2),
          flags=st.lists(st.booleans(), min_size=4, max_size=4),
          channel=st.sampled_from(CHANNELS), style=st.sampled_from(["say", "pose", "ooc"]),
          alter=st.sampled_from(["none", "text", "seq", "tag"]))
    def step(self, action: str, i: int, flags: list[bool], channel: str, style: str,
             alter: str) -> None:
        """One rule picks among the actions (weighted by ACTIONS): with a rule each,
        swarm testing left many examples without the interesting ones."""
        match action:
            case "send":
                self.send(i, style)
            case "grant" | "revoke":
                self.consent(i, channel, action == "grant")
            case "red":
                self.red(i)
            case "resume":
                self.resume(i)
            case "resume_all":  # everyone confirms, one after the other
                for j in sorted(self.m.present):
                    self.resume(j)
            case "yellow":
                self.yellow(i)
            case "leave":
                self.leave(i)
            case "new_scene":
                self.new_scene(flags)
            case "reconnect":
                self.reconnect(i)
            case "verify":
                self.verify(i, alter)

    def send(self, i: int, style: str) -> None:
        person, m = self.people[i], self.m
        text = f"line {RUN} {next(NUMBERS)}"

        async def go() -> None:
            result = await ws_try(person.ws, GONE | {"scene_paused", "not_granted"},
                                  "scene_send", scene=m.scene, text=text, style=style)
            if not self.can_act(i):
                assert result is None, "a persona outside the scene could send"
                return
            if m.status == "paused" or "text" not in m.grants[i]:
                assert result is None, (m.status, m.grants[i])
                return
            assert result is not None
            to = frozenset(p for p in m.present if "text" in m.grants[p])
            m.lines[text] = (m.scene, to)
            self.all_texts.append(text)
            if self.expect_logging():
                m.logged = (m.logged or 1) + 1
            self.totals["lines"] += 1
            self.totals["lines held back from someone"] += len(to) < len(m.present)
        self.act(go())

    def consent(self, i: int, channel: str, give: bool) -> None:
        person, m = self.people[i], self.m

        async def go() -> None:
            allowed = GONE | {"invalid_state"}
            if give:
                result = await ws_try(person.ws, allowed, "grant", scene=m.scene,
                                      channel=channel)
            else:
                result = await ws_try(person.ws, allowed, "revoke", scene=m.scene,
                                      channel=channel)
            if not self.can_act(i):
                assert result is None
                return
            if not give and channel not in m.grants[i]:
                assert result is None  # nothing to revoke: a named error
                return
            assert result is not None
            if give:
                m.grants[i].add(channel)
            else:
                m.grants[i].discard(channel)
                self.totals["revocations"] += 1
                if channel == "logging" and m.logged:
                    m.logged, m.shredded = 0, True
                    self.totals["logs shredded"] += 1
        self.act(go())

    def red(self, i: int) -> None:
        person, m = self.people[i], self.m

        async def go() -> None:
            result = await ws_try(person.ws, GONE, "red", scene=m.scene)
            if not self.can_act(i):
                assert result is None
                return
            assert result == {"paused": [m.scene]}
            m.status, m.confirmed = "paused", set()
            self.totals["reds"] += 1
        self.act(go())

    def resume(self, i: int) -> None:
        person, m = self.people[i], self.m

        async def go() -> None:
            result = await ws_try(person.ws, GONE | {"invalid_state"}, "resume_scene",
                                  scene=m.scene)
            if not self.can_act(i) or m.status != "paused":
                assert result is None
                return
            assert result is not None
            m.confirmed.add(i)
            if m.present <= m.confirmed:
                m.status, m.confirmed = "active", set()
                self.totals["resumed"] += 1
            assert result["scene"]["status"] == m.status
        self.act(go())

    def yellow(self, i: int) -> None:
        person, m = self.people[i], self.m

        async def go() -> None:
            result = await ws_try(person.ws, GONE, "yellow", scene=m.scene)
            assert (result is not None) == self.can_act(i)
        self.act(go())

    def leave(self, i: int) -> None:
        person, m = self.people[i], self.m

        async def go() -> None:
            result = await ws_try(person.ws, GONE, "leave_scene", scene=m.scene)
            if not self.can_act(i):
                assert result is None
                return
            assert result is not None
            self.leave_model(i)
            self.totals["leaves"] += 1
        self.act(go())

    def new_scene(self, flags: list[bool]) -> None:
        if self.running():
            return

        async def go() -> None:
            await self.propose(flags)
            self.totals["scenes"] += 1
        self.act(go())

    def reconnect(self, i: int) -> None:
        person = self.people[i]

        async def go() -> None:
            await person.ws.close()
            person.ws = await connect(self.base, person.api.token)
            await person.ws.hello(person.persona, resume={self.stream(): 0})
            self.totals["reconnects"] += 1
        self.act(go())

    def verify(self, i: int, alter: str) -> None:
        person = self.people[i]
        held = [e for e in self.scene_events(person) if e.get("tag")]
        if not held:
            return
        e = held[-1]
        message = {"sender": e["persona"]["id"], "stream": e["stream"], "seq": e["seq"],
                   "at": e["at"], "text": e["text"], "tag": e["tag"]}
        if alter == "text":
            message["text"] += "!"
        elif alter == "seq":
            message["seq"] += 1
        elif alter == "tag":
            message["tag"] = message["tag"][:-3] + ("AAA" if message["tag"][-3:] != "AAA"
                                                    else "BBB")

        async def go() -> None:
            result = await person.ws.ok("verify_messages", messages=[message])
            assert result["results"] == [{"valid": alter == "none"}], (alter, message)
            self.totals["verified"] += 1
        self.act(go())

    # ------------------------------------------------------------ the checks

    async def settle(self) -> None:
        """Wait until every line has reached its recipients, then check every stream."""
        m = self.m
        if self.running():
            for text, (scene, to) in m.lines.items():
                if scene != m.scene:
                    continue
                for i in to:
                    person = self.people[i]
                    if i in m.present:
                        await person.ws.wait_for(lambda p=person, t=text: any(
                            e.get("text") == t for e in self.scene_events(p)))
        await asyncio.sleep(0.05)  # anything wrongly sent has time to arrive
        for i, person in enumerate(self.people):
            self.check_stream(i, person)
        assert self.outsider is not None
        leaked = [e for e in self.outsider.ws.events
                  if str(e.get("stream", "")).startswith("scene:")]
        assert not leaked, leaked
        await self.check_storage()

    def check_stream(self, i: int, person: Person) -> None:
        by_scene: dict[str, list[dict[str, Any]]] = {}
        for e in person.ws.events:
            if str(e.get("stream", "")).startswith("scene:"):
                by_scene.setdefault(e["stream"], []).append(e)
        for stream, events in by_scene.items():
            paused = False
            gone = False
            for e in sorted({e["seq"]: e for e in events}.values(), key=lambda e: e["seq"]):
                assert not gone, ("delivered after leaving", e)
                if e["kind"] in ("say", "pose", "ooc"):
                    assert not paused, ("content delivered during red", e)
                    scene, to = self.m.lines.get(e["text"], (None, frozenset()))
                    if scene is None:  # a line of an earlier example's scene
                        continue
                    assert f"scene:{scene}" == stream
                    assert i in to, ("content for a channel not granted", e, to)
                elif e["kind"] == "red":
                    paused = True
                elif e["kind"] == "resumed":
                    paused = False
                elif e["kind"] in ("left", "ended") and (
                        e["kind"] == "ended" or (e.get("persona") or {}).get("id")
                        == person.persona):
                    gone = True

    async def check_storage(self) -> None:
        assert self.engine is not None
        async with self.engine.connect() as conn:
            count = await conn.scalar(select(func.count()).select_from(scene_log_entries)
                                      .where(scene_log_entries.c.log_id == self.m.scene))
            assert count == self.m.logged, (count, self.m)
            if self.m.logged:
                self.totals["lines logged"] += 1
            recent = self.all_texts[-5:]
            if recent:
                for table in metadata.sorted_tables:
                    for row in await conn.execute(select(table)):
                        dumped = repr(tuple(row))
                        assert not any(t in dumped for t in recent), (table.name, dumped)

    def teardown(self) -> None:
        async def close() -> None:
            for person in [*self.people, *([self.outsider] if self.outsider else [])]:
                await person.ws.close()
                await person.api.close()
            if self.engine is not None:
                await self.engine.dispose()
        self.loop.run_until_complete(close())
        self.loop.close()


def test_scene_consent_holds_whatever_happens(database_url: str, tmp_path: Path) -> None:
    config = Settings(data_dir=tmp_path, database_url=database_url, **{
        **TEST_SETTINGS, "address_rate": 100_000.0, "address_burst": 100_000,
        "request_rate_per_hour": 1e9, "request_burst": 1_000_000,
        "message_rate": 1000.0, "message_burst": 1000})
    with threaded_server(config) as srv:
        class Machine(SceneMachine):
            base = srv.base
            url = database_url
            totals: ClassVar[Counter[str]] = Counter()

        run_state_machine_as_test(Machine, settings=settings(
            max_examples=15, stateful_step_count=30, deadline=None,
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow]))
        totals = Machine.totals
        print(dict(totals))
        # Not vacuous: lines were held back by consent, reds were called and resumed,
        # and something was logged.
        assert totals["lines held back from someone"] > 0, totals
        assert totals["reds"] > 0 and totals["resumed"] > 0, totals
        assert totals["lines logged"] > 0, totals
