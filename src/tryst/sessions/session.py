"""One live connection: its account, current persona, stream cursors and outbox.

Delivery guarantee: for every stream the connection is subscribed to, events reach the
outbox exactly once and in sequence order. A cursor per stream records the last seq
queued; anything at or below it is a duplicate and dropped; anything beyond the next
expected seq means something was missed and is read back from the database first."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from tryst.domain import commands as c
from tryst.domain.accounts import Account
from tryst.domain.blocks import Boundary
from tryst.domain.conversations import Boundaries
from tryst.domain.errors import InvalidInput, NoPersona, TrystError
from tryst.domain.events import (
    ConversationEvent,
    NumberedEvent,
    RoomEvent,
    SceneEvent,
    Signal,
    Whisper,
)
from tryst.domain.personas import Persona
from tryst.domain.rooms import MUTED_KINDS, EventKind, Membership, Room, RoomRole
from tryst.ids import (
    ConversationId,
    RoomId,
    conversation_stream,
    inbox_stream,
    room_stream,
    scene_stream,
)
from tryst.ports import Bus, Delivery
from tryst.services.actor import Actor
from tryst.services.personas import PersonaService
from tryst.services.rooms import RoomService
from tryst.sessions.outbox import Outbox
from tryst.sessions.private import PRIVATE_TYPES, PrivateCommands

log = logging.getLogger(__name__)

NO_LATER = 2**62


@dataclass(frozen=True, slots=True)
class StreamState:
    """Where a stream stands for this connection after selecting a persona."""

    last_seq: int  # the newest seq in the stream
    first_seq: int | None  # the oldest retained seq, None if nothing is retained
    resumed_after: int | None  # the client's cursor, if it asked to resume
    truncated: bool  # the client missed events older than retention: they are gone


@dataclass(frozen=True, slots=True)
class Selected:
    persona: Persona
    streams: dict[str, StreamState]


@dataclass(frozen=True, slots=True)
class Joined:
    room: Room
    membership: Membership
    created: bool


@dataclass(frozen=True, slots=True)
class WhoEntry:
    persona: Persona
    role: RoomRole
    online: bool
    status: Boundaries


Closer = Callable[[int, str], None]
_PIPELINED: dict[type, EventKind] = {c.Say: EventKind.SAY, c.Pose: EventKind.POSE,
                                     c.Ooc: EventKind.OOC, c.PostNotice: EventKind.SYSTEM}


class Session:
    def __init__(self, *, account: Account, token_hash: str, address: str, bus: Bus,
                 rooms: RoomService, personas: PersonaService, outbox: Outbox,
                 private: PrivateCommands, boundary: Boundary | None = None) -> None:
        self.account = account
        # What this account has chosen not to see (blocks, mutes): shared with the
        # account's other connections and updated in place when it changes.
        self.boundary = boundary or Boundary()
        self._private = private
        self._live: set[str] = set()  # live-only streams (the persona's inbox)
        self.token_hash = token_hash
        self.address = address
        self.persona: Persona | None = None
        self.outbox = outbox
        self._bus = bus
        self._rooms = rooms
        self._personas = personas
        self._cursors: dict[str, int] = {}
        self._pending: dict[str, list[Delivery]] = {}  # streams being caught up
        self._closer: Closer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.on_persona_change: Callable[[Session, Persona | None, Persona | None],
                                         None] | None = None

    # ------------------------------------------------------------ lifecycle

    def set_closer(self, closer: Closer) -> None:
        self._closer = closer

    def close(self, code: int, reason: str) -> None:
        """Ask the door to close the connection (idempotent)."""
        if self._closer is not None:
            closer, self._closer = self._closer, None
            closer(code, reason)

    def detach_all(self) -> None:
        self._unsubscribe_all()
        for task in self._tasks:
            task.cancel()
        self.outbox.close()

    def _unsubscribe_all(self) -> None:
        for stream in list(self._cursors) + list(self._pending) + list(self._live):
            self._bus.unsubscribe(stream, self)
        self._cursors.clear()
        self._pending.clear()
        self._live.clear()

    @property
    def streams(self) -> set[str]:
        return set(self._cursors) | set(self._pending)

    def _hides(self, event: NumberedEvent) -> bool:
        """Blocks hide everything from the other account; mutes hide a persona's room
        lines sent during the mute; a scene event goes only to the personas it was
        addressed to (decided from the grants when it was built). The cursor still moves
        past what is hidden."""
        if type(event) is SceneEvent and (self.persona is None
                                          or self.persona.id not in event.to):
            return True
        boundary = self.boundary
        if (boundary.hidden or boundary.periods) \
                and boundary.hides(event.account_id, event.at):
            return True
        return bool(boundary.mutes) and type(event) is RoomEvent \
            and event.kind in MUTED_KINDS and boundary.mutes_at(event.persona_id, event.at)

    # ------------------------------------------------------------ delivery

    def deliver(self, delivery: Delivery) -> None:
        event = delivery.event
        kind = type(event)
        if kind is RoomEvent or kind is ConversationEvent or kind is SceneEvent:
            assert isinstance(event, RoomEvent | ConversationEvent | SceneEvent)
            stream = delivery.stream
            pending = self._pending.get(stream)
            if pending is not None:
                pending.append(delivery)
                # Buffered events count toward the outbox limit too: a client that stops
                # reading during a catch-up is as slow as one that stops reading later.
                if len(pending) + len(self.outbox) > self.outbox.limit:
                    self.close(4008, "slow_consumer")
                return
            cursor = self._cursors.get(stream)
            if cursor is None or event.seq <= cursor:
                return
            if event.seq != cursor + 1:
                self._fill_gap(stream, delivery)
                return
            self._cursors[stream] = event.seq
            if not self._hides(event):
                self._push(delivery)
        elif kind is Whisper:
            assert isinstance(event, Whisper)
            persona = self.persona
            if persona is not None and persona.id in (event.to_id, event.from_id) \
                    and not self.boundary.hides_account(event.from_account) \
                    and not self.boundary.mutes_at(event.from_id, event.at):
                self._push(delivery)
        elif kind is Signal:
            assert isinstance(event, Signal)
            persona = self.persona
            if persona is not None and (event.to is None or persona.id in event.to) \
                    and event.persona_id != persona.id \
                    and not self.boundary.hides_account(event.account_id):
                self._push(delivery)

    def _push(self, item: Delivery | bytes) -> None:
        if not self.outbox.push(item):
            self.close(4008, "slow_consumer")

    def send_frame(self, frame: bytes) -> None:
        """Queue a frame the door has encoded (acks, errors, notices)."""
        self._push(frame)

    def follow(self, stream: str, after: int) -> None:
        """Subscribe live to a stream this persona just joined, starting after ``after``."""
        if stream in self._cursors or stream in self._pending:
            return
        self._cursors[stream] = after
        self._bus.subscribe(stream, self)

    def unfollow(self, stream: str) -> None:
        self._bus.unsubscribe(stream, self)
        self._cursors.pop(stream, None)
        self._pending.pop(stream, None)

    def _fill_gap(self, stream: str, first_live: Delivery) -> None:
        self._pending[stream] = [first_live]
        task = asyncio.get_running_loop().create_task(self._catch_up(stream))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, stream: str, after: int,
                    limit: int) -> tuple[list[NumberedEvent], int | None, int]:
        """Stored events of a room or conversation stream, after ``after``."""
        assert self.persona is not None
        kind, _, key = stream.partition(":")
        if kind == "room":
            rooms = await self._rooms.catch_up(self.persona.id, RoomId(key), after, limit)
            return list(rooms[0]), rooms[1], rooms[2]
        if kind == "scene":
            scenes = self._private.scenes.scenes.catch_up(self.persona.id, key, after, limit)
            return list(scenes[0]), scenes[1], scenes[2]
        convs = await self._private.conversations.catch_up(
            self.persona.id, ConversationId(key), after, limit)
        return list(convs[0]), convs[1], convs[2]

    def _skip_missing(self, stream: str, cursor: int, last: int) -> int:
        """After reading everything stored: what is neither stored nor buffered live was
        deleted (retention, everyone read it) and is not waited for."""
        pending = self._pending.get(stream)
        if pending:
            first_live = pending[0].event
            assert isinstance(first_live, RoomEvent | ConversationEvent | SceneEvent)
            return max(cursor, min(last, first_live.seq - 1))
        return max(cursor, last)

    async def _catch_up(self, stream: str) -> None:
        """Read from the database what this connection missed, then release what arrived
        live in the meantime. Never raises into the caller: a failure closes the
        connection, and the client resumes from what it has."""
        assert self.persona is not None
        try:
            cursor = self._cursors.get(stream, 0)
            while True:
                await self.outbox.wait_drained()
                page = self.outbox.page_size
                events, _first, last = await self._read(stream, cursor, page)
                cursor = self._queue_stored(events, cursor)
                if len(events) < page:
                    break
            self._release(stream, self._skip_missing(stream, cursor, last))
        except asyncio.CancelledError:
            raise
        except TrystError:
            # Left or removed while catching up: the stream is simply no longer followed.
            self.unfollow(stream)
        except Exception:
            log.exception("catch-up failed for %s", stream)
            self.close(1011, "internal_error")

    def _queue_stored(self, events: list[NumberedEvent], cursor: int) -> int:
        for event in events:
            if event.seq > cursor:
                cursor = event.seq
                if not self._hides(event):
                    self._push(Delivery(event))
        return cursor

    def _release(self, stream: str, cursor: int) -> None:
        pending = self._pending.pop(stream, None)
        if pending is None:
            return  # unfollowed (left, kicked, persona switched) while catching up
        self._cursors[stream] = cursor
        for delivery in pending:
            self.deliver(delivery)

    # ------------------------------------------------------------ commands

    def actor(self) -> Actor:
        if self.persona is None:
            raise NoPersona("choose a persona first (hello with a persona, or switch_persona)")
        return Actor(self.account, self.persona)

    def submit(self, command: c.AnyCommand) -> asyncio.Future[RoomEvent] | None:
        """Start a say, pose, ooc or notice without waiting for it to be stored (so a
        client can pipeline lines); None for any other command. Raises at once for
        problems that need no database (no persona, bad text, rate limit)."""
        kind = _PIPELINED.get(type(command))
        if kind is None:
            return None
        actor = self.actor()
        assert isinstance(command, c.Say | c.Pose | c.Ooc | c.PostNotice)
        return self._rooms.submit_line(actor, command.room_id, kind, command.text)

    async def execute(self, command: c.AnyCommand) -> object:
        """Run one command for this connection and return its typed result."""
        if isinstance(command, PRIVATE_TYPES):
            return await self._private.run(self.account, self.persona, command)
        match command:
            case c.Ping():
                return None
            case c.SelectPersona(persona_id=pid, resume=resume):
                return await self._select(pid, resume)
            case c.ListRooms(query=q, limit=limit, offset=offset):
                return await self._rooms.list_public(q, limit, offset)
        actor = self.actor()
        match command:
            case c.JoinRoom(room_id=rid):
                room, member, created = await self._rooms.join(actor, rid)
                return Joined(room, member, created)
            case c.LeaveRoom(room_id=rid):
                await self._rooms.leave(actor, rid)
                return None
            case c.Say(room_id=rid, text=text):
                return await self._rooms.post(actor, rid, EventKind.SAY, text)
            case c.Pose(room_id=rid, text=text):
                return await self._rooms.post(actor, rid, EventKind.POSE, text)
            case c.Ooc(room_id=rid, text=text):
                return await self._rooms.post(actor, rid, EventKind.OOC, text)
            case c.PostNotice(room_id=rid, text=text):
                return await self._rooms.notice(actor, rid, text)
            case c.SendWhisper(room_id=rid, to_persona_id=to, text=text):
                return await self._rooms.whisper(actor, rid, to, text)
            case c.SetTopic(room_id=rid, topic=topic):
                return await self._rooms.update(actor, rid, {"topic": topic})
            case c.Who(room_id=rid):
                return [WhoEntry(p, role, online, status)
                        for p, role, online, status in await self._rooms.who(actor, rid)]
            case c.History(room_id=rid, before=before, limit=limit):
                return await self._rooms.history(actor, rid, before, limit)
        raise InvalidInput(f"unsupported command {type(command).__name__}")

    async def _select(self, persona_id: str, resume: dict[str, int] | object) -> Selected:
        persona = await self._personas.owned(self.account, persona_id)
        assert isinstance(resume, dict)
        for stream, seq in resume.items():
            if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
                raise InvalidInput("resume positions must be whole numbers, 0 or more",
                                   details={"stream": stream})
        previous = self.persona
        self._unsubscribe_all()
        for task in self._tasks:
            task.cancel()  # catch-ups for the previous persona's streams
        self.persona = persona
        if self.on_persona_change is not None:
            self.on_persona_change(self, previous, persona)
        inbox = inbox_stream(persona.id)
        self._live.add(inbox)
        self._bus.subscribe(inbox, self)
        streams = [room_stream(m.room_id) for m in await self._rooms.memberships(persona.id)]
        streams += [conversation_stream(cid)
                    for cid in await self._private.conversations.active_ids(persona.id)]
        streams += [scene_stream(sid)
                    for sid in self._private.scenes.scenes.scene_ids(persona.id)]
        states: dict[str, StreamState] = {}
        for stream in streams:
            try:
                states[stream] = await self._attach(stream, resume.get(stream))
            except TrystError:
                continue  # left or removed between listing and attaching
        return Selected(persona, states)

    async def _attach(self, stream: str, resume_after: int | None) -> StreamState:
        """Subscribe first, then read: whatever is published while we read is buffered
        and released afterwards, de-duplicated by the cursor."""
        assert self.persona is not None
        self._pending[stream] = []
        self._bus.subscribe(stream, self)
        try:
            if resume_after is None:
                _, first, last = await self._read(stream, NO_LATER, 1)
                self._release(stream, last)
                return StreamState(last, first, None, False)
            cursor = resume_after
            page = self.outbox.page_size
            await self.outbox.wait_drained()
            events, first, last = await self._read(stream, cursor, page)
            truncated = cursor < last and (first is None or cursor < first - 1)
            cursor = min(cursor, last)  # a cursor from the future: start from now
            while True:
                cursor = self._queue_stored(events, cursor)
                if len(events) < page:
                    break
                # Let the writer send this page before reading the next: a long absence
                # must not overflow the outbox or hold the whole backlog in memory.
                await self.outbox.wait_drained()
                events, first, last = await self._read(stream, cursor, page)
            self._release(stream, self._skip_missing(stream, cursor, last))
            return StreamState(last, first, resume_after, truncated)
        except TrystError:
            self._pending.pop(stream, None)
            self._bus.unsubscribe(stream, self)
            raise
