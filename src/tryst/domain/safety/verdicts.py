"""What the safety engine says about one message: a signal, what follows from it, and why.

A verdict is small, frozen and explainable: ``reason`` is a sentence a person can read
(shown to whoever the action concerns and to moderators), ``rule`` is a stable id that
names the rule which fired (for tuning and for the audit trail), and ``matched`` lists
the phrases that made it fire. ``matched`` never holds personal data (a phone number
is reported as "a phone number", not the digits), so a verdict can be logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from tryst.domain.errors import InvalidInput


class Signal(StrEnum):
    """What kind of harm a message points to. The order of the members is no ranking:
    see ``SEVERITY``."""

    MINOR = "minor"
    COERCION = "coercion"
    SOLICITATION = "solicitation"
    OFF_PLATFORM = "off_platform"
    PERSONAL_DATA = "personal_data"
    FLOOD = "flood"
    NONE = "none"


class Action(StrEnum):
    """What the caller (the send path) does with the message and the people involved."""

    ALLOW = "allow"  # deliver as is
    WARN_RECIPIENT = "warn_recipient"  # deliver, with a gentle safety notice to the recipient
    WARN_SENDER = "warn_sender"  # ask the sender to confirm before it is delivered
    REFUSE = "refuse"  # do not deliver; tell the sender which rule and why
    THROTTLE = "throttle"  # do not deliver now; the sender must slow down
    # Deliver nothing; the target gets a private safety notice (block, report, preserve
    # evidence); the sender is restricted pending review and a moderation case opens.
    RESTRICT = "restrict"
    # The writer says they are a minor: deliver nothing, pause their active scenes (the
    # others are told it stopped for safety), restrict the account, open a case.
    PAUSE_AND_RESTRICT = "pause_and_restrict"


# Most severe first. When several signals fire, the engine returns the most severe.
SEVERITY: tuple[Signal, ...] = (
    Signal.MINOR, Signal.COERCION, Signal.SOLICITATION, Signal.OFF_PLATFORM,
    Signal.PERSONAL_DATA, Signal.FLOOD, Signal.NONE)
SIGNAL_RANK = {signal: rank for rank, signal in enumerate(SEVERITY)}
ACTION_RANK = {action: rank for rank, action in enumerate((
    Action.PAUSE_AND_RESTRICT, Action.RESTRICT, Action.REFUSE, Action.THROTTLE,
    Action.WARN_RECIPIENT, Action.WARN_SENDER, Action.ALLOW))}


class Place(StrEnum):
    """Where the message is sent."""

    ROOM = "room"
    CONVERSATION = "conversation"
    REQUEST = "request"  # a message request: the first message to someone
    SCENE = "scene"


@dataclass(frozen=True, slots=True)
class Verdict:
    signal: Signal
    action: Action
    reason: str
    rule: str
    matched: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """The verdict as the JSON object `tryst safety check` prints."""
        return {"signal": self.signal.value, "action": self.action.value,
                "reason": self.reason, "rule": self.rule, "matched": list(self.matched)}


ALLOW = Verdict(Signal.NONE, Action.ALLOW, "No safety rule matched.", "none")


def severity_key(verdict: Verdict) -> tuple[int, int]:
    """Sort key: most severe signal first, then the strongest action."""
    return SIGNAL_RANK[verdict.signal], ACTION_RANK[verdict.action]


@dataclass(frozen=True, slots=True)
class Context:
    """What the send path knows about a message besides its text. Every field has a safe
    default: with none given, only the rules that need no context run.

    - ``new_contact``: sender and recipient have not talked before (no accepted
      conversation, no earlier scene together). Off-platform moves and personal data
      are only flagged between new contacts.
    - ``place``: where the message goes. A message request counts as a new contact.
      In a scene, quoted speech that states an age under 18 is a character's age.
    - ``recent_first_contacts``: how many first contacts (message requests, first
      messages to new people) the sender's account made in the last
      ``flood.window_minutes`` before this one. The caller counts; the engine compares.
    - ``year``: the current year, for "I was born in 2011"; None skips that rule.
    """

    new_contact: bool = False
    place: Place = Place.CONVERSATION
    recent_first_contacts: int = 0
    year: int | None = None

    @property
    def first_contact(self) -> bool:
        """True when the sender is reaching someone they have not talked to before."""
        return self.new_contact or self.place is Place.REQUEST


def context_from_mapping(raw: Mapping[str, object]) -> Context:
    """A Context from JSON (``tryst safety check``, the evaluation set). Unknown keys and
    wrong types are errors, so a typo does not silently test the wrong thing."""
    known = {"new_contact", "place", "recent_first_contacts", "year"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InvalidInput(f"unknown context field(s): {', '.join(unknown)}; "
                           f"known: {', '.join(sorted(known))}")
    new_contact = raw.get("new_contact", False)
    if not isinstance(new_contact, bool):
        raise InvalidInput("context new_contact must be true or false")
    place_raw = raw.get("place", Place.CONVERSATION.value)
    try:
        place = Place(str(place_raw))
    except ValueError:
        raise InvalidInput("context place must be one of: "
                           + ", ".join(p.value for p in Place)) from None
    count = raw.get("recent_first_contacts", 0)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InvalidInput("context recent_first_contacts must be a whole number >= 0")
    year = raw.get("year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        raise InvalidInput("context year must be a whole number")
    return Context(new_contact=new_contact, place=place, recent_first_contacts=count,
                   year=year)
