"""Records kept about scenes: the consent record, agreed logs and their exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tryst.ids import AccountId, PersonaId


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One grant, renewal or revocation, as the server recorded it."""

    scene_id: str
    persona_id: PersonaId
    account_id: AccountId
    channel: str
    action: str  # "grant" or "revoke"
    at: datetime
    until: datetime


@dataclass(frozen=True, slots=True)
class SceneLog:
    id: str  # the scene's id
    created_at: datetime
    expires_at: datetime
    shredded_at: datetime | None


@dataclass(frozen=True, slots=True)
class LogMember:
    log_id: str
    persona_id: PersonaId
    account_id: AccountId
    persona_name: str


@dataclass(frozen=True, slots=True)
class SealedEntry:
    """An encrypted log entry: only the per-log key opens it."""

    log_id: str
    seq: int
    nonce: bytes
    body: bytes


@dataclass(frozen=True, slots=True)
class LogExport:
    id: str
    log_id: str
    persona_id: PersonaId
    persona_name: str
    account_id: AccountId
    format: str
    created_at: datetime
