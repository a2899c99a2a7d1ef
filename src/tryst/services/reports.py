"""Reports from anyone, turned into moderation cases with verified evidence."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from tryst.clock import Clock
from tryst.domain.audit import AuditEntry
from tryst.domain.errors import NotFound
from tryst.domain.hashbanks import Case
from tryst.domain.reports import Evidence, TargetKind, validate_report
from tryst.ids import AccountId, PersonaId, RoomId
from tryst.ports import UnitOfWork, UnitOfWorkFactory
from tryst.services.actor import Actor
from tryst.services.franking import FrankedMessage, Franker
from tryst.services.ratelimits import RateLimiter


@dataclass(frozen=True, slots=True)
class Filed:
    case_id: str
    verified: int  # evidence lines proven to be exactly what the server delivered
    unverified: int


class ReportService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, franker: Franker,
                 limiter: RateLimiter) -> None:
        self._uow = uow
        self._clock = clock
        self._franker = franker
        self._limiter = limiter

    async def report(self, actor: Actor, *, category: str, target: str, target_id: str,
                     note: str | None, evidence: list[Evidence]) -> Filed:
        cat, kind, clean = validate_report(category, target, note, evidence)
        self._limiter.check(actor.account.id)
        async with self._uow() as uow:
            checked = [await self._check(uow, e) for e in evidence]
            subject_persona, subject_account = await self._subject(uow, kind, target_id,
                                                                   evidence)
            case = Case(
                id=f"k_{secrets.token_hex(8)}", kind=f"report_{cat.value}",
                created_at=self._clock.now(), account_id=subject_account,
                persona_id=subject_persona,
                summary=f"{cat.value.replace('_', ' ')} reported on a {kind.value}",
                details={"reporter_account": actor.account.id,
                         "reporter_persona": actor.persona.id, "target": kind.value,
                         "target_id": target_id, "note": clean,
                         "evidence": [{"sender": e.sender, "stream": e.stream, "seq": e.seq,
                                       "at": e.at, "text": e.text, "verified": ok}
                                      for e, ok in zip(evidence, checked, strict=True)]})
            await uow.cases.open(case)
            await uow.audit.append(AuditEntry(
                at=case.created_at, actor=f"account:{actor.account.id}", action="report",
                subject_account=subject_account, subject_persona=subject_persona,
                reason=case.summary, details={"case": case.id, "category": cat.value}))
            await uow.commit()
        good = sum(checked)
        return Filed(case.id, good, len(checked) - good)

    async def _check(self, uow: UnitOfWork, line: Evidence) -> bool:
        """True when the line is exactly what the server delivered: by its franking
        tag, or (room lines, which carry no tag) by the stored room history."""
        if line.tag:
            return self._franker.verify(FrankedMessage(line.sender, line.stream, line.seq,
                                                       line.at, line.text, line.tag))
        if line.stream.startswith("room:"):
            room = RoomId(line.stream[5:])
            for event in await uow.events.after(room, line.seq - 1, 1):
                return (event.seq == line.seq and event.persona_id == line.sender
                        and event.text == line.text)
        return False

    async def _subject(self, uow: UnitOfWork, kind: TargetKind, target_id: str,
                       evidence: list[Evidence]) -> tuple[PersonaId | None, AccountId | None]:
        """Whose conduct the case is about (moderators see their whole history)."""
        persona_id = None
        if kind is TargetKind.PERSONA:
            persona_id = target_id
        elif kind is TargetKind.MESSAGE:
            persona_id = evidence[0].sender
        if persona_id is None:
            return None, None
        persona = await uow.personas.get(PersonaId(persona_id))
        if persona is None:
            raise NotFound("no such persona")
        return persona.id, persona.account_id
