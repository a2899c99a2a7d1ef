"""The safety engine in the send path: every door's messages pass through ``screen``
before anything is stored or delivered, and the verdict's action is carried out here.

- ``allow``: deliver.
- ``warn_recipient``: deliver; the recipients get a private safety notice.
- ``warn_sender``: not sent until the sender sends it again confirming the signal.
- ``refuse``: not sent; the sender is told which rule and why.
- ``throttle``: not sent now (too many first contacts).
- ``restrict``: not sent; the sender's account is restricted pending review, a
  moderation case holds the message as evidence, and the recipients get a safety notice.
- ``pause_and_restrict``: as ``restrict``, and every scene the account is in pauses (the
  others are told it was stopped for safety).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import datetime, timedelta

from tryst.clock import Clock
from tryst.domain.audit import AuditEntry
from tryst.domain.errors import RateLimited
from tryst.domain.events import Signal as LiveSignal
from tryst.domain.hashbanks import Case
from tryst.domain.moderation import Restricted, SafetyStop
from tryst.domain.personas import Persona
from tryst.domain.safety.engine import SafetyEngine
from tryst.domain.safety.verdicts import ALLOW, Action, Context, Place, Verdict
from tryst.ids import AccountId, PersonaId, inbox_stream
from tryst.ports import Bus, UnitOfWorkFactory
from tryst.services.actor import Actor

log = logging.getLogger("tryst.safety")

RESTRICTED_MESSAGE = ("your account is restricted until a moderator has looked at it; "
                      "you can still read, and leave scenes and conversations")


class SafetyService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, bus: Bus,
                 engine: SafetyEngine, enabled: bool = True) -> None:
        self._uow = uow
        self._clock = clock
        self._bus = bus
        self.engine = engine
        self.enabled = enabled
        flood = engine.config.section("flood")
        self._window = timedelta(minutes=flood.number("window_minutes"))
        self._first_contacts: dict[AccountId, deque[datetime]] = {}
        self._restricted: set[AccountId] = set()  # kept in step with the table (one node)
        self._tasks: set[asyncio.Task[None]] = set()
        # Called with the account of someone who disclosed being under 18 (app.py wires
        # the scene service's safety pause; this service knows nothing of scenes).
        self.on_minor: list[Callable[[AccountId], Awaitable[None]]] = []

    async def refresh(self) -> None:
        """Load restrictions from the database: at start, and every 30 seconds so that
        `tryst mod` on the command line takes effect in a running server."""
        async with self._uow(readonly=True) as uow:
            stored = await uow.restrictions.all_ids()
        # Restrictions imposed here but still being written stay in force meanwhile.
        self._restricted = stored | (self._restricted if self._tasks else set())

    # ------------------------------------------------------------ checks

    def guard(self, account_id: AccountId) -> None:
        """Refuse anything a restricted account tries to send."""
        if account_id in self._restricted:
            raise Restricted(RESTRICTED_MESSAGE)

    def is_restricted(self, account_id: AccountId) -> bool:
        return account_id in self._restricted

    def screen(self, actor: Actor, text: str, place: Place, *, new_contact: bool,
               to: Sequence[PersonaId] = (), confirm: Collection[str] = ()) -> Verdict:
        """Check one message before it is stored or delivered. Returns the verdict the
        caller must still act on after delivering (``warn_recipient``: call
        ``warn_recipients``); raises for everything that stops the message.

        Synchronous, so it fits every send path (rooms queue lines without awaiting).
        A restriction takes effect in memory at once; its record, case and scene pauses
        are written by a task started here."""
        self.guard(actor.account.id)
        if not self.enabled:
            return ALLOW
        now = self._clock.now()
        first = place is Place.REQUEST
        recent = self._recent(actor.account.id, now) if first else 0
        found = self.engine.check_all(text, Context(new_contact=new_contact, place=place,
                                                    recent_first_contacts=recent,
                                                    year=now.year))
        verdict = found[0] if found else ALLOW
        throttled = next((v for v in found if v.action is Action.THROTTLE), None)
        if throttled is not None and verdict.action in (
                Action.ALLOW, Action.WARN_RECIPIENT, Action.WARN_SENDER):
            verdict = throttled  # a flood is slowed down whatever else it says
        details: dict[str, object] = {"signal": verdict.signal.value, "rule": verdict.rule,
                                      "reason": verdict.reason}
        match verdict.action:
            case Action.WARN_SENDER if verdict.signal.value not in confirm:
                raise SafetyStop("safety_warning", 409, verdict.reason, details)
            case Action.REFUSE:
                raise SafetyStop("safety_refused", 422, verdict.reason, details)
            case Action.THROTTLE:
                raise RateLimited(verdict.reason, retry_after=self._window.total_seconds())
            case Action.RESTRICT | Action.PAUSE_AND_RESTRICT:
                self._restricted.add(actor.account.id)
                task = asyncio.get_running_loop().create_task(
                    self._restrict(actor, verdict, text, place, tuple(to)))
                self._tasks.add(task)
                task.add_done_callback(self._finished)
                raise Restricted(f"{verdict.reason} Your message was not sent, and "
                                 f"{RESTRICTED_MESSAGE}.", details=details)
        if first:
            self._first_contacts.setdefault(actor.account.id, deque()).append(now)
        return verdict

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("safety: recording a restriction failed", exc_info=task.exception())

    async def settle(self) -> None:
        """Wait for restrictions being recorded (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _recent(self, account_id: AccountId, now: datetime) -> int:
        times = self._first_contacts.get(account_id)
        if not times:
            return 0
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._first_contacts[account_id]
            return 0
        return len(times)

    def warn_recipients(self, verdict: Verdict, sender: Persona,
                        to: Sequence[PersonaId]) -> None:
        """A private safety notice to each recipient, after the message was delivered."""
        if verdict.action is Action.WARN_RECIPIENT:
            self._notice(verdict, sender, to, delivered=True)

    def _notice(self, verdict: Verdict, sender: Persona, to: Sequence[PersonaId],
                *, delivered: bool) -> None:
        for persona_id in to:
            self._bus.publish(LiveSignal(
                stream=inbox_stream(persona_id), kind="safety_notice", at=self._clock.now(),
                persona_id=sender.id, persona_name=sender.name,
                account_id=sender.account_id, to=frozenset({persona_id}),
                data={"signal": verdict.signal.value, "rule": verdict.rule,
                      "reason": verdict.reason, "delivered": delivered,
                      "actions": ["block", "report", "preserve_evidence"]}))

    async def _restrict(self, actor: Actor, verdict: Verdict, text: str, place: Place,
                        to: Sequence[PersonaId]) -> None:
        now = self._clock.now()
        case = Case(
            id=f"k_{secrets.token_hex(8)}", kind=f"safety_{verdict.signal.value}",
            created_at=now, account_id=actor.account.id, persona_id=actor.persona.id,
            summary=verdict.reason,
            # The withheld message is the evidence a moderator needs; it was never
            # delivered, so this is its only copy.
            details={"rule": verdict.rule, "matched": list(verdict.matched),
                     "place": place.value, "recipients": list(to), "text": text,
                     "action": verdict.action.value})
        async with self._uow() as uow:
            await uow.cases.open(case)
            await uow.restrictions.restrict(actor.account.id, verdict.signal.value,
                                            verdict.reason, case.id, now)
            await uow.audit.append(AuditEntry(
                at=now, actor="system:safety", action="restrict",
                subject_account=actor.account.id, subject_persona=actor.persona.id,
                reason=verdict.reason, details={"rule": verdict.rule, "case": case.id,
                                                "signal": verdict.signal.value,
                                                "place": place.value}))
            await uow.commit()
        log.warning("safety: restricted account %s (%s), case %s", actor.account.id,
                    verdict.rule, case.id)
        if verdict.action is Action.PAUSE_AND_RESTRICT:
            for hook in self.on_minor:
                await hook(actor.account.id)
        else:
            self._notice(verdict, actor.persona, to, delivered=False)

    def forget(self, account_id: AccountId) -> None:
        """A restriction was lifted (by the moderation service, which records it)."""
        self._restricted.discard(account_id)

    def remember(self, account_id: AccountId) -> None:
        """A moderator restricted an account."""
        self._restricted.add(account_id)

    def check_profile(self, *fields: str) -> None:
        """Refuse a persona whose name or profile states an age under 18."""
        if not self.enabled:
            return
        for text in fields:
            verdict = self.engine.check_profile(text) if text else None
            if verdict is not None:
                raise SafetyStop("safety_refused", 422, verdict.reason, {
                    "signal": verdict.signal.value, "rule": verdict.rule,
                    "reason": verdict.reason})
