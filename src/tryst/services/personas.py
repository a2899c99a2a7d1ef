"""Creating, editing, finding and deleting personas."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from tryst.clock import Clock
from tryst.config import Settings
from tryst.domain.accounts import Account
from tryst.domain.errors import Conflict, Forbidden, InvalidInput, LimitReached, NotFound
from tryst.domain.personas import (
    Persona,
    PersonaDraft,
    name_key,
    validate_draft,
    validate_name,
)
from tryst.domain.tags import TagVocabulary
from tryst.ids import PersonaId, new_persona_id
from tryst.ports import Bus, ConnectionControl, UnitOfWork, UnitOfWorkFactory
from tryst.services.erasure import erase_personas
from tryst.services.safety import SafetyService
from tryst.services.sequencer import StreamSequencer

EDITABLE = frozenset({"name", "age", "short_description", "profile", "pronouns", "interests",
                      "hard_limits", "adult_content"})


class PersonaService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, settings: Settings,
                 vocabulary: TagVocabulary, bus: Bus, sequencer: StreamSequencer,
                 connections: ConnectionControl, safety: SafetyService | None = None) -> None:
        self._uow = uow
        self._safety = safety
        self._clock = clock
        self._settings = settings
        self.vocabulary = vocabulary
        self._bus = bus
        self._seq = sequencer
        self._connections = connections
        # Run for each persona before it is erased: it leaves its scenes and withdraws
        # from their logs (app.py wires them; this service knows nothing of scenes).
        self.persona_erasers: list[Callable[[PersonaId], Awaitable[None]]] = []

    def _check_profile(self, clean: PersonaDraft) -> None:
        """A persona or profile that states an age under 18 is refused outright."""
        if self._safety is not None:
            self._safety.check_profile(clean.name, clean.short_description, clean.profile,
                                       clean.pronouns)

    async def create(self, account: Account, draft: PersonaDraft) -> Persona:
        clean = validate_draft(draft, self.vocabulary)
        self._check_profile(clean)
        persona = Persona(
            id=new_persona_id(), account_id=account.id, name=clean.name, age=clean.age,
            short_description=clean.short_description, profile=clean.profile,
            pronouns=clean.pronouns, interests=dict(clean.interests),
            hard_limits=tuple(clean.hard_limits), adult_content=clean.adult_content,
            created_at=self._clock.now())
        async with self._uow() as uow:
            count = await uow.personas.count_for_account(account.id)
            if count >= self._settings.max_personas:
                raise LimitReached(
                    f"an account can have at most {self._settings.max_personas} personas",
                    details={"limit": self._settings.max_personas})
            if await uow.personas.by_name_key(name_key(persona.name)) is not None:
                raise Conflict("that persona name is taken", details={"field": "name"})
            await uow.personas.add(persona, name_key(persona.name))
            await uow.commit()
        return persona

    async def owned(self, account: Account, persona_id: str) -> Persona:
        """The persona if this account owns it. Someone else's persona and a missing one give
        the same error, so the answer says nothing about who owns what."""
        async with self._uow(readonly=True) as uow:
            persona = await uow.personas.get(PersonaId(persona_id))
        if persona is None or persona.account_id != account.id:
            raise NotFound("you have no persona with that id")
        return persona

    async def mine(self, account: Account) -> list[Persona]:
        async with self._uow(readonly=True) as uow:
            return await uow.personas.for_account(account.id)

    async def card(self, persona_id: str) -> Persona:
        async with self._uow(readonly=True) as uow:
            persona = await uow.personas.get(PersonaId(persona_id))
        if persona is None:
            raise NotFound("no such persona")
        return persona

    async def by_name(self, name: str) -> Persona:
        try:
            key = name_key(validate_name(name))
        except InvalidInput:
            raise NotFound("no such persona") from None
        async with self._uow(readonly=True) as uow:
            persona = await uow.personas.by_name_key(key)
        if persona is None:
            raise NotFound("no such persona")
        return persona

    async def update(self, account: Account, persona_id: str,
                     changes: Mapping[str, Any]) -> Persona:
        unknown = set(changes) - EDITABLE
        if unknown:
            raise InvalidInput("unknown persona fields", details={"fields": sorted(unknown)})
        async with self._uow() as uow:
            current = await uow.personas.get(PersonaId(persona_id))
            if current is None or current.account_id != account.id:
                raise NotFound("you have no persona with that id")
            fields = {f: getattr(current, f) for f in EDITABLE}
            if "interests" not in changes:
                # Tags the operator has since removed from the vocabulary are dropped
                # quietly, rather than making an unrelated edit fail.
                fields["interests"] = {t: lvl for t, lvl in current.interests.items()
                                       if t in self.vocabulary}
            fields.update(changes)
            clean = validate_draft(PersonaDraft(**fields), self.vocabulary)
            self._check_profile(clean)
            updated = replace(
                current, name=clean.name, age=clean.age,
                short_description=clean.short_description, profile=clean.profile,
                pronouns=clean.pronouns, interests=dict(clean.interests),
                hard_limits=tuple(clean.hard_limits), adult_content=clean.adult_content)
            key = name_key(updated.name)
            if key != name_key(current.name):
                other = await uow.personas.by_name_key(key)
                if other is not None and other.id != current.id:
                    raise Conflict("that persona name is taken", details={"field": "name"})
            await uow.personas.update(updated, key)
            await uow.commit()
        return updated

    async def delete(self, account: Account, persona_id: str) -> None:
        persona = await self.owned(account, persona_id)
        # Connections acting as the persona must not see anything more: close them
        # before erasing, and again after, for one that attached in between.
        self._connections.close_persona(persona.id, reason="persona deleted")

        async def just_this(_: UnitOfWork) -> list[PersonaId]:
            return [persona.id]

        for withdraw in self.persona_erasers:
            await withdraw(persona.id)

        await erase_personas(uow=self._uow, sequencer=self._seq, bus=self._bus,
                             settings=self._settings,
                             clock=self._clock, persona_ids=just_this)
        self._connections.close_persona(persona.id, reason="persona deleted")

    async def account_of(self, staff: Account,
                         persona_id: str) -> tuple[Account, list[Persona]]:
        """Operators and moderators may see which account a persona belongs to, and which
        other personas share it."""
        if not staff.role.is_staff:
            raise Forbidden("only operators and moderators can see who owns a persona")
        persona = await self.card(persona_id)
        async with self._uow(readonly=True) as uow:
            owner = await uow.accounts.get(persona.account_id)
            siblings = await uow.personas.for_account(persona.account_id)
        assert owner is not None
        return owner, siblings
