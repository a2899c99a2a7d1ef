"""Scenes: a private space for 2 to 8 personas, with consent the server enforces.

Everything a scene may do is decided here, purely: two transition tables (one for the
scene, one for each participant, in the style of h11) say which action is legal in
which state, and small functions return the next Scene. Services hold scenes in
memory, record grants and publish; every door gets the same rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from tryst.domain import consent
from tryst.domain.consent import Channel, Grant
from tryst.domain.errors import (
    Forbidden,
    IllegalTransition,
    InvalidInput,
    LimitReached,
    NotFound,
    NotGranted,
    ScenePaused,
)
from tryst.domain.personas import InterestLevel, Persona
from tryst.domain.text import clean_text
from tryst.ids import AccountId, PersonaId

MAX_PARTICIPANTS = 8  # the proposer counts
TITLE_MAX = 100
MAX_CARD_TAGS = 30


class SceneStatus(StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    PAUSED = "paused"  # red was called
    ENDED = "ended"


class ParticipantState(StrEnum):
    INVITED = "invited"
    SUPPRESSED = "suppressed"  # blocked or out of reach: never told, looks "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    PRESENT = "present"  # in the running scene
    LEFT = "left"
    WITHDRAWN = "withdrawn"  # had not accepted when the scene started


class SceneAction(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    COUNTER = "counter"
    START = "start"
    SEND = "send"
    RED = "red"
    YELLOW = "yellow"
    RESUME = "resume"
    LEAVE = "leave"
    END = "end"
    GRANT = "grant"
    REVOKE = "revoke"


_S, _A, _P = SceneStatus, SceneAction, ParticipantState

# Which actions a scene in each status takes, and the status it moves to. Where the
# move depends on who is left (leave, resume, accept), the function named in the
# comment finishes the job.
SCENE_TRANSITIONS: dict[tuple[SceneStatus, SceneAction], SceneStatus] = {
    (_S.PROPOSED, _A.ACCEPT): _S.PROPOSED,  # accept(): starts when everyone has
    (_S.PROPOSED, _A.DECLINE): _S.PROPOSED,
    (_S.PROPOSED, _A.COUNTER): _S.PROPOSED,
    (_S.PROPOSED, _A.START): _S.ACTIVE,
    (_S.PROPOSED, _A.LEAVE): _S.PROPOSED,  # leave(): the proposer leaving withdraws it
    (_S.PROPOSED, _A.END): _S.ENDED,
    (_S.PROPOSED, _A.GRANT): _S.PROPOSED,
    (_S.PROPOSED, _A.REVOKE): _S.PROPOSED,
    (_S.ACTIVE, _A.SEND): _S.ACTIVE,
    (_S.ACTIVE, _A.RED): _S.PAUSED,
    (_S.ACTIVE, _A.YELLOW): _S.ACTIVE,
    (_S.ACTIVE, _A.LEAVE): _S.ACTIVE,  # leave(): fewer than two present ends it
    (_S.ACTIVE, _A.END): _S.ENDED,
    (_S.ACTIVE, _A.GRANT): _S.ACTIVE,
    (_S.ACTIVE, _A.REVOKE): _S.ACTIVE,
    (_S.PAUSED, _A.RED): _S.PAUSED,  # a second red asks everyone again
    (_S.PAUSED, _A.YELLOW): _S.PAUSED,
    (_S.PAUSED, _A.RESUME): _S.PAUSED,  # resume(): active once everyone confirmed
    (_S.PAUSED, _A.LEAVE): _S.PAUSED,
    (_S.PAUSED, _A.END): _S.ENDED,
    (_S.PAUSED, _A.GRANT): _S.PAUSED,
    (_S.PAUSED, _A.REVOKE): _S.PAUSED,
}

# Which actions a participant in each state may take, and where it leaves them.
PARTICIPANT_TRANSITIONS: dict[tuple[ParticipantState, SceneAction], ParticipantState] = {
    (_P.INVITED, _A.ACCEPT): _P.ACCEPTED,
    (_P.INVITED, _A.DECLINE): _P.DECLINED,
    (_P.INVITED, _A.COUNTER): _P.ACCEPTED,  # a counter-proposal accepts its own card
    (_P.INVITED, _A.LEAVE): _P.DECLINED,
    (_P.ACCEPTED, _A.COUNTER): _P.ACCEPTED,
    (_P.ACCEPTED, _A.DECLINE): _P.DECLINED,  # changed their mind before the start
    (_P.ACCEPTED, _A.LEAVE): _P.LEFT,
    (_P.ACCEPTED, _A.START): _P.PRESENT,
    (_P.ACCEPTED, _A.END): _P.ACCEPTED,
    (_P.ACCEPTED, _A.GRANT): _P.ACCEPTED,
    (_P.ACCEPTED, _A.REVOKE): _P.ACCEPTED,
    (_P.PRESENT, _A.SEND): _P.PRESENT,
    (_P.PRESENT, _A.RED): _P.PRESENT,
    (_P.PRESENT, _A.YELLOW): _P.PRESENT,
    (_P.PRESENT, _A.RESUME): _P.PRESENT,
    (_P.PRESENT, _A.LEAVE): _P.LEFT,
    (_P.PRESENT, _A.END): _P.PRESENT,
    (_P.PRESENT, _A.GRANT): _P.PRESENT,
    (_P.PRESENT, _A.REVOKE): _P.PRESENT,
}

# States in which a participant sees the scene at all.
VISIBLE = frozenset({_P.INVITED, _P.ACCEPTED, _P.PRESENT})


@dataclass(frozen=True, slots=True)
class Card:
    """What a scene is about: agreed to as a whole, version by version."""

    title: str
    tags: tuple[str, ...]
    channels: frozenset[Channel]
    version: int = 1


@dataclass(frozen=True, slots=True)
class Participant:
    persona_id: PersonaId
    account_id: AccountId
    name: str
    state: ParticipantState
    grants: Mapping[Channel, Grant] = field(default_factory=dict)

    def covers(self, channel: Channel, at: datetime) -> bool:
        current = self.grants.get(channel)
        return current is not None and current.covers(at)


@dataclass(frozen=True, slots=True)
class Scene:
    id: str
    proposer: PersonaId
    card: Card
    status: SceneStatus
    participants: tuple[Participant, ...]
    created_at: datetime
    started_at: datetime | None = None
    paused_by: PersonaId | None = None
    confirmed: frozenset[PersonaId] = frozenset()  # who confirmed resuming after red

    def participant(self, persona_id: PersonaId) -> Participant | None:
        return next((p for p in self.participants if p.persona_id == persona_id), None)

    def in_state(self, *states: ParticipantState) -> list[Participant]:
        return [p for p in self.participants if p.state in states]

    @property
    def present(self) -> frozenset[PersonaId]:
        return frozenset(p.persona_id for p in self.participants
                         if p.state is ParticipantState.PRESENT)

    @property
    def audience(self) -> frozenset[PersonaId]:
        """Who receives the scene's control events (never its content by this alone)."""
        return frozenset(p.persona_id for p in self.participants if p.state in VISIBLE)


# ---------------------------------------------------------------- validation


def validate_card(title: object, tags: Iterable[object], channels: Iterable[object],
                  known_tag: Mapping[str, str]) -> Card:
    """A card from what a person typed. ``known_tag`` maps tag ids to names."""
    if not isinstance(title, str):
        raise InvalidInput("title must be text", details={"field": "title"})
    clean = clean_text(title, field="title", max_chars=TITLE_MAX, multiline=False)
    tag_list = list(tags)
    if len(tag_list) > MAX_CARD_TAGS:
        raise InvalidInput(f"at most {MAX_CARD_TAGS} tags", details={"field": "tags"})
    unknown = [str(t)[:40] for t in tag_list if not isinstance(t, str) or t not in known_tag]
    if unknown:
        raise InvalidInput("unknown tags", details={"field": "tags", "tags": unknown})
    chosen = frozenset(consent.parse_channel(c) for c in channels)
    if not chosen:
        raise InvalidInput("name at least one channel the scene will use",
                           details={"field": "channels"})
    return Card(clean, tuple(dict.fromkeys(str(t) for t in tag_list)), chosen)


def validate_invitees(persona_ids: Iterable[str], proposer: PersonaId) -> list[PersonaId]:
    ids = list(dict.fromkeys(PersonaId(p) for p in persona_ids))
    if proposer in ids:
        raise InvalidInput("you are in the scene already; invite others",
                           details={"field": "personas"})
    if not ids:
        raise InvalidInput("invite at least one persona", details={"field": "personas"})
    if len(ids) + 1 > MAX_PARTICIPANTS:
        raise LimitReached(f"a scene has at most {MAX_PARTICIPANTS} participants",
                           details={"limit": MAX_PARTICIPANTS})
    return ids


def conflicts(card: Card, persona: Persona, tag_names: Mapping[str, str]) -> list[str]:
    """The card's tags this persona marked "no" or named among its hard limits."""
    limits = {h.casefold() for h in persona.hard_limits}
    return [t for t in card.tags
            if persona.interests.get(t) is InterestLevel.NO
            or t.casefold() in limits or tag_names.get(t, "").casefold() in limits]


# ---------------------------------------------------------------- the tables


def _check(scene: Scene, persona_id: PersonaId, action: SceneAction
           ) -> tuple[Participant, SceneStatus, ParticipantState]:
    """Look the action up in both tables; raise a named error if either refuses."""
    who = scene.participant(persona_id)
    if who is None or who.state not in VISIBLE | {_P.LEFT}:
        raise NotFound("no such scene")
    if who.state is _P.LEFT:
        raise IllegalTransition("you have left this scene", details={"state": "left"})
    status = SCENE_TRANSITIONS.get((scene.status, action))
    if status is None:
        if scene.status is _S.PAUSED and action is _A.SEND:
            raise ScenePaused("red was called: nothing is delivered until everyone "
                              "confirms resuming", details={"scene": scene.id})
        raise IllegalTransition(f"cannot {action.value}: the scene is {scene.status.value}",
                                details={"status": scene.status.value})
    state = PARTICIPANT_TRANSITIONS.get((who.state, action))
    if state is None:
        raise IllegalTransition(f"cannot {action.value} while {who.state.value}",
                                details={"state": who.state.value})
    return who, status, state


def _put(scene: Scene, *changed: Participant, **fields: object) -> Scene:
    by_id = {p.persona_id: p for p in changed}
    participants = tuple(by_id.get(p.persona_id, p) for p in scene.participants)
    return replace(scene, participants=participants, **fields)  # type: ignore[arg-type]


def _grants(card: Card, choices: Mapping[str, bool], persona_id: PersonaId, at: datetime,
            minutes: int) -> dict[Channel, Grant]:
    chosen: dict[Channel, Grant] = {}
    for name, yes in choices.items():
        channel = consent.parse_channel(name)
        if channel not in card.channels:
            raise InvalidInput(f"this scene's card does not include {channel.value}",
                               details={"channel": channel.value})
        if not isinstance(yes, bool):
            raise InvalidInput("each channel takes true or false",
                               details={"channel": channel.value})
        if yes:
            chosen[channel] = consent.grant(None, persona_id, channel, at, minutes)
    if not chosen:
        raise InvalidInput("agree to at least one channel, or decline",
                           details={"field": "channels"})
    return chosen


def check_choices(card: Card, choices: Mapping[str, bool]) -> None:
    """Raise for choices that could not be granted (before anything else is done)."""
    _grants(card, choices, PersonaId(""), datetime.min, 1)


def _lapse(grants: Mapping[Channel, Grant], at: datetime) -> dict[Channel, Grant]:
    """Every grant still running ends now (the card it was given for has changed, or the
    participant is no longer in the scene)."""
    return {ch: (consent.revoke(g, ch, at) if g.covers(at) else g) for ch, g in grants.items()}


# ---------------------------------------------------------------- moves


def propose(scene_id: str, proposer: Persona, invitees: list[tuple[Persona, bool]],
            card: Card, choices: Mapping[str, bool], at: datetime, minutes: int) -> Scene:
    """A new scene. ``invitees`` pairs each persona with whether they may be told (a
    block or their reach settings make it False: they are never told, and to everyone
    else they look as if they have not answered)."""
    me = Participant(proposer.id, proposer.account_id, proposer.name, _P.ACCEPTED,
                     _grants(card, choices, proposer.id, at, minutes))
    others = tuple(Participant(p.id, p.account_id, p.name,
                               _P.INVITED if shown else _P.SUPPRESSED)
                   for p, shown in invitees)
    return Scene(scene_id, proposer.id, card, _S.PROPOSED, (me, *others), at)


def accept(scene: Scene, persona_id: PersonaId, choices: Mapping[str, bool], at: datetime,
           minutes: int, version: int | None = None) -> Scene:
    """Accept the card, choosing channel by channel. ``version`` is the card version the
    participant read: if the card changed since, they must read it again. Starts the
    scene when every invitee has accepted."""
    who, _, state = _check(scene, persona_id, _A.ACCEPT)
    if version is not None and version != scene.card.version:
        raise IllegalTransition(
            f"the card has changed (now version {scene.card.version}): read it again",
            details={"version": scene.card.version})
    scene = _put(scene, replace(who, state=state,
                                grants=_grants(scene.card, choices, persona_id, at, minutes)))
    if all(p.state is _P.ACCEPTED for p in scene.participants):
        return start(scene, scene.proposer, at)
    return scene


def decline(scene: Scene, persona_id: PersonaId, at: datetime) -> Scene:
    """Say no. The proposer saying no to a counter-proposal withdraws the proposal."""
    who, _, state = _check(scene, persona_id, _A.DECLINE)
    if persona_id == scene.proposer:
        return _end(_put(scene, replace(who, state=_P.LEFT, grants=_lapse(who.grants, at))),
                    at)
    return _put(scene, replace(who, state=state, grants=_lapse(who.grants, at)))


def counter(scene: Scene, persona_id: PersonaId, card: Card, choices: Mapping[str, bool],
            at: datetime, minutes: int) -> Scene:
    """A changed card from an invitee. Consent given to the old card does not carry
    over: everyone who had accepted (the proposer too) is asked again."""
    who, _, state = _check(scene, persona_id, _A.COUNTER)
    new_card = replace(card, version=scene.card.version + 1)
    changed = [replace(who, state=state, grants={
        **_lapse(who.grants, at), **_grants(new_card, choices, persona_id, at, minutes)})]
    for p in scene.participants:
        if p.persona_id != persona_id and p.state is _P.ACCEPTED:
            changed.append(replace(p, state=_P.INVITED, grants=_lapse(p.grants, at)))
    return _put(scene, *changed, card=new_card)


def start(scene: Scene, persona_id: PersonaId, at: datetime) -> Scene:
    """The proposer starts with those who accepted; the other invitations lapse."""
    _check(scene, persona_id, _A.START)
    if persona_id != scene.proposer:
        raise Forbidden("only the proposer starts the scene")
    accepted = scene.in_state(_P.ACCEPTED)
    if len(accepted) < 2:
        raise IllegalTransition("nobody has accepted yet", details={"status": "proposed"})
    changed = [replace(p, state=_P.PRESENT) if p.state is _P.ACCEPTED
               else replace(p, state=_P.WITHDRAWN) if p.state in (_P.INVITED, _P.SUPPRESSED)
               else p for p in scene.participants]
    return _put(scene, *changed, status=_S.ACTIVE, started_at=at)


def check_send(scene: Scene, persona_id: PersonaId, channel: Channel, at: datetime) -> None:
    """Raise unless this participant may put content on ``channel`` now."""
    who, _, _ = _check(scene, persona_id, _A.SEND)
    if channel not in scene.card.channels:
        raise InvalidInput(f"this scene's card does not include {channel.value}",
                           details={"channel": channel.value})
    if not who.covers(channel, at):
        raise NotGranted(f"you have not granted {channel.value} in this scene",
                         details={"channel": channel.value})


def recipients(scene: Scene, channel: Channel, at: datetime) -> frozenset[PersonaId]:
    """Who receives content on ``channel`` at ``at``: present, with a grant covering it."""
    if scene.status is not _S.ACTIVE:
        return frozenset()
    return frozenset(p.persona_id for p in scene.participants
                     if p.state is _P.PRESENT and p.covers(channel, at))


def red(scene: Scene, persona_id: PersonaId) -> Scene:
    """Pause for everyone at once; everyone must confirm before anything is delivered."""
    _, status, _ = _check(scene, persona_id, _A.RED)
    return replace(scene, status=status, paused_by=persona_id, confirmed=frozenset())


def yellow(scene: Scene, persona_id: PersonaId) -> Scene:
    _check(scene, persona_id, _A.YELLOW)
    return scene


def resume(scene: Scene, persona_id: PersonaId, at: datetime) -> Scene:
    _check(scene, persona_id, _A.RESUME)
    return _settle(replace(scene, confirmed=scene.confirmed | {persona_id}), at)


def _settle(scene: Scene, at: datetime) -> Scene:
    """After someone confirmed or left: resume when everyone present has confirmed; end
    when fewer than two are present."""
    if scene.status in (_S.ACTIVE, _S.PAUSED) and len(scene.present) < 2:
        return _end(scene, at)
    if scene.status is _S.PAUSED and scene.present <= scene.confirmed:
        return replace(scene, status=_S.ACTIVE, paused_by=None, confirmed=frozenset())
    return scene


def leave(scene: Scene, persona_id: PersonaId, at: datetime) -> Scene:
    """Anyone may leave at any time, without a reason."""
    who, _, state = _check(scene, persona_id, _A.LEAVE)
    if scene.status is _S.PROPOSED and persona_id == scene.proposer:
        return _end(_put(scene, replace(who, state=_P.LEFT, grants=_lapse(who.grants, at))),
                     at)
    scene = _put(scene, replace(who, state=state, grants=_lapse(who.grants, at)),
                 confirmed=scene.confirmed - {persona_id})
    return _settle(scene, at)


def end(scene: Scene, persona_id: PersonaId, at: datetime) -> Scene:
    """Any participant in a running scene ends it for everyone; before the start, only
    the proposer (withdrawing the proposal)."""
    _check(scene, persona_id, _A.END)
    if scene.status is _S.PROPOSED and persona_id != scene.proposer:
        raise Forbidden("only the proposer withdraws a proposal; decline instead")
    return _end(scene, at)


def _end(scene: Scene, at: datetime) -> Scene:
    return _put(scene, *[replace(p, grants=_lapse(p.grants, at)) for p in scene.participants],
                status=_S.ENDED, paused_by=None, confirmed=frozenset())


def expire(scene: Scene, at: datetime) -> Scene:
    """End a scene nobody has touched for too long (the server's housekeeping)."""
    if scene.status is _S.ENDED:
        raise IllegalTransition("the scene has ended", details={"status": "ended"})
    return _end(scene, at)


def set_grant(scene: Scene, persona_id: PersonaId, channel: Channel, at: datetime,
              minutes: int) -> Scene:
    """Grant (or renew) one channel of the card."""
    who, _, _ = _check(scene, persona_id, _A.GRANT)
    if channel not in scene.card.channels:
        raise InvalidInput(f"this scene's card does not include {channel.value}",
                           details={"channel": channel.value})
    updated = consent.grant(who.grants.get(channel), persona_id, channel, at, minutes)
    return _put(scene, replace(who, grants={**who.grants, channel: updated}))


def revoke_grant(scene: Scene, persona_id: PersonaId, channel: Channel, at: datetime) -> Scene:
    """Take a channel back: it applies to the very next event."""
    who, _, _ = _check(scene, persona_id, _A.REVOKE)
    updated = consent.revoke(who.grants.get(channel), channel, at)
    return _put(scene, replace(who, grants={**who.grants, channel: updated}))


def logging_on(scene: Scene, at: datetime) -> bool:
    """Content is stored only while every participant present has granted logging."""
    if scene.status is not _S.ACTIVE or Channel.LOGGING not in scene.card.channels:
        return False
    present = scene.in_state(_P.PRESENT)
    return len(present) >= 2 and all(p.covers(Channel.LOGGING, at) for p in present)
