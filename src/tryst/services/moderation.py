"""Moderators' first tools: the case queue, an account's history, lifting and imposing
restrictions, closing cases, and verifying the audit trail. Every action is written to
the hash-chained audit trail with its reason, in the same transaction as the action.

(Warnings, timed mutes, suspensions, bans, content removal, appeals and room-scoped
moderators come with the next step of this work.)"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tryst.clock import Clock
from tryst.domain.accounts import Account
from tryst.domain.audit import AuditEntry, Verification, verify
from tryst.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tryst.domain.hashbanks import Case
from tryst.domain.moderation import Restriction
from tryst.domain.text import clean_text
from tryst.ids import AccountId
from tryst.ports import UnitOfWorkFactory
from tryst.services.safety import SafetyService

CASE_STATUSES = ("open", "closed")


@dataclass(frozen=True, slots=True)
class History:
    """What a moderator sees about an account: every persona, case, restriction and
    audit entry."""

    account: Account
    personas: list[tuple[str, str]]  # (id, name)
    cases: list[Case]
    restriction: Restriction | None
    audit: list[AuditEntry]


def _reason(raw: str) -> str:
    reason = clean_text(raw, field="reason", max_chars=2000)
    if len(reason) < 3:
        raise InvalidInput("give a reason (it is recorded in the audit trail)",
                           details={"field": "reason"})
    return reason


class ModerationService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, safety: SafetyService) -> None:
        self._uow = uow
        self._clock = clock
        self._safety = safety

    async def moderator_named(self, username: str) -> Account:
        """The staff account a command-line moderator acts as."""
        async with self._uow(readonly=True) as uow:
            found = await uow.accounts.by_username(username.strip().lower())
        if found is None or not found[0].role.is_staff:
            raise Forbidden(f"{username!r} is not a moderator or operator account")
        return found[0]

    @staticmethod
    def _staff(moderator: Account) -> None:
        if not moderator.role.is_staff:
            raise Forbidden("only moderators and operators can do this")

    async def cases(self, moderator: Account, status: str | None = "open",
                    limit: int = 100) -> list[Case]:
        self._staff(moderator)
        if status is not None and status not in CASE_STATUSES:
            raise InvalidInput(f"status must be one of: {', '.join(CASE_STATUSES)}")
        async with self._uow(readonly=True) as uow:
            return await uow.cases.listing(status, limit)

    async def case(self, moderator: Account, case_id: str) -> Case:
        self._staff(moderator)
        async with self._uow(readonly=True) as uow:
            case = await uow.cases.get(case_id)
        if case is None:
            raise NotFound("no such case")
        return case

    async def history(self, moderator: Account, account_id: str) -> History:
        """The account's record across all its personas."""
        self._staff(moderator)
        async with self._uow(readonly=True) as uow:
            account = await uow.accounts.get(AccountId(account_id))
            if account is None:
                raise NotFound("no such account")
            personas = await uow.personas.for_account(account.id)
            return History(account=account, personas=[(p.id, p.name) for p in personas],
                           cases=await uow.cases.of_account(account.id),
                           restriction=await uow.restrictions.get(account.id),
                           audit=await uow.audit.for_account(account.id))

    async def close_case(self, moderator: Account, case_id: str, reason: str) -> Case:
        self._staff(moderator)
        why = _reason(reason)
        async with self._uow() as uow:
            case = await uow.cases.get(case_id)
            if case is None:
                raise NotFound("no such case")
            if case.status == "closed":
                raise Conflict("the case is already closed")
            await uow.cases.set_status(case.id, "closed")
            await uow.audit.append(AuditEntry(
                at=self._clock.now(), actor=f"account:{moderator.id}", action="close_case",
                subject_account=case.account_id, subject_persona=case.persona_id,
                reason=why, details={"case": case.id, "kind": case.kind}))
            await uow.commit()
        return replace(case, status="closed")

    async def lift(self, moderator: Account, account_id: str, reason: str) -> None:
        self._staff(moderator)
        why = _reason(reason)
        async with self._uow() as uow:
            if not await uow.restrictions.lift(AccountId(account_id)):
                raise NotFound("that account is not restricted")
            await uow.audit.append(AuditEntry(
                at=self._clock.now(), actor=f"account:{moderator.id}", action="lift",
                subject_account=account_id, subject_persona=None, reason=why))
            await uow.commit()
        self._safety.forget(AccountId(account_id))

    async def restrict(self, moderator: Account, account_id: str, reason: str) -> None:
        self._staff(moderator)
        why = _reason(reason)
        now = self._clock.now()
        async with self._uow() as uow:
            if await uow.accounts.get(AccountId(account_id)) is None:
                raise NotFound("no such account")
            if not await uow.restrictions.restrict(AccountId(account_id), "moderator", why,
                                                   None, now):
                raise Conflict("that account is already restricted")
            await uow.audit.append(AuditEntry(
                at=now, actor=f"account:{moderator.id}", action="restrict",
                subject_account=account_id, subject_persona=None, reason=why))
            await uow.commit()
        self._safety.remember(AccountId(account_id))

    async def verify_audit(self) -> Verification:
        """Walk the whole chain (operators, `tryst audit verify`)."""
        entries: list[AuditEntry] = []
        after = 0
        async with self._uow(readonly=True) as uow:
            while page := await uow.audit.entries(after, 5000):
                entries.extend(page)
                after = page[-1].seq
        return verify(entries)
