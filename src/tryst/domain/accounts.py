"""Accounts: usernames, passwords, roles and the age-assurance record."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tryst.domain.errors import AgeAssuranceFailed, InvalidInput
from tryst.ids import AccountId

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,31}$")
PASSWORD_MIN = 10
# Argon2 hashes any length, but hashing megabytes per login attempt is a cheap DoS.
PASSWORD_MAX = 1024


class Role(StrEnum):
    USER = "user"
    MODERATOR = "moderator"
    OPERATOR = "operator"

    @property
    def is_staff(self) -> bool:
        return self is not Role.USER


@dataclass(frozen=True, slots=True)
class AgeAssurance:
    """The only thing kept about age: the result, when, and by which method."""

    result: str  # always "adult": an account that is not is never created
    method: str
    attested_at: datetime


@dataclass(frozen=True, slots=True)
class Account:
    id: AccountId
    username: str
    role: Role
    created_at: datetime
    age: AgeAssurance


def normalise_username(raw: str) -> str:
    """Usernames are case-insensitive; we keep the lower-case form."""
    name = raw.strip().lower()
    if not USERNAME_RE.fullmatch(name):
        raise InvalidInput(
            "username must be 3 to 32 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            details={"field": "username"},
        )
    return name


def validate_password(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise InvalidInput(f"password must be at least {PASSWORD_MIN} characters",
                           details={"field": "password"})
    if len(password) > PASSWORD_MAX:
        raise InvalidInput(f"password must be at most {PASSWORD_MAX} characters",
                           details={"field": "password"})


@dataclass(frozen=True, slots=True)
class AgeEvidence:
    """What a person supplied at sign-up for the age-assurance step. Providers read the
    fields they need; self-attestation reads only the explicit confirmation."""

    confirm_adult: bool
    extra: dict[str, str]


class SelfAttestation:
    """Default provider: the person explicitly confirms they are 18 or older.

    Regulators such as Ofcom do not accept this as 'highly effective' for adult content;
    operators who must meet such rules plug in a stronger provider (see docs/operations.md).
    """

    method = "self-attestation"

    def assure(self, evidence: AgeEvidence, now: datetime) -> AgeAssurance:
        if evidence.confirm_adult is not True:
            raise AgeAssuranceFailed("you must confirm that you are 18 or older to register",
                                     details={"field": "confirm_adult"})
        return AgeAssurance(result="adult", method=self.method, attested_at=now)
