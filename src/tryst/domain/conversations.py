"""Private conversations: message requests, membership states, retention and the rules
for who may reach whom. Pure: no storage, no clock (times are passed in)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tryst.domain.errors import InvalidInput
from tryst.domain.personas import InterestLevel, Persona
from tryst.domain.text import clean_text
from tryst.ids import ConversationId, PersonaId

MAX_GROUP_MEMBERS = 8  # the creator included
TITLE_MAX = 80
AUTO_REPLY_MAX = 300
STATUS_MESSAGE_MAX = 120
MIN_DISAPPEAR_SECONDS = 30
MAX_DISAPPEAR_SECONDS = 7 * 86400


class ConversationKind(StrEnum):
    DIRECT = "direct"  # two personas, opened by a message request
    GROUP = "group"  # up to MAX_GROUP_MEMBERS, created by invitation


class MemberState(StrEnum):
    """A persona's place in a conversation. Declined and suppressed look exactly like
    invited to everyone but the invitee: the sender only ever sees "pending"."""

    INVITED = "invited"  # a request or invitation waiting for an answer
    ACTIVE = "active"  # accepted (or the creator): receives messages
    DECLINED = "declined"  # said no; may be asked again after the cooldown
    SUPPRESSED = "suppressed"  # never shown: blocked, or refused by who-may-reach-me
    LEFT = "left"


PENDING_LOOKALIKES = frozenset({MemberState.INVITED, MemberState.DECLINED,
                                MemberState.SUPPRESSED})


class Reach(StrEnum):
    """Who may send this persona a message request (a MUCK's HAVEN is ``nobody``)."""

    ANYONE = "anyone"
    SHARED_ROOM = "shared_room"
    NOBODY = "nobody"


class Status(StrEnum):
    ONLINE = "online"
    LOOKING = "looking"  # open to new roleplay
    BUSY = "busy"
    DND = "dnd"  # do not disturb
    AWAY = "away"


@dataclass(frozen=True, slots=True)
class Conversation:
    id: ConversationId
    kind: ConversationKind
    title: str
    created_by: PersonaId | None
    created_at: datetime
    last_seq: int
    disappear_seconds: int | None  # messages vanish this long after they are sent


@dataclass(frozen=True, slots=True)
class Member:
    conversation_id: ConversationId
    persona_id: PersonaId
    state: MemberState
    invited_by: PersonaId | None
    keep_days: int  # 0: not stored beyond delivery (kept only until everyone has read it)
    typing: bool  # share typing indicators (only with members who also share them)
    receipts: bool  # share read receipts (likewise)
    last_read_seq: int
    cleared_seq: int  # this member deleted their copy of everything up to here
    requested_at: datetime  # when this persona was last asked (the cooldown counts from here)


@dataclass(frozen=True, slots=True)
class Boundaries:
    """A persona's settings for being reached, and its presence status."""

    persona_id: PersonaId
    reach: Reach = Reach.ANYONE
    refuse_limit_conflicts: bool = False
    auto_reply: str = ""
    status: Status = Status.ONLINE
    status_message: str = ""


def default_boundaries(persona_id: PersonaId) -> Boundaries:
    return Boundaries(persona_id)


# ---------------------------------------------------------------- validation


def validate_title(raw: str) -> str:
    return clean_text(raw, field="title", max_chars=TITLE_MAX, allow_empty=True,
                      multiline=False)


def validate_auto_reply(raw: str) -> str:
    return clean_text(raw, field="auto_reply", max_chars=AUTO_REPLY_MAX, allow_empty=True)


def validate_status_message(raw: str) -> str:
    return clean_text(raw, field="status_message", max_chars=STATUS_MESSAGE_MAX,
                      allow_empty=True, multiline=False)


def validate_keep_days(value: int, max_days: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= max_days:
        raise InvalidInput(f"keep_days must be a whole number from 0 (not stored) to "
                           f"{max_days} (this server's maximum)",
                           details={"field": "keep_days", "maximum": max_days})
    return value


def validate_disappear(value: int | None) -> int | None:
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int) \
            or not MIN_DISAPPEAR_SECONDS <= value <= MAX_DISAPPEAR_SECONDS:
        raise InvalidInput(
            f"disappear_seconds must be 0 (off) or from {MIN_DISAPPEAR_SECONDS} to "
            f"{MAX_DISAPPEAR_SECONDS}", details={"field": "disappear_seconds"})
    return value


def validate_group_size(invitees: Iterable[PersonaId], creator: PersonaId) -> list[PersonaId]:
    unique = list(dict.fromkeys(p for p in invitees if p != creator))
    if not unique:
        raise InvalidInput("invite at least one other persona", details={"field": "personas"})
    if len(unique) + 1 > MAX_GROUP_MEMBERS:
        raise InvalidInput(f"a group has at most {MAX_GROUP_MEMBERS} members, you included",
                           details={"field": "personas", "limit": MAX_GROUP_MEMBERS})
    return unique


# ---------------------------------------------------------------- retention


def effective_keep_days(members: Iterable[Member], max_days: int) -> int:
    """History is kept for the shortest period any member in the conversation chose.
    Only active members choose: counting invitees would make a decline or a block
    (which end an invitation) change the answer the sender sees."""
    choices = [m.keep_days for m in members if m.state is MemberState.ACTIVE]
    return min([max_days, *choices])


def outer_bound_days(members: Iterable[Member], max_days: int) -> int:
    """The longest anything may stay, read or not: the shortest period any active member
    chose to keep things for (choosing "not stored" does not mean "keep unread lines for
    the server's maximum"), else the server's maximum."""
    positive = [m.keep_days for m in members
                if m.state is MemberState.ACTIVE and m.keep_days > 0]
    return min([max_days, *positive])


def expires_at(at: datetime, *, keep_days: int, disappear_seconds: int | None,
               max_days: int) -> datetime:
    """When a message sent at ``at`` must be gone. ``max_days`` is the outer bound
    (``outer_bound_days``); with keep_days 0 a line also goes as soon as every member
    has read it (``seen_by_all``)."""
    days = keep_days if keep_days > 0 else max_days
    end = at + timedelta(days=min(days, max_days))
    if disappear_seconds is not None:
        end = min(end, at + timedelta(seconds=disappear_seconds))
    return end


def seen_by_all(members: Iterable[Member]) -> int:
    """The highest seq every member has read (messages up to it may go when the
    conversation keeps nothing). Members who have not answered count too: a request
    that was declined keeps its opening line until the outer bound, since deleting it
    early would show the sender that something happened."""
    reads = [m.last_read_seq for m in members if m.state is not MemberState.LEFT]
    return min(reads) if reads else 0


def cleared_by_all(members: Iterable[Member]) -> int:
    """Everyone deleted their copy up to here: nobody can see it, so it is deleted."""
    cleared = [m.cleared_seq for m in members if m.state is not MemberState.LEFT]
    return min(cleared) if cleared else 0


# ---------------------------------------------------------------- who may reach me


@dataclass(frozen=True, slots=True)
class ReachDecision:
    allowed: bool
    reason: str  # for the recipient's own records and the docs; never sent to the sender
    auto_reply: str  # sent to the sender only when refused and the recipient set one


def limit_conflicts(sender: Persona, recipient: Persona,
                    tag_names: Mapping[str, str]) -> list[str]:
    """Tags the sender lists as fave or yes that the recipient lists as no, or names
    among its hard limits (by tag id or tag name, ignoring case)."""
    limits = {h.casefold() for h in recipient.hard_limits}
    refused = {t for t, level in recipient.interests.items() if level is InterestLevel.NO}
    out = []
    for tag, level in sorted(sender.interests.items()):
        if level not in (InterestLevel.FAVE, InterestLevel.YES):
            continue
        if tag in refused or tag.casefold() in limits \
                or tag_names.get(tag, "").casefold() in limits:
            out.append(tag)
    return out


def decide_reach(boundaries: Boundaries, *, share_room: bool,
                 conflicts: list[str]) -> ReachDecision:
    """Whether a request may be shown to the recipient. Blocks are decided elsewhere and
    never produce an auto-reply of their own."""
    refused_reason = ""
    if boundaries.reach is Reach.NOBODY:
        refused_reason = "not accepting requests"
    elif boundaries.reach is Reach.SHARED_ROOM and not share_room:
        refused_reason = "only personas who share a room"
    elif boundaries.refuse_limit_conflicts and conflicts:
        refused_reason = "interests conflict with limits"
    if not refused_reason:
        return ReachDecision(True, "", "")
    return ReachDecision(False, refused_reason, boundaries.auto_reply)


def may_resend(member: Member, now: datetime, cooldown: timedelta) -> bool:
    """A request that was not accepted may be sent again once the cooldown has passed
    since it was last sent, whatever became of it: counting from the answer instead
    would tell the sender when (and so that) a decline happened."""
    return now - member.requested_at >= cooldown
