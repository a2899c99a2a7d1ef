"""Restrictions: an account that may read but not send until a moderator reviews it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tryst.domain.errors import TrystError
from tryst.ids import AccountId


@dataclass(frozen=True, slots=True)
class Restriction:
    account_id: AccountId
    signal: str  # what restricted it: a safety signal (minor, coercion) or "moderator"
    reason: str  # the sentence the account is shown
    case_id: str | None
    at: datetime


class Restricted(TrystError):
    """The account is restricted pending review: it can read, not send."""

    code = "restricted"
    status = 403


class SafetyStop(TrystError):
    """A safety rule stopped a message. ``code`` is ``safety_refused`` (not sent, and
    never will be as written) or ``safety_warning`` (send again with ``confirm`` naming
    the signal to send it anyway). Details: ``signal``, ``rule``, ``reason``."""

    def __init__(self, code: str, status: int, message: str, details: dict[str, object]
                 ) -> None:
        super().__init__(message, details=details)
        self.code = code
        self.status = status
