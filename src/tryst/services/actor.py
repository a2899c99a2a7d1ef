"""Who is acting: an account, and the persona it currently speaks as."""

from __future__ import annotations

from dataclasses import dataclass

from tryst.domain.accounts import Account
from tryst.domain.personas import Persona


@dataclass(frozen=True, slots=True)
class Actor:
    account: Account
    persona: Persona
