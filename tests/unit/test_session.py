"""Session stream bookkeeping with fakes for its service seams: races that real
sockets only hit by chance."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from tryst.bus.memory import MemoryBus
from tryst.domain import commands as c
from tryst.domain.accounts import Account, AgeAssurance, Role
from tryst.domain.personas import Persona
from tryst.domain.rooms import Membership, RoomRole
from tryst.ids import AccountId, PersonaId, RoomId, room_stream
from tryst.sessions.outbox import Outbox
from tryst.sessions.session import Session

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ACCOUNT = Account(AccountId("a_1"), "user", Role.USER, NOW, AgeAssurance("adult", "x", NOW))
PERSONA = Persona(PersonaId("p_1"), ACCOUNT.id, "Tester", 30, "", "", "", {}, (), False, NOW)
ROOM = RoomId("r_1")


class SlowRooms:
    """Room service fake whose catch-up waits until the test lets it finish."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.reading = asyncio.Event()

    async def memberships(self, persona_id: PersonaId) -> list[Membership]:
        return [Membership(ROOM, persona_id, RoomRole.MEMBER, NOW)]

    async def catch_up(self, persona_id: PersonaId, room_id: RoomId, after: int,
                       limit: int) -> tuple[list[Any], int | None, int]:
        self.reading.set()
        await self.gate.wait()
        return [], 1, 5


class NoConversations:
    async def active_ids(self, persona_id: PersonaId) -> list[Any]:
        return []


class NoScenes:
    def scene_ids(self, persona_id: str) -> list[str]:
        return []


class SceneCommands:
    scenes = NoScenes()


class Private:
    conversations = NoConversations()
    scenes = SceneCommands()


class Personas:
    async def owned(self, account: Account, persona_id: str) -> Persona:
        return PERSONA


async def test_leaving_during_catch_up_does_not_leave_a_dead_cursor() -> None:
    bus, rooms = MemoryBus(), SlowRooms()
    session = Session(account=ACCOUNT, token_hash="h", address="127.0.0.1", bus=bus,
                      rooms=rooms, personas=Personas(), outbox=Outbox(100),  # type: ignore[arg-type]
                      private=Private())  # type: ignore[arg-type]
    selecting = asyncio.create_task(session.execute(c.SelectPersona(PERSONA.id, {})))
    await rooms.reading.wait()  # subscribed, reading the database
    session.unfollow(room_stream(ROOM))  # the persona left the room meanwhile (registry.observe)
    rooms.gate.set()
    await selecting
    assert room_stream(ROOM) not in session.streams
    assert bus.subscriber_count(room_stream(ROOM)) == 0
    session.follow(room_stream(ROOM), after=6)  # rejoining must subscribe again
    assert bus.subscriber_count(room_stream(ROOM)) == 1
