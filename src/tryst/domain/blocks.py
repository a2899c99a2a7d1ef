"""Blocks and mutes: what a person has chosen not to see. Pure rules; the services keep
the sets current and the sessions apply them to every event they deliver."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tryst.domain.errors import InvalidInput
from tryst.ids import AccountId, PersonaId

MIN_MUTE = timedelta(minutes=1)
MAX_MUTE = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Block:
    """The blocker blocked ``persona_id``; the block covers every persona of the account
    behind it, including ones created later. The blocker's list shows only the persona
    they blocked: which other personas share its account is never revealed."""

    blocker: AccountId
    persona_id: PersonaId
    persona_name: str
    blocked: AccountId
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Mute:
    """Hide one persona's room messages (sent from ``created_at`` until ``until``)."""

    account_id: AccountId
    persona_id: PersonaId
    persona_name: str
    created_at: datetime
    until: datetime


def validate_mute_minutes(minutes: int) -> timedelta:
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise InvalidInput("minutes must be a whole number", details={"field": "minutes"})
    length = timedelta(minutes=minutes)
    if not MIN_MUTE <= length <= MAX_MUTE:
        raise InvalidInput(f"a mute lasts from 1 minute to {MAX_MUTE.days} days",
                           details={"field": "minutes", "maximum": int(MAX_MUTE.total_seconds()
                                                                       // 60)})
    return length


@dataclass(slots=True, weakref_slot=True)
class Boundary:
    """What one account does not see. A single object per account, shared by all its
    connections and updated in place, so a block takes effect on every connection at
    once. ``hidden`` holds accounts on either side of a block: blocking is mutual."""

    hidden: set[AccountId] = field(default_factory=set)
    mutes: dict[PersonaId, tuple[datetime, datetime]] = field(default_factory=dict)
    mine: set[AccountId] = field(default_factory=set)  # the accounts this one blocked
    # Earlier blocks, since lifted: what was written during them stays hidden.
    periods: dict[AccountId, list[tuple[datetime, datetime]]] = field(default_factory=dict)

    def hides_account(self, account_id: AccountId | None) -> bool:
        """Hidden now: for live signals and lists."""
        return account_id is not None and account_id in self.hidden

    def hides(self, account_id: AccountId | None, at: datetime) -> bool:
        """Whether a line written by ``account_id`` at ``at`` is hidden: a block is in
        place now, or was when the line was written."""
        if account_id is None:
            return False
        if account_id in self.hidden:
            return True
        windows = self.periods.get(account_id)
        return windows is not None and any(start <= at < end for start, end in windows)

    def update(self, other: Boundary) -> None:
        """Take over another Boundary's contents, in place."""
        self.hidden.clear()
        self.hidden.update(other.hidden)
        self.mine.clear()
        self.mine.update(other.mine)
        self.periods.clear()
        self.periods.update(other.periods)
        self.replace_mutes(other.mutes)

    def mutes_at(self, persona_id: PersonaId | None, at: datetime) -> bool:
        if persona_id is None:
            return False
        window = self.mutes.get(persona_id)
        return window is not None and window[0] <= at < window[1]

    def replace_mutes(self, mutes: Mapping[PersonaId, tuple[datetime, datetime]]) -> None:
        self.mutes.clear()
        self.mutes.update(mutes)
