"""The WebSocket door: JSON protocol v1 (docs/protocol.md).

Reading goes through Starlette's WebSocket: one loop per connection executes commands in
order. Writing goes through the raw socket (doors/rawsocket.py): each event is framed
once for all recipients; a connection's outbox is flushed with one write per
event-loop pass, so a busy room costs one system call per connection per pass, not
one per message."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from tryst import conversation_presenters as cp
from tryst import presenters, scene_presenters
from tryst.clock import Clock
from tryst.config import Settings
from tryst.domain import commands as c
from tryst.domain import scene_commands as sc
from tryst.domain.errors import NotAuthenticated, TrystError
from tryst.domain.events import ConversationEvent, Event, RoomEvent, SceneEvent, Signal, Whisper
from tryst.domain.media import MediaCommand, PostImage, ViewMedia
from tryst.doors.rawsocket import RAW_SOCKET, RawSocket
from tryst.protocols import wsjson
from tryst.protocols.wsjson import messages as m
from tryst.services.accounts import AccountService
from tryst.services.personas import PersonaService
from tryst.services.ratelimits import RateLimiter
from tryst.services.rooms import RoomService
from tryst.sessions.outbox import Outbox
from tryst.sessions.private import PRIVATE_TYPES, PrivateCommands
from tryst.sessions.registry import SessionRegistry
from tryst.sessions.session import Session, StreamState
from tryst.web.auth import origin_allowed, request_token

log = logging.getLogger(__name__)

FORMAT = "wsjson/1"
MAX_FLUSH = 1024  # frames per write; the rest go in the next pass
MAX_PIPELINE = 64  # lines one connection may have waiting to be stored


def encode_event(event: Event) -> bytes:
    if type(event) is RoomEvent:
        return wsjson.text_frame(presenters.room_event(event))
    if type(event) is ConversationEvent:
        return wsjson.text_frame(presenters.conversation_event(event))
    if type(event) is SceneEvent:
        return wsjson.text_frame(scene_presenters.scene_event(event))
    if type(event) is Signal:
        return wsjson.text_frame(presenters.signal(event))
    assert isinstance(event, Whisper)
    return wsjson.text_frame(presenters.whisper(event))


def _error(code: str, message: str, msg_id: str | None,
           details: dict[str, object] | None = None) -> bytes:
    frame: dict[str, Any] = {"type": "error", "id": msg_id, "code": code, "message": message}
    if details:
        frame["details"] = details
    return wsjson.text_frame(frame)


def _ack(msg_id: str, result: dict[str, Any]) -> bytes:
    return wsjson.text_frame({"type": "ack", "id": msg_id, "result": result})


class FlushScheduler:
    """Runs every dirty connection's flush in one callback per event-loop pass: a room
    event dirties a thousand connections, and one scheduled callback is much cheaper
    than a thousand."""

    __slots__ = ("_dirty", "_loop", "_scheduled")

    def __init__(self) -> None:
        self._dirty: list[Flusher] = []
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def mark(self, flusher: Flusher) -> None:
        self._dirty.append(flusher)
        if not self._scheduled:
            self._scheduled = True
            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            self._loop.call_soon(self._run)

    def _run(self) -> None:
        self._scheduled = False
        dirty, self._dirty = self._dirty, []
        for flusher in dirty:
            flusher.flush()


class Flusher:
    """Writes a connection's outbox to its socket: at most once per event-loop pass, and
    only while the socket accepts data (else it waits, and the outbox fills up until the
    connection is dropped as too slow)."""

    __slots__ = ("_marked", "_outbox", "_raw", "_scheduler", "_waiting")

    def __init__(self, raw: RawSocket, outbox: Outbox, scheduler: FlushScheduler) -> None:
        self._raw = raw
        self._outbox = outbox
        self._scheduler = scheduler
        self._marked = False
        self._waiting: asyncio.Task[None] | None = None
        outbox.on_ready = self.kick

    def kick(self) -> None:
        if not self._marked:
            self._marked = True
            self._scheduler.mark(self)

    def flush(self) -> None:
        self._marked = False
        outbox = self._outbox
        if not outbox:
            return
        raw = self._raw
        if not raw.open:
            outbox.close()  # nobody will read it: release catch-ups waiting for a drain
            return
        if not raw.writable:
            if self._waiting is None:
                self._waiting = asyncio.get_running_loop().create_task(self._resume())
            return
        items = outbox.take(MAX_FLUSH)
        if len(items) == 1:
            item = items[0]
            raw.write(item if type(item) is bytes else item.frame(FORMAT, encode_event))  # type: ignore[union-attr]
        else:
            raw.write(b"".join([
                item if type(item) is bytes else item.frame(FORMAT, encode_event)  # type: ignore[union-attr]
                for item in items]))
        if outbox:
            self.kick()

    async def _resume(self) -> None:
        await self._raw.wait_writable()  # also set when the connection is lost
        self._waiting = None
        self.kick()

    def stop(self) -> None:
        if self._waiting is not None:
            self._waiting.cancel()


def _stream_state(s: StreamState) -> dict[str, Any]:
    return {"last_seq": s.last_seq, "first_seq": s.first_seq,
            "resumed_after": s.resumed_after, "truncated": s.truncated}


def _set_fields(msg: Any) -> dict[str, Any]:
    """The optional fields a settings message actually gave (null means "leave as is")."""
    return {k: v for k, v in msg.model_dump(exclude_unset=True).items()
            if k not in ("id", "type", "conversation") and v is not None}


def to_command(msg: Any) -> c.AnyCommand:
    """Wire message -> the door-independent command."""
    private = _to_private(msg)
    if private is not None:
        return private
    match msg:
        case m.SwitchPersona():
            return c.SelectPersona(msg.persona, dict(msg.resume))
        case m.Join():
            return c.JoinRoom(msg.room)
        case m.Leave():
            return c.LeaveRoom(msg.room)
        case m.Say():
            return c.Say(msg.room, msg.text)
        case m.Pose():
            return c.Pose(msg.room, msg.text)
        case m.Ooc():
            return c.Ooc(msg.room, msg.text)
        case m.Whisper():
            return c.SendWhisper(msg.room, msg.to, msg.text)
        case m.Notice():
            return c.PostNotice(msg.room, msg.text)
        case m.SetTopic():
            return c.SetTopic(msg.room, msg.topic)
        case m.Who():
            return c.Who(msg.room)
        case m.History():
            return c.History(msg.room, msg.before, msg.limit)
        case m.ListRooms():
            return c.ListRooms(msg.query, msg.limit, msg.offset)
        case m.Ping():
            return c.Ping()
    raise TypeError(type(msg).__name__)


def _to_private(msg: Any) -> c.PrivateCommand | sc.SceneCommand | MediaCommand | None:
    match msg:
        case m.Request():
            return c.SendRequest(msg.to, msg.text, msg.style, tuple(msg.confirm))
        case m.CreateGroup():
            return c.CreateGroup(tuple(msg.personas), msg.title, msg.text)
        case m.Invite():
            return c.InviteToConversation(msg.conversation, msg.persona)
        case m.Requests():
            return c.ListRequests()
        case m.OpenRequest():
            return c.OpenRequest(msg.conversation)
        case m.Accept():
            return c.AcceptRequest(msg.conversation)
        case m.Decline():
            return c.DeclineRequest(msg.conversation, msg.block)
        case m.Send():
            return c.SendMessage(msg.conversation, msg.text, msg.style, tuple(msg.confirm))
        case m.Read():
            return c.MarkRead(msg.conversation, msg.seq)
        case m.Typing():
            return c.SetTyping(msg.conversation, msg.typing)
        case m.ConversationSettings():
            return c.ConfigureConversation(msg.conversation, _set_fields(msg))
        case m.Clear():
            return c.ClearConversation(msg.conversation)
        case m.LeaveConversation():
            return c.LeaveConversation(msg.conversation)
        case m.Conversations():
            return c.ListConversations()
        case m.ConversationHistory():
            return c.ConversationHistory(msg.conversation, msg.before, msg.limit)
        case m.Block():
            return c.BlockPersona(msg.persona)
        case m.Unblock():
            return c.UnblockPersona(msg.persona)
        case m.Blocks():
            return c.ListBlocks()
        case m.Mute():
            return c.MutePersona(msg.persona, msg.minutes)
        case m.Unmute():
            return c.UnmutePersona(msg.persona)
        case m.Mutes():
            return c.ListMutes()
        case m.SetBoundaries():
            return c.SetBoundaries(_set_fields(msg))
        case m.GetBoundaries():
            return c.GetBoundaries()
        case m.Presence():
            return c.QueryPresence(tuple(msg.personas))
    return _to_scene(msg)


def _choices(value: dict[Any, bool] | None) -> dict[str, bool] | None:
    return None if value is None else {str(k): v for k, v in value.items()}


def _to_scene(msg: Any) -> sc.SceneCommand | MediaCommand | None:
    match msg:
        case m.ProposeScene():
            return sc.ProposeScene(tuple(msg.personas), msg.title, tuple(msg.tags),
                                   tuple(msg.channels), _choices(msg.choices), msg.minutes)
        case m.AcceptScene():
            return sc.AcceptScene(msg.scene, _choices(msg.choices) or {}, msg.minutes, msg.version)
        case m.DeclineScene():
            return sc.DeclineScene(msg.scene)
        case m.CounterScene():
            return sc.CounterScene(msg.scene, msg.title, tuple(msg.tags),
                                   tuple(msg.channels), _choices(msg.choices), msg.minutes)
        case m.StartScene():
            return sc.StartScene(msg.scene)
        case m.SceneSend():
            return sc.SceneSend(msg.scene, msg.text, msg.style)
        case m.Red():
            return sc.CallRed(msg.scene)
        case m.Yellow():
            return sc.CallYellow(msg.scene)
        case m.ResumeScene():
            return sc.ConfirmResume(msg.scene)
        case m.LeaveScene():
            return sc.LeaveScene(msg.scene)
        case m.EndScene():
            return sc.EndScene(msg.scene)
        case m.Grant():
            return sc.GrantChannel(msg.scene, msg.channel, msg.minutes)
        case m.Revoke():
            return sc.RevokeChannel(msg.scene, msg.channel)
        case m.Scenes():
            return sc.ListScenes()
        case m.Logs():
            return sc.ListLogs()
        case m.ExportLog():
            return sc.ExportLog(msg.log, msg.format)
        case m.WithdrawLog():
            return sc.WithdrawLog(msg.log)
        case m.VerifyMessages():
            return sc.VerifyMessages(tuple(
                sc.FrankedLine(x.sender, x.stream, x.seq, x.at, x.text, x.tag)
                for x in msg.messages))
        case m.PostImage():
            return PostImage(msg.media, msg.room, msg.conversation, msg.scene, msg.caption,
                             msg.view_once)
        case m.ViewMedia():
            return ViewMedia(msg.media, msg.reveal)
    return None


def render_result(command: c.AnyCommand, result: Any) -> dict[str, Any]:
    """The ack's ``result`` for each command (docs/protocol.md lists them)."""
    if isinstance(command, PRIVATE_TYPES):
        return cp.render_private(command, result)
    match command:
        case c.SelectPersona():
            return {"persona": presenters.persona_card(result.persona),
                    "streams": {k: _stream_state(v) for k, v in result.streams.items()}}
        case c.JoinRoom():
            return {"room": presenters.room(result.room),
                    "membership": presenters.membership(result.membership),
                    "created": result.created}
        case c.Say() | c.Pose() | c.Ooc() | c.PostNotice():
            return {"stream": result.stream, "seq": result.seq}
        case c.SendWhisper():
            return {"delivered": True, "at": result.at.isoformat()}
        case c.SetTopic():
            return {"room": presenters.room(result)}
        case c.Who():
            return {"members": [{"persona": presenters.persona_ref(e.persona),
                                 "role": e.role.value, "online": e.online,
                                 "presence": presenters.presence(e.online, e.status)}
                                for e in result]}
        case c.History():
            return {"events": [presenters.room_event(e) for e in result]}
        case c.ListRooms():
            return {"rooms": [presenters.room(r, n) for r, n in result]}
    return {}


@dataclass
class WebSocketDoor:
    settings: Settings
    clock: Clock
    accounts: AccountService
    personas: PersonaService
    rooms: RoomService
    registry: SessionRegistry
    bus: Any
    address_limiter: RateLimiter
    private: PrivateCommands
    flushes: FlushScheduler = field(default_factory=FlushScheduler)

    async def __call__(self, websocket: WebSocket) -> None:
        if not origin_allowed(websocket, self.settings):
            await websocket.close(code=4003, reason="origin_not_allowed")
            return
        raw = websocket.scope.get("extensions", {}).get(RAW_SOCKET)
        if not isinstance(raw, RawSocket):
            # Served by something other than `tryst serve`'s uvicorn configuration.
            log.error("WebSocket refused: the server lacks the %s extension", RAW_SOCKET)
            await websocket.close(code=1011, reason="server_misconfigured")
            return
        await websocket.accept()
        outbox = Outbox(self.settings.outbox_limit)
        flusher = Flusher(raw, outbox, self.flushes)
        closing: list[asyncio.Task[None]] = []
        closed = asyncio.Event()

        def closer(code: int, reason: str) -> None:
            """Close after what is queued (e.g. the error saying why) has been written.
            Callable from anywhere, including synchronous bus delivery."""
            if closing:
                return
            flusher.flush()
            outbox.close()
            task = asyncio.get_running_loop().create_task(self._close(websocket, code, reason))
            task.add_done_callback(lambda _: closed.set())
            closing.append(task)

        holder: list[Session] = []
        address = websocket.client.host if websocket.client else "unknown"
        serving = asyncio.create_task(self._serve(websocket, outbox, address, closer, holder))
        stop = asyncio.create_task(closed.wait())
        try:
            # Either the client goes away (serving ends) or we close it (stop fires): in
            # the second case, stop reading at once; a client that stopped reading
            # must not keep its session, subscriptions and memory.
            await asyncio.wait({serving, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (serving, stop):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await serving
            if holder:
                self.registry.unregister(holder[0])
            outbox.close()
            flusher.stop()
            if closing:
                await closing[0]

    async def _serve(self, websocket: WebSocket, outbox: Outbox, address: str, closer: Any,
                     holder: list[Session]) -> None:
        try:
            session = await self._hello(websocket, outbox, address, closer, holder)
            if session is None:
                return
            await self._read_loop(websocket, session)
        except WebSocketDisconnect:
            pass
        except Exception:
            log.exception("WebSocket connection failed")
            closer(1011, "internal_error")

    async def _close(self, websocket: WebSocket, code: int, reason: str) -> None:
        """Send the close frame, giving up after a short wait: a client that stopped
        reading must not hold the connection open. (asyncio.wait, unlike wait_for, does
        not wait for a send stuck on a full socket to unwind; once the handler returns
        the server drops the socket and the stuck send ends with it.)"""
        if websocket.application_state is WebSocketState.CONNECTED:
            send_close = asyncio.ensure_future(self._send_close(websocket, code, reason))
            await asyncio.wait({send_close}, timeout=2)

    @staticmethod
    async def _send_close(websocket: WebSocket, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await websocket.close(code=code, reason=reason[:120])

    async def _receive(self, websocket: WebSocket) -> str | bytes | None:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        return text if text is not None else message.get("bytes")

    def _decode(self, raw: str | bytes | None, address: str) -> Any:
        if isinstance(raw, bytes):
            raise wsjson.ProtocolError("binary_frame", "send JSON as text frames")
        msg = wsjson.decode_client_frame(raw or "", self.settings.max_frame_bytes)
        try:
            self.address_limiter.check(address)
        except TrystError as exc:
            # Throttle after decoding (bounded by the frame limit) so the error can carry
            # the command's id.
            raise wsjson.ProtocolError(exc.code, exc.message, id=msg.id,
                                       details=exc.details) from None
        return msg

    async def _hello(self, websocket: WebSocket, outbox: Outbox, address: str,
                     closer: Any, holder: list[Session]) -> Session | None:
        header_token = request_token(websocket)
        # One deadline for the whole greeting: invalid frames do not buy more time.
        deadline = asyncio.get_running_loop().time() + self.settings.hello_timeout
        while True:
            try:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    raise TimeoutError
                raw = await asyncio.wait_for(self._receive(websocket), remaining)
            except TimeoutError:
                outbox.push(_error("hello_timeout", "say hello first", None))
                closer(4000, "hello_timeout")
                return None
            try:
                msg = self._decode(raw, address)
                if not isinstance(msg, m.Hello):
                    raise wsjson.ProtocolError("hello_required",
                                               "the first message must be hello", id=msg.id)
                if msg.version != wsjson.PROTOCOL_VERSION:
                    raise wsjson.ProtocolError(
                        "unsupported_version",
                        f"this server speaks protocol version {wsjson.PROTOCOL_VERSION}",
                        id=msg.id, details={"supported": [wsjson.PROTOCOL_VERSION]})
                account, digest = await self.accounts.authenticate(
                    msg.token or header_token or "")
                boundary = await self.private.boundaries.boundary(account.id)
                session = Session(account=account, token_hash=digest, address=address,
                                  bus=self.bus, rooms=self.rooms, personas=self.personas,
                                  outbox=outbox, private=self.private, boundary=boundary)
                session.set_closer(closer)
                self.registry.register(session)
                holder.append(session)  # from here on, the handler unregisters it
            except wsjson.ProtocolError as exc:
                outbox.push(_error(exc.code, exc.message, exc.id, exc.details))
                continue
            except NotAuthenticated as exc:
                outbox.push(_error(exc.code, exc.message, msg.id))
                closer(4001, "not_authenticated")
                return None
            except TrystError as exc:
                outbox.push(_error(exc.code, exc.message, msg.id, exc.details))
                closer(4029 if exc.code == "limit_reached" else 4000, exc.code)
                return None
            result: dict[str, Any] = {"protocol": wsjson.PROTOCOL_VERSION,
                                      "account": presenters.account(account),
                                      "limits": {"max_frame_bytes": self.settings.max_frame_bytes,
                                                 "max_message_chars":
                                                     self.settings.max_message_chars}}
            if msg.persona is not None:
                try:
                    selected = await session.execute(c.SelectPersona(msg.persona,
                                                                     dict(msg.resume)))
                except TrystError as exc:
                    # Authenticated but the persona is wrong: say so and keep the
                    # connection, so the client can switch_persona to a valid one.
                    outbox.push(_error(exc.code, exc.message, msg.id,
                                       {**exc.details, "authenticated": True}))
                    return session
                result.update(render_result(c.SelectPersona(msg.persona), selected))
            session.send_frame(_ack(msg.id, result))
            return session

    async def _read_loop(self, websocket: WebSocket, session: Session) -> None:
        """Execute commands in the order they arrive. Lines (say, pose, ooc, notice) are
        pipelined: the next frame is read while earlier lines are being stored, so a
        client sending several lines is not held to one database round trip each. Any
        other command first waits for the lines before it; replies leave in arrival
        order."""
        pending: deque[asyncio.Task[None]] = deque()

        def reply_in_order(frame: bytes) -> None:
            if pending and not pending[-1].done():
                pending.append(asyncio.create_task(self._reply_after(
                    session, pending[-1], frame)))
            else:
                session.send_frame(frame)

        try:
            while True:
                raw = await self._receive(websocket)
                msg_id: str | None = None
                try:
                    msg = self._decode(raw, session.address)
                    msg_id = msg.id
                    if isinstance(msg, m.Hello):
                        raise wsjson.ProtocolError("already_authenticated",
                                                   "hello was already said on this connection",
                                                   id=msg_id)
                    command = to_command(msg)
                    stored = session.submit(command)
                    if stored is not None:
                        while pending and pending[0].done():
                            pending.popleft()
                        if len(pending) >= MAX_PIPELINE:
                            await pending[0]  # back-pressure: stop reading for a moment
                        pending.append(asyncio.create_task(self._ack_line(
                            session, msg.id, command, stored, pending[-1] if pending else None)))
                        continue
                    if pending:
                        await pending[-1]  # everything sent before this command is done
                        pending.clear()
                    result = await session.execute(command)
                    session.send_frame(_ack(msg.id, render_result(command, result)))
                except wsjson.ProtocolError as exc:
                    reply_in_order(_error(exc.code, exc.message, exc.id, exc.details))
                except TrystError as exc:
                    reply_in_order(_error(exc.code, exc.message, msg_id, exc.details))
                except Exception:
                    log.exception("command failed")
                    reply_in_order(_error("internal_error", "something went wrong on the "
                                          "server; nothing was acknowledged", msg_id))
        finally:
            for task in pending:
                task.cancel()

    @staticmethod
    async def _reply_after(session: Session, previous: asyncio.Task[None],
                           frame: bytes) -> None:
        await asyncio.wait({previous})
        session.send_frame(frame)

    @staticmethod
    async def _ack_line(session: Session, msg_id: str, command: c.AnyCommand,
                        stored: asyncio.Future[Any], previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait({previous})  # replies in arrival order, whatever the outcome
        try:
            event = await asyncio.shield(stored)
        except TrystError as exc:
            session.send_frame(_error(exc.code, exc.message, msg_id, exc.details))
        except Exception:
            log.exception("storing a line failed")
            session.send_frame(_error("internal_error", "something went wrong on the server; "
                                      "nothing was acknowledged", msg_id))
        else:
            session.send_frame(_ack(msg_id, render_result(command, event)))
