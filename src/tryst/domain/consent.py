"""Consent grants: who agreed to which channel of a scene, from when, until when.

A grant moves through a small transition table (h11 style): granting, renewing,
revoking and expiring are the only moves, and anything else is a named error. Whether
a grant covers a moment is a pure function of the grant and the time, so the service
asks at the moment each event is built: a revocation applies to the very next one."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from tryst.domain.errors import IllegalTransition, InvalidInput
from tryst.ids import PersonaId

GRANT_MINUTES_DEFAULT = 4 * 60
GRANT_MINUTES_MAX = 24 * 60


class Channel(StrEnum):
    """What a scene may carry; each is agreed to separately."""

    TEXT = "text"
    IMAGES = "images"
    CAMERA = "camera"
    DEVICE = "device"
    LOGGING = "logging"


class GrantState(StrEnum):
    NONE = "none"  # never granted
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


class GrantAction(StrEnum):
    GRANT = "grant"
    REVOKE = "revoke"
    EXPIRE = "expire"


GRANT_TRANSITIONS: dict[tuple[GrantState, GrantAction], GrantState] = {
    (GrantState.NONE, GrantAction.GRANT): GrantState.ACTIVE,
    (GrantState.ACTIVE, GrantAction.GRANT): GrantState.ACTIVE,  # renewing extends it
    (GrantState.ACTIVE, GrantAction.REVOKE): GrantState.REVOKED,
    (GrantState.ACTIVE, GrantAction.EXPIRE): GrantState.EXPIRED,
    (GrantState.REVOKED, GrantAction.GRANT): GrantState.ACTIVE,
    (GrantState.EXPIRED, GrantAction.GRANT): GrantState.ACTIVE,
}


@dataclass(frozen=True, slots=True)
class Grant:
    """One participant's agreement to one channel. ``until`` is when it lapses on its
    own; ``revoked_at`` is set when it was taken back earlier."""

    persona_id: PersonaId
    channel: Channel
    granted_at: datetime
    until: datetime
    revoked_at: datetime | None = None

    def state(self, at: datetime) -> GrantState:
        if self.revoked_at is not None:
            return GrantState.REVOKED
        if at >= self.until:
            return GrantState.EXPIRED
        return GrantState.ACTIVE

    def covers(self, at: datetime) -> bool:
        return self.revoked_at is None and self.granted_at <= at < self.until


def step(state: GrantState, action: GrantAction, channel: Channel) -> GrantState:
    """The grant table's answer, or IllegalTransition naming what was tried."""
    try:
        return GRANT_TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition(
            f"cannot {action.value} {channel.value}: it is {state.value}",
            details={"channel": channel.value, "state": state.value}) from None


def grant(current: Grant | None, persona_id: PersonaId, channel: Channel, at: datetime,
          minutes: int) -> Grant:
    """A new or renewed grant lasting ``minutes`` from ``at``."""
    step(current.state(at) if current else GrantState.NONE, GrantAction.GRANT, channel)
    return Grant(persona_id, channel, at, at + timedelta(minutes=minutes))


def revoke(current: Grant | None, channel: Channel, at: datetime) -> Grant:
    step(current.state(at) if current else GrantState.NONE, GrantAction.REVOKE, channel)
    assert current is not None
    return replace(current, revoked_at=at, until=min(current.until, at))


def validate_minutes(value: object) -> int:
    if value is None:
        return GRANT_MINUTES_DEFAULT
    if not isinstance(value, int) or isinstance(value, bool) \
            or not 1 <= value <= GRANT_MINUTES_MAX:
        raise InvalidInput(f"minutes must be a whole number from 1 to {GRANT_MINUTES_MAX}",
                           details={"field": "minutes"})
    return value


def parse_channel(value: object) -> Channel:
    try:
        return Channel(str(value))
    except ValueError:
        allowed = ", ".join(c.value for c in Channel)
        raise InvalidInput(f"channel must be one of: {allowed}",
                           details={"field": "channel", "value": str(value)[:40]}) from None
