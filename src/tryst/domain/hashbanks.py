"""Hash banks: lists of hashes of images that must not be shared here, in the style of
StopNCII (a person hashes their own images and hands over only the hashes) and of
ThreatExchange / Hasher-Matcher-Actioner banks that operators exchange as CSV.

PDQ is a 256-bit perceptual hash with a quality score (0-100). ThreatExchange's
constants are used: a match is a Hamming distance of at most 31, and hashes of quality
below 50 (flat or featureless images) are too unreliable to match on."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from tryst.domain.errors import InvalidInput
from tryst.ids import AccountId, PersonaId

PDQ_MAX_DISTANCE = 31
PDQ_MIN_QUALITY = 50
PROTECT_BANK = "self-protected"  # where people's own `tryst protect` hashes go
BANK_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class Signal(StrEnum):
    PDQ = "pdq"
    SHA256 = "sha256"


@dataclass(frozen=True, slots=True)
class Bank:
    id: int
    name: str
    description: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class BankEntry:
    bank_id: int
    signal: Signal
    value: str  # 64 lowercase hex digits, for both signals
    quality: int | None  # PDQ only
    added_at: datetime
    account_id: AccountId | None = None  # who submitted it (self-protection), else None
    note: str = ""
    id: int = 0  # assigned by the database


@dataclass(frozen=True, slots=True)
class Case:
    """A moderation case: something a moderator must look at. Opened by the server
    (a blocked upload) or, later, by reports."""

    id: str
    kind: str
    created_at: datetime
    account_id: AccountId | None
    persona_id: PersonaId | None
    summary: str
    details: dict[str, object] = field(default_factory=dict)
    status: str = "open"


def validate_bank_name(raw: str) -> str:
    name = raw.strip().lower()
    if not BANK_NAME.match(name):
        raise InvalidInput("bank names are 1-63 lowercase letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit", details={"field": "name"})
    return name


def hex64(raw: str, what: str) -> str:
    """A 64-hex-digit hash, lowercased; anything else is refused with what it was."""
    value = raw.strip().lower()
    if not _HEX64.match(value):
        raise InvalidInput(f"{what} must be 64 hexadecimal digits", details={"field": what})
    return value


def pdq_quality(raw: object) -> int:
    try:
        quality = int(str(raw).strip())
    except ValueError:
        raise InvalidInput("PDQ quality must be a whole number from 0 to 100",
                           details={"field": "quality"}) from None
    if not 0 <= quality <= 100:
        raise InvalidInput("PDQ quality must be a whole number from 0 to 100",
                           details={"field": "quality"})
    return quality
