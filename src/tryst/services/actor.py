"""Who is acting: an account, and the persona it currently speaks as."""

from __future__ import annotations

from dataclasses import dataclass

from tryst.domain.accounts import Account
from tryst.domain.errors import NotFound
from tryst.domain.personas import Persona
from tryst.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class Actor:
    account: Account
    persona: Persona


async def current_persona(uow: UnitOfWork, actor: Actor) -> Persona:
    """The acting persona as stored now: a rename, an opt-in change or a deletion made
    elsewhere must not be overtaken by the copy a connection holds."""
    persona = await uow.personas.get(actor.persona.id)
    if persona is None:
        raise NotFound("this persona no longer exists")
    return persona
