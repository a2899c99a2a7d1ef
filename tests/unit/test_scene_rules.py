"""The scene and grant transition tables, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tryst.domain import consent
from tryst.domain import scenes as sc
from tryst.domain.consent import Channel
from tryst.domain.errors import (
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    NotGranted,
    ScenePaused,
)
from tryst.domain.personas import InterestLevel, Persona
from tryst.ids import AccountId, PersonaId

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TAGS = {"romance": "Romance", "horror": "Horror", "fantasy": "Fantasy"}


def persona(n: int, **fields: object) -> Persona:
    base: dict[str, object] = dict(
        id=PersonaId(f"p_{n}"), account_id=AccountId(f"a_{n}"), name=f"P{n}", age=30,
        short_description="", profile="", pronouns="", interests={}, hard_limits=(),
        adult_content=True, created_at=T0)
    base.update(fields)
    return Persona(**base)  # type: ignore[arg-type]


def scene_of(*invitees: Persona, channels: tuple[str, ...] = ("text", "images")) -> sc.Scene:
    card = sc.validate_card("Evening", ["romance"], channels, TAGS)
    return sc.propose("s_1", persona(0), [(p, True) for p in invitees], card,
                      {c: True for c in channels}, T0, 60)


def test_every_pair_missing_from_the_tables_is_a_named_error() -> None:
    for status in sc.SceneStatus:
        for action in sc.SceneAction:
            if (status, action) not in sc.SCENE_TRANSITIONS:
                assert status is sc.SceneStatus.ENDED or action in (
                    sc.SceneAction.ACCEPT, sc.SceneAction.DECLINE, sc.SceneAction.COUNTER,
                    sc.SceneAction.START, sc.SceneAction.SEND, sc.SceneAction.RED,
                    sc.SceneAction.YELLOW, sc.SceneAction.RESUME)
    ended = sc.end(scene_of(persona(1)), PersonaId("p_0"), T0)
    for move in (lambda s: sc.red(s, PersonaId("p_0")),
                 lambda s: sc.accept(s, PersonaId("p_1"), {"text": True}, T0, 60)):
        with pytest.raises(IllegalTransition):
            move(ended)


def test_accepting_starts_only_when_everyone_has_and_grants_are_per_channel() -> None:
    scene = scene_of(persona(1), persona(2))
    scene = sc.accept(scene, PersonaId("p_1"), {"text": True, "images": False}, T0, 60)
    assert scene.status is sc.SceneStatus.PROPOSED
    scene = sc.accept(scene, PersonaId("p_2"), {"text": True, "images": True}, T0, 60)
    assert scene.status is sc.SceneStatus.ACTIVE and scene.started_at == T0
    assert sc.recipients(scene, Channel.IMAGES, T0) == {"p_0", "p_2"}
    assert sc.recipients(scene, Channel.TEXT, T0) == {"p_0", "p_1", "p_2"}
    # A grant lapses on its own after its time.
    assert sc.recipients(scene, Channel.TEXT, T0 + timedelta(minutes=61)) == frozenset()
    with pytest.raises(InvalidInput):
        sc.accept(scene_of(persona(3)), PersonaId("p_3"), {"camera": True}, T0, 60)
    with pytest.raises(InvalidInput):
        sc.accept(scene_of(persona(3)), PersonaId("p_3"), {"text": False}, T0, 60)


def test_proposer_starts_with_those_who_accepted_and_others_lapse() -> None:
    scene = scene_of(persona(1), persona(2))
    with pytest.raises(IllegalTransition):
        sc.start(scene, PersonaId("p_0"), T0)  # nobody has accepted yet
    scene = sc.accept(scene, PersonaId("p_1"), {"text": True}, T0, 60)
    with pytest.raises(Forbidden):
        sc.start(scene, PersonaId("p_1"), T0)
    scene = sc.start(scene, PersonaId("p_0"), T0)
    states = {p.persona_id: p.state for p in scene.participants}
    assert states[PersonaId("p_2")] is sc.ParticipantState.WITHDRAWN
    with pytest.raises(NotFound):
        sc.accept(scene, PersonaId("p_2"), {"text": True}, T0, 60)


def test_counter_proposal_asks_everyone_again() -> None:
    scene = sc.accept(scene_of(persona(1), persona(2)), PersonaId("p_1"), {"text": True},
                      T0, 60)
    card = sc.validate_card("Evening, text only", [], ["text"], TAGS)
    scene = sc.counter(scene, PersonaId("p_2"), card, {"text": True}, T0, 60)
    states = {p.persona_id: p.state for p in scene.participants}
    assert states == {"p_0": sc.ParticipantState.INVITED, "p_1": sc.ParticipantState.INVITED,
                      "p_2": sc.ParticipantState.ACCEPTED}
    assert scene.card.version == 2
    assert all(not g.covers(T0) for p in scene.participants if p.persona_id != "p_2"
               for g in p.grants.values())


def test_red_pauses_until_everyone_present_confirms_and_leaving_counts() -> None:
    scene = sc.accept(sc.accept(scene_of(persona(1), persona(2)), PersonaId("p_1"),
                                {"text": True}, T0, 60), PersonaId("p_2"), {"text": True},
                      T0, 60)
    scene = sc.red(scene, PersonaId("p_1"))
    assert sc.recipients(scene, Channel.TEXT, T0) == frozenset()
    with pytest.raises(ScenePaused):
        sc.check_send(scene, PersonaId("p_0"), Channel.TEXT, T0)
    scene = sc.resume(scene, PersonaId("p_0"), T0)
    scene = sc.resume(scene, PersonaId("p_1"), T0)
    assert scene.status is sc.SceneStatus.PAUSED
    # The one who had not confirmed leaves: everyone still there has, so it resumes.
    scene = sc.leave(scene, PersonaId("p_2"), T0)
    assert scene.status is sc.SceneStatus.ACTIVE
    scene = sc.leave(scene, PersonaId("p_1"), T0)
    assert scene.status is sc.SceneStatus.ENDED


def test_sending_needs_ones_own_grant_and_revoking_applies_at_once() -> None:
    scene = sc.accept(scene_of(persona(1)), PersonaId("p_1"), {"images": True}, T0, 60)
    with pytest.raises(NotGranted):
        sc.check_send(scene, PersonaId("p_1"), Channel.TEXT, T0)
    scene = sc.revoke_grant(scene, PersonaId("p_0"), Channel.IMAGES, T0)
    assert sc.recipients(scene, Channel.IMAGES, T0) == {"p_1"}
    with pytest.raises(IllegalTransition):
        sc.revoke_grant(scene, PersonaId("p_0"), Channel.IMAGES, T0)  # already revoked
    scene = sc.set_grant(scene, PersonaId("p_0"), Channel.IMAGES, T0, 10)
    assert sc.recipients(scene, Channel.IMAGES, T0) == {"p_0", "p_1"}


def test_logging_needs_everyone_present() -> None:
    scene = scene_of(persona(1), channels=("text", "logging"))
    scene = sc.accept(scene, PersonaId("p_1"), {"text": True}, T0, 60)
    assert not sc.logging_on(scene, T0)
    scene = sc.set_grant(scene, PersonaId("p_1"), Channel.LOGGING, T0, 60)
    assert sc.logging_on(scene, T0)


def test_conflicts_flag_no_and_hard_limits() -> None:
    card = sc.validate_card("x", ["romance", "horror", "fantasy"], ["text"], TAGS)
    viewer = persona(5, interests={"horror": InterestLevel.NO,
                                   "fantasy": InterestLevel.YES},
                     hard_limits=("romance",))
    assert sc.conflicts(card, viewer, TAGS) == ["romance", "horror"]


def test_grant_table() -> None:
    g = consent.grant(None, PersonaId("p_1"), Channel.TEXT, T0, 5)
    assert g.state(T0) is consent.GrantState.ACTIVE
    assert g.state(T0 + timedelta(minutes=5)) is consent.GrantState.EXPIRED
    r = consent.revoke(g, Channel.TEXT, T0)
    assert r.state(T0) is consent.GrantState.REVOKED
    with pytest.raises(IllegalTransition):
        consent.revoke(None, Channel.TEXT, T0)
    with pytest.raises(InvalidInput):
        consent.validate_minutes(0)
    with pytest.raises(InvalidInput):
        sc.validate_card("x", ["no-such-tag"], ["text"], TAGS)
    with pytest.raises(InvalidInput):
        sc.validate_card("x", [], [], TAGS)


def test_fingerprint_marks_every_few_words_and_reads_back() -> None:
    from tryst.domain import fingerprint

    token = bytes(range(12))
    line = " ".join(f"w{i}" for i in range(20))
    marked = fingerprint.mark_line(line, token)
    assert marked.count(fingerprint.MARK) == 3  # after words 1, 9 and 17
    assert fingerprint.find(marked) == [token]
    visible = marked
    for ch in fingerprint.ALPHABET + fingerprint.MARK:
        visible = visible.replace(ch, "")
    assert visible == line
    # A fragment that lost part of a mark does not yield a wrong token.
    cut = marked.index(fingerprint.MARK) + 10
    assert fingerprint.find(marked[cut:cut + 40]) == []
    assert fingerprint.find("plain text") == []
    assert fingerprint.mark_line("one", token).startswith("one" + fingerprint.MARK)
