"""Scenes: proposals, informed answers, enforced grants, the safeword, leaving.

A scene lives in this process's memory: its card, participants and grants, and a
bounded buffer of its events for delivery and resume. Nothing of its content is
written anywhere unless every participant present turned logging on (then it goes,
encrypted, to services/scenelogs.py). The database keeps only the consent record
(who granted or revoked which channel, when, until when). A restart ends every scene.

Every action runs under the scene's lock: the domain decides (domain/scenes.py), the
consent record is committed, then the new state is installed and the events are
numbered, buffered and published. Recipients are chosen when each event is built, from
the grants in force at that moment, so a revocation applies to the very next event."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from tryst.clock import Clock
from tryst.config import Settings
from tryst.domain import consent
from tryst.domain import scenes as sc
from tryst.domain.consent import Channel
from tryst.domain.errors import InvalidInput, LimitReached, NotFound, NotMember, TrystError
from tryst.domain.events import SceneEvent, Signal
from tryst.domain.personas import Persona
from tryst.domain.rooms import SPOKEN_KINDS, EventKind, validate_message
from tryst.domain.safety.verdicts import Place as SafetyPlace
from tryst.domain.scenelogs import ConsentRecord
from tryst.domain.scenes import ParticipantState, Scene, SceneStatus
from tryst.domain.tags import TagVocabulary
from tryst.ids import AccountId, PersonaId, inbox_stream, new_scene_id, scene_stream
from tryst.ports import Bus, UnitOfWorkFactory
from tryst.services.actor import Actor, current_persona
from tryst.services.franking import Franker
from tryst.services.ratelimits import RateLimiter
from tryst.services.requests import RequestService
from tryst.services.safety import SafetyService
from tryst.services.scenelogs import SceneLogService

log = logging.getLogger(__name__)

CHECK_IN = ("Red was called: the scene is paused for everyone. Are you all right? "
            "Take the time you need. It resumes only when everyone confirms; "
            "anyone may leave without a reason.")


@dataclass
class LiveScene:
    scene: Scene
    buffer: deque[SceneEvent]
    seq: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    logged: bool = False  # a stored log was opened (and not shredded since)
    shredded: bool = False  # someone withdrew: this scene is not logged again


@dataclass(frozen=True, slots=True)
class SceneView:
    """A scene as one participant sees it."""

    scene: Scene
    me: sc.Participant
    conflicts: list[str]  # the card's tags this participant marked no or hard-limited
    last_seq: int
    logging: bool


@dataclass(frozen=True, slots=True)
class Author:
    id: PersonaId
    name: str
    account_id: AccountId

    @staticmethod
    def of(p: Persona | sc.Participant) -> Author:
        if isinstance(p, Persona):
            return Author(p.id, p.name, p.account_id)
        return Author(p.persona_id, p.name, p.account_id)


# (kind, author, text, data, channel or None for a notice to everyone in the audience)
_Draft = tuple[str, Author | None, str, dict[str, object], Channel | None]


class SceneService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, settings: Settings, bus: Bus,
                 requests: RequestService, vocabulary: TagVocabulary, franker: Franker,
                 logs: SceneLogService, message_limiter: RateLimiter,
                 safety: SafetyService | None = None) -> None:
        self._uow = uow
        self._safety = safety
        self._clock = clock
        self._settings = settings
        self._bus = bus
        self._requests = requests
        self._tag_names = {t.id: t.name for t in vocabulary.tags()}
        self._franker = franker
        self._logs = logs
        self._limiter = message_limiter
        self._live: dict[str, LiveScene] = {}
        self._of: dict[PersonaId, set[str]] = {}  # persona -> scenes it can see
        # Called with the id of each scene that ends (its images are deleted then).
        self.on_end: list[Callable[[str], Awaitable[None]]] = []

    # ------------------------------------------------------------ lookups

    def _guard(self, actor: Actor) -> None:
        if self._safety is not None:
            self._safety.guard(actor.account.id)

    def _get(self, scene_id: str, persona_id: PersonaId) -> LiveScene:
        live = self._live.get(scene_id)
        if live is None:
            raise NotFound("no such scene")
        who = live.scene.participant(persona_id)
        if who is None or who.state not in sc.VISIBLE:
            raise NotFound("no such scene")
        return live

    def scene_ids(self, persona_id: PersonaId) -> list[str]:
        """Scenes whose stream this persona follows."""
        return sorted(self._of.get(persona_id, ()))

    def _taking_part(self, persona_id: PersonaId) -> int:
        """Scenes this persona proposed or accepted (invitations it has not answered do not
        count: a stranger must not be able to use up someone's scenes)."""
        joined = (ParticipantState.ACCEPTED, ParticipantState.PRESENT)
        return sum(1 for sid in self._of.get(persona_id, ())
                   if (p := self._live[sid].scene.participant(persona_id)) is not None
                   and p.state in joined)

    def catch_up(self, persona_id: PersonaId, scene_id: str, after: int,
                 limit: int) -> tuple[list[SceneEvent], int | None, int]:
        """Buffered events after ``after`` (the session keeps those addressed to this
        persona), the oldest still buffered and the latest seq."""
        live = self._live.get(scene_id)
        if live is None or persona_id not in live.scene.audience:
            raise NotMember("not taking part in this scene")
        events = [e for e in live.buffer if e.seq > after][:limit]
        first = live.buffer[0].seq if live.buffer else None
        return events, first, live.seq

    def view(self, live: LiveScene, persona: Persona) -> SceneView:
        me = live.scene.participant(persona.id)
        assert me is not None
        return SceneView(live.scene, me, sc.conflicts(live.scene.card, persona,
                                                      self._tag_names),
                         live.seq, not live.shredded
                         and sc.logging_on(live.scene, self._clock.now()))

    async def list_for(self, actor: Actor) -> list[SceneView]:
        return [self.view(self._live[sid], actor.persona)
                for sid in self.scene_ids(actor.persona.id) if sid in self._live]

    async def get(self, actor: Actor, scene_id: str) -> SceneView:
        return self.view(self._get(scene_id, actor.persona.id), actor.persona)

    # ------------------------------------------------------------ the one way to change

    async def _change(self, live: LiveScene, move: Callable[[Scene, datetime], Scene],
                      drafts: Callable[[Scene, Scene], list[_Draft]]) -> list[SceneEvent]:
        """Decide, record, install, publish: every action goes through here."""
        now = self._clock.now()
        before = live.scene
        after = move(before, now)
        lines = drafts(before, after)
        records = _consent_diff(before, after, now)
        content = [d for d in lines if d[4] is not None]
        if live.logged and not self._logs.has_key(after.id):
            # The key went some other way (removed by hand): fail safe, log no more.
            live.logged, live.shredded = False, True
        log = bool(content) and not live.shredded and sc.logging_on(after, now)
        events = self._number(live, before, after, lines, now)
        if records or log:
            async with self._uow() as uow:
                await uow.scenelogs.record_consent(records)
                if log:
                    if not live.logged:
                        await self._logs.open(uow, after, now)
                    await uow.scenelogs.add_entries(
                        [self._logs.seal(e) for e in events if e.channel is not None])
                await uow.commit()
            if log:
                live.logged = True
        live.scene = after
        live.seq += len(events)
        self._install(live, before, after)
        for event in events:
            live.buffer.append(event)
            self._bus.publish(event)
        if after.status is SceneStatus.ENDED:
            for hook in self.on_end:
                await hook(after.id)
        return events

    def _number(self, live: LiveScene, before: Scene, after: Scene, lines: list[_Draft],
                at: datetime) -> list[SceneEvent]:
        """Build the move's events. Notices go to everyone who could see the scene before
        or after the move, except that whoever leaves or declines gets nothing after
        their own notice; content goes to those whose grant covers it now. Connections
        start following with the first event and stop after the last they receive."""
        everyone = before.audience | after.audience
        follow = after.audience - before.audience
        ended = after.status is SceneStatus.ENDED
        gone: set[PersonaId] = set()
        out = []
        stream = scene_stream(after.id)
        for i, (kind, author, text, data, channel) in enumerate(lines):
            seq = live.seq + 1 + i
            to = sc.recipients(after, channel, at) if channel else frozenset(everyone - gone)
            unfollow: set[PersonaId] = set()
            if kind in ("left", "declined") and author is not None:
                unfollow.add(author.id)
            if i == len(lines) - 1:
                # Whoever no longer sees the scene (everyone, once it has ended).
                unfollow |= (everyone if ended else everyone - after.audience) - gone
            gone |= unfollow
            out.append(SceneEvent(
                scene_id=after.id, seq=seq, at=at, kind=kind,
                persona_id=author.id if author else None,
                persona_name=author.name if author else None, text=text, to=to,
                data=data, account_id=author.account_id if author else None,
                channel=channel.value if channel else None,
                tag=self._franker.tag(author.id, stream, seq, at, text)
                if author and channel else None,
                follow=follow if i == 0 else frozenset(), unfollow=frozenset(unfollow)))
        return out

    def _install(self, live: LiveScene, before: Scene, after: Scene) -> None:
        for pid in before.audience - after.audience:
            ids = self._of.get(pid)
            if ids is not None:
                ids.discard(after.id)
                if not ids:
                    del self._of[pid]
        for pid in after.audience:
            self._of.setdefault(pid, set()).add(after.id)
        if after.status is SceneStatus.ENDED:
            # Its content goes with it: nothing of it was written anywhere.
            self._live.pop(after.id, None)
            for pid in before.audience:
                ids = self._of.get(pid)
                if ids is not None:
                    ids.discard(after.id)
                    if not ids:
                        del self._of[pid]

    # ------------------------------------------------------------ proposing and answering

    async def propose(self, actor: Actor, persona_ids: list[str], title: str,
                      tags: list[str], channels: list[str], choices: Mapping[str, bool] | None,
                      minutes: int | None) -> SceneView:
        self._guard(actor)
        card = sc.validate_card(title, tags, channels, self._tag_names)
        invitees = sc.validate_invitees(persona_ids, actor.persona.id)
        span = consent.validate_minutes(minutes)
        mine = choices if choices is not None else {c.value: True for c in card.channels}
        sc.check_choices(card, mine)
        if self._taking_part(actor.persona.id) >= self._settings.scenes_per_persona:
            raise LimitReached(f"at most {self._settings.scenes_per_persona} scenes at once",
                               details={"limit": self._settings.scenes_per_persona})
        self._requests.limit(actor.account.id, len(invitees))
        async with self._uow(readonly=True) as uow:
            proposer = await current_persona(uow, actor)
            screened = [await self._requests.screen(uow, proposer, p) for p in invitees]
        now = self._clock.now()
        scene = sc.propose(new_scene_id(), proposer, screened, card, mine, now, span)
        # Start from the same scene with nobody in it, so that the proposal is an
        # ordinary change: everyone in it starts following, the grants are recorded.
        live = LiveScene(scene=replace(scene, participants=()),
                         buffer=deque(maxlen=self._settings.scene_buffer_events))
        self._live[scene.id] = live
        author = Author.of(proposer)
        try:
            async with live.lock:
                await self._change(live, lambda _s, _at: scene, lambda _b, a: [
                    ("proposed", author, "", _card_data(a), None)])
        except BaseException:
            self._live.pop(scene.id, None)  # nothing was published: no trace of it
            raise
        for target, shown in screened:
            if shown:
                self._notify(target, proposer, scene)
        return self.view(live, proposer)

    def _notify(self, invitee: Persona, proposer: Persona, scene: Scene) -> None:
        signal = Signal(stream=inbox_stream(invitee.id), kind="scene_invite",
                        at=self._clock.now(), persona_id=proposer.id,
                        persona_name=proposer.name, account_id=proposer.account_id,
                        to=frozenset({invitee.id}),
                        data={"scene": scene.id, "title": scene.card.title})
        asyncio.get_running_loop().call_soon(self._bus.publish, signal)

    async def accept(self, actor: Actor, scene_id: str, choices: Mapping[str, bool],
                     minutes: int | None, version: int | None = None) -> SceneView:
        self._guard(actor)
        span = consent.validate_minutes(minutes)
        live = self._get(scene_id, actor.persona.id)
        me = Author.of(actor.persona)
        async with live.lock:
            await self._change(
                live, lambda s, at: sc.accept(s, me.id, choices, at, span, version),
                lambda b, a: [("accepted", me, "", {"channels": _granted(a, me.id)}, None),
                              *_started(b, a)])
        return self.view(live, actor.persona)

    async def decline(self, actor: Actor, scene_id: str) -> None:
        """No reason is asked and none is shown."""
        live = self._get(scene_id, actor.persona.id)
        me = Author.of(actor.persona)
        async with live.lock:
            await self._change(live, lambda s, at: sc.decline(s, me.id, at),
                               lambda b, a: [("declined", me, "", {}, None),
                                             *_after_leave(b, a)])

    async def counter(self, actor: Actor, scene_id: str, title: str, tags: list[str],
                      channels: list[str], choices: Mapping[str, bool] | None,
                      minutes: int | None) -> SceneView:
        card = sc.validate_card(title, tags, channels, self._tag_names)
        span = consent.validate_minutes(minutes)
        mine = choices if choices is not None else {c.value: True for c in card.channels}
        live = self._get(scene_id, actor.persona.id)
        me = Author.of(actor.persona)
        async with live.lock:
            await self._change(live,
                               lambda s, at: sc.counter(s, me.id, card, mine, at, span),
                               lambda _b, a: [("countered", me, "", _card_data(a), None)])
        return self.view(live, actor.persona)

    async def start(self, actor: Actor, scene_id: str) -> SceneView:
        live = self._get(scene_id, actor.persona.id)
        me = Author.of(actor.persona)
        async with live.lock:
            await self._change(live, lambda s, at: sc.start(s, me.id, at), _started)
        return self.view(live, actor.persona)

    # ------------------------------------------------------------ content

    async def send(self, actor: Actor, scene_id: str, kind: EventKind,
                   text: str) -> SceneEvent:
        if kind not in SPOKEN_KINDS:
            raise InvalidInput("style must be say, pose or ooc", details={"field": "style"})
        clean = validate_message(text, self._settings.max_message_chars)
        self._limiter.check(actor.persona.id)
        live = self._get(scene_id, actor.persona.id)
        me = Author.of(actor.persona)
        if self._safety is not None:
            to = sc.recipients(live.scene, Channel.TEXT, self._clock.now()) - {me.id}
            self._safety.screen(actor, clean, SafetyPlace.SCENE, new_contact=False,
                                to=sorted(to))
        async with live.lock:
            def move(s: Scene, at: datetime) -> Scene:
                sc.check_send(s, me.id, Channel.TEXT, at)
                return s
            (event,) = await self._change(
                live, move, lambda _b, _a: [(kind.value, me, clean, {}, Channel.TEXT)])
        return event

    async def send_image(self, actor: Actor, scene_id: str, caption: str,
                         media: dict[str, object]) -> SceneEvent:
        """An image line: delivered only to those whose images grant covers it now."""
        self._limiter.check(actor.persona.id)
        live = self._get(scene_id, actor.persona.id)
        me = Author.of(actor.persona)
        async with live.lock:
            def move(s: Scene, at: datetime) -> Scene:
                sc.check_send(s, me.id, Channel.IMAGES, at)
                return s
            (event,) = await self._change(
                live, move, lambda _b, _a: [("image", me, caption, {"media": media},
                                             Channel.IMAGES)])
        return event

    def image_audience(self, scene_id: str, sender: PersonaId) -> frozenset[PersonaId]:
        """Who an image sent now would reach (the sender's own grant is checked on send)."""
        live = self._get(scene_id, sender)
        return sc.recipients(live.scene, Channel.IMAGES, self._clock.now()) - {sender}

    def may_view(self, scene_id: str, persona_id: PersonaId) -> bool:
        """Whether this persona may look at the scene's images now: the scene runs and
        their images grant still stands (revoking it also stops viewing)."""
        live = self._live.get(scene_id)
        if live is None:
            return False
        return persona_id in sc.recipients(live.scene, Channel.IMAGES, self._clock.now())

    # ------------------------------------------------------------ the safeword

    async def red(self, account_id: AccountId, scene_id: str | None, *,
                  safety: bool = False) -> list[str]:
        """The safeword: pause one scene, or (no scene given) every running scene any
        persona of this account is in. Works from any connection of the account, whatever
        persona it has selected: one action stops everything.

        ``safety``: the safety engine stopped the account (a disclosed minor). The others
        are told the scene was stopped for safety, not by whom or why."""
        targets = []
        for sid, live in list(self._live.items()):
            if scene_id is not None and sid != scene_id:
                continue
            mine = next((p for p in live.scene.participants
                         if p.account_id == account_id and p.state in sc.VISIBLE), None)
            if mine is None:
                continue
            running = live.scene.status in (SceneStatus.ACTIVE, SceneStatus.PAUSED)
            if scene_id is None and not (running and mine.state is ParticipantState.PRESENT):
                continue
            targets.append((live, mine))
        if scene_id is not None and not targets:
            raise NotFound("no such scene")
        paused = []
        for live, who in targets:
            # Each scene on its own: a scene that ended or was left meanwhile (or any
            # failure) must not keep red from reaching the others.
            try:
                async with live.lock:
                    if live.scene.status is SceneStatus.ENDED:
                        continue  # ended while we waited for the lock
                    await self._change(live, _red_move(who.persona_id),
                                       _safety_drafts() if safety
                                       else _red_drafts(Author.of(who)))
            except Exception:
                if scene_id is not None:
                    raise
                log.exception("red could not pause scene %s", live.scene.id)
                continue
            paused.append(live.scene.id)
        return paused

    async def yellow(self, actor: Actor, scene_id: str) -> None:
        live = self._get(scene_id, actor.persona.id)
        me = Author.of(actor.persona)
        async with live.lock:
            await self._change(live, lambda s, _at: sc.yellow(s, me.id),
                               lambda _b, _a: [("yellow", me, "", {}, None)])

    async def confirm_resume(self, actor: Actor, scene_id: str) -> SceneView:
        self._guard(actor)  # a scene stopped for safety waits for a moderator
        live = self._get(scene_id, actor.persona.id)
        me = Author.of(actor.persona)

        def drafts(_b: Scene, a: Scene) -> list[_Draft]:
            if a.status is SceneStatus.ACTIVE:
                return [("resume_confirmed", me, "", {"waiting_for": []}, None),
                        ("resumed", None, "", {}, None)]
            waiting = sorted(a.present - a.confirmed)
            return [("resume_confirmed", me, "", {"waiting_for": waiting}, None)]
        async with live.lock:
            await self._change(live, lambda s, at: sc.resume(s, me.id, at), drafts)
        return self.view(live, actor.persona)

    # ------------------------------------------------------------ leaving

    async def leave(self, actor: Actor, scene_id: str) -> None:
        """Anyone may leave at any time; no reason is asked."""
        live = self._get(scene_id, actor.persona.id)
        me = Author.of(actor.persona)
        async with live.lock:
            await self._change(live, _leave_move(me.id), _leave_drafts(me))

    async def end(self, actor: Actor, scene_id: str) -> None:
        live = self._get(scene_id, actor.persona.id)
        me = Author.of(actor.persona)
        async with live.lock:
            await self._change(live, lambda s, at: sc.end(s, me.id, at),
                               lambda _b, _a: [("ended", me, "", {"reason": "ended"}, None)])

    async def end_all_for(self, persona_id: PersonaId) -> None:
        """A persona that is deleted leaves every scene it is in."""
        for sid in self.scene_ids(persona_id):
            live = self._live.get(sid)
            who = live.scene.participant(persona_id) if live else None
            if live is None or who is None:
                continue
            try:
                async with live.lock:
                    await self._change(live, _leave_move(persona_id),
                                       _leave_drafts(Author.of(who)))
            except TrystError:
                continue  # already out of it (declined, left, ended meanwhile)

    # ------------------------------------------------------------ consent

    async def grant(self, actor: Actor, scene_id: str, channel: str,
                    minutes: int | None) -> SceneView:
        ch = consent.parse_channel(channel)
        span = consent.validate_minutes(minutes)
        live = self._get(scene_id, actor.persona.id)
        me = Author.of(actor.persona)
        async with live.lock:
            await self._change(
                live, lambda s, at: sc.set_grant(s, me.id, ch, at, span),
                lambda _b, a: [("consent", me, "", _consent_data(a, me.id, ch), None)])
        return self.view(live, actor.persona)

    async def revoke(self, actor: Actor, scene_id: str, channel: str) -> SceneView:
        """Takes effect for the very next event. Revoking logging also shreds the log."""
        ch = consent.parse_channel(channel)
        live = self._get(scene_id, actor.persona.id)
        me = Author.of(actor.persona)
        async with live.lock:
            await self._change(
                live, lambda s, at: sc.revoke_grant(s, me.id, ch, at),
                lambda _b, a: [("consent", me, "", _consent_data(a, me.id, ch), None)])
            if ch is Channel.LOGGING and live.logged:
                await self._logs.shred(scene_id)
                live.logged, live.shredded = False, True
                await self._change(live, lambda s, _at: s, lambda _b, _a: [
                    ("logging", None, "", {"on": False, "shredded": True}, None)])
        return self.view(live, actor.persona)


    async def shredding(self, log_id: str, shred: Callable[[], Awaitable[object]]) -> None:
        """Run ``shred`` (which destroys the log's key) under the scene's lock if the scene
        is still running, so no line is sealed meanwhile; then nothing more is logged and
        everyone in the scene is told. Every way a log is shredded goes through here."""
        live = self._live.get(log_id)
        if live is None:
            await shred()
            return
        async with live.lock:
            await shred()
            if live.logged and live.scene.status is not SceneStatus.ENDED:
                live.logged, live.shredded = False, True
                await self._change(live, lambda s, _at: s, lambda _b, _a: [
                    ("logging", None, "", {"on": False, "shredded": True}, None)])
            else:
                live.logged, live.shredded = False, live.shredded or live.logged

    async def expire_idle(self) -> int:
        """End scenes (and proposals) nobody has touched for ``scene_idle_hours``: their
        content should not sit in memory indefinitely."""
        cutoff = self._clock.now() - timedelta(hours=self._settings.scene_idle_hours)
        ended = 0
        for live in list(self._live.values()):
            last = live.buffer[-1].at if live.buffer else live.scene.created_at
            if last >= cutoff:
                continue
            async with live.lock:
                if live.scene.status is SceneStatus.ENDED:
                    continue
                await self._change(live, _expire, lambda _b, _a: [
                    ("ended", None, "", {"reason": "idle"}, None)])
                ended += 1
        return ended


# ---------------------------------------------------------------- drafting helpers


def _expire(scene: Scene, at: datetime) -> Scene:
    return sc.expire(scene, at)


def _red_move(pid: PersonaId) -> Callable[[Scene, datetime], Scene]:
    return lambda s, _at: sc.red(s, pid)


def _red_drafts(author: Author) -> Callable[[Scene, Scene], list[_Draft]]:
    return lambda _b, _a: [("red", author, "", {"check_in": CHECK_IN}, None)]


def _safety_drafts() -> Callable[[Scene, Scene], list[_Draft]]:
    return lambda _b, _a: [("red", None, "This scene was stopped for safety.",
                            {"check_in": CHECK_IN, "reason": "safety"}, None)]


def _leave_move(pid: PersonaId) -> Callable[[Scene, datetime], Scene]:
    return lambda s, at: sc.leave(s, pid, at)


def _leave_drafts(author: Author) -> Callable[[Scene, Scene], list[_Draft]]:
    return lambda b, a: [("left", author, "", {}, None), *_after_leave(b, a)]


def _card_data(scene: Scene) -> dict[str, object]:
    return {"card": {"title": scene.card.title, "tags": list(scene.card.tags),
                     "channels": sorted(c.value for c in scene.card.channels),
                     "version": scene.card.version}}


def _granted(scene: Scene, persona_id: PersonaId) -> list[str]:
    who = scene.participant(persona_id)
    assert who is not None
    return sorted(ch.value for ch, g in who.grants.items() if g.revoked_at is None)


def _consent_data(scene: Scene, persona_id: PersonaId, channel: Channel) -> dict[str, object]:
    who = scene.participant(persona_id)
    assert who is not None
    grant = who.grants.get(channel)
    granted = grant is not None and grant.revoked_at is None
    return {"channel": channel.value, "granted": granted,
            **({"until": grant.until.isoformat()} if granted and grant else {})}


def _started(before: Scene, after: Scene) -> list[_Draft]:
    if before.status is SceneStatus.PROPOSED and after.status is SceneStatus.ACTIVE:
        return [("started", None, "", {"present": sorted(after.present)}, None)]
    return []


def _after_leave(before: Scene, after: Scene) -> list[_Draft]:
    if after.status is SceneStatus.ENDED and before.status is not SceneStatus.ENDED:
        return [("ended", None, "", {"reason": "too_few" if before.status
                                     is not SceneStatus.PROPOSED else "withdrawn"}, None)]
    if before.status is SceneStatus.PAUSED and after.status is SceneStatus.ACTIVE:
        return [("resumed", None, "", {}, None)]
    return []


def _consent_diff(before: Scene, after: Scene, at: datetime) -> list[ConsentRecord]:
    """The consent record for a move: every grant that appeared, was renewed or ended."""
    out = []
    for p in after.participants:
        old = before.participant(p.persona_id)
        for channel, grant in p.grants.items():
            previous = old.grants.get(channel) if old else None
            if previous == grant:
                continue
            ended = grant.revoked_at is not None
            out.append(ConsentRecord(after.id, p.persona_id, p.account_id, channel.value,
                                     "revoke" if ended else "grant", at, grant.until))
    return out
