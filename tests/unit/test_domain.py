"""The pure domain, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tryst.domain.accounts import AgeEvidence, SelfAttestation, normalise_username
from tryst.domain.errors import AdultOptInRequired, AgeAssuranceFailed, Forbidden, InvalidInput
from tryst.domain.personas import PersonaDraft, name_key, validate_draft
from tryst.domain.ratelimit import TokenBucket
from tryst.domain.rooms import Rating, Room, Visibility, check_can_enter
from tryst.domain.tags import Tag, TagVocabulary, vocabulary_from_document
from tryst.domain.text import clean_text
from tryst.ids import RoomId

NOW = datetime(2026, 1, 1, tzinfo=UTC)
VOCAB = TagVocabulary([Tag("romance", "Romance", "Genre"), Tag("horror", "Horror", "Genre")])


def test_token_bucket_refills_and_refuses_without_digging_deeper() -> None:
    bucket = TokenBucket.full(rate=2.0, capacity=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)
    assert bucket.take(0.0) == pytest.approx(0.5)  # a refused take costs nothing
    assert bucket.take(0.5) == 0.0
    assert bucket.take(100.0) == 0.0 and bucket.tokens == pytest.approx(2.0)  # capped


@given(st.lists(st.floats(min_value=0, max_value=10), min_size=1, max_size=50))
def test_token_bucket_never_exceeds_its_rate(gaps: list[float]) -> None:
    bucket = TokenBucket.full(rate=1.0, capacity=5, now=0.0)
    now, granted = 0.0, 0
    for gap in gaps:
        now += gap
        granted += bucket.take(now) == 0.0
    assert granted <= 5 + now * 1.0 + 1e-9


def test_self_attestation_needs_explicit_confirmation() -> None:
    provider = SelfAttestation()
    result = provider.assure(AgeEvidence(confirm_adult=True, extra={}), NOW)
    assert (result.result, result.method, result.attested_at) == ("adult", "self-attestation", NOW)
    with pytest.raises(AgeAssuranceFailed):
        provider.assure(AgeEvidence(confirm_adult=False, extra={}), NOW)


@pytest.mark.parametrize(("raw", "expected"), [("Alice", "alice"), ("  bob.b  ", "bob.b")])
def test_usernames_are_normalised(raw: str, expected: str) -> None:
    assert normalise_username(raw) == expected


@pytest.mark.parametrize("text", ["a\x00b", "rtl\u202eoverride", "zero\u200bwidth"])
def test_control_and_invisible_characters_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        clean_text(text, field="text", max_chars=100)


def test_prose_keeps_newlines_and_emoji_sequences() -> None:
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"
    assert clean_text(f" line one\nline two {family} ", field="text",
                      max_chars=100) == f"line one\nline two {family}"


def test_name_keys_fold_case_and_compatibility_forms() -> None:
    assert name_key("\uff21lex") == name_key("ALEX") == name_key("alex")


def test_persona_validation() -> None:
    clean = validate_draft(PersonaDraft(name="  Ivy   Lane ", age=18,
                                        interests={"romance": "fave"}), VOCAB)  # type: ignore[dict-item]
    assert clean.name == "Ivy Lane" and clean.age == 18
    for bad in (PersonaDraft(name="Ivy", age=17), PersonaDraft(name="Ivy", age=True),
                PersonaDraft(name="Ivy", age=30, interests={"gore": "yes"}),  # type: ignore[dict-item]
                PersonaDraft(name="Ivy", age=30, interests={"romance": "always"})):  # type: ignore[dict-item]
        with pytest.raises(InvalidInput):
            validate_draft(bad, VOCAB)


def room(visibility: Visibility, rating: Rating) -> Room:
    return Room(id=RoomId("r_1"), name="R", topic="", description="", visibility=visibility,
                rating=rating, created_at=NOW, last_seq=0)


def test_room_entry_rules() -> None:
    check_can_enter(room(Visibility.PUBLIC, Rating.MATURE), adult_opt_in=False, invited=False)
    with pytest.raises(AdultOptInRequired):
        check_can_enter(room(Visibility.PUBLIC, Rating.ADULT), adult_opt_in=False, invited=False)
    with pytest.raises(Forbidden):
        check_can_enter(room(Visibility.INVITE_ONLY, Rating.GENERAL), adult_opt_in=True,
                        invited=False)
    check_can_enter(room(Visibility.INVITE_ONLY, Rating.ADULT), adult_opt_in=True, invited=True)


@pytest.mark.parametrize("doc", [
    {}, {"categories": "x"}, {"categories": [{"tags": []}]},
    {"categories": [{"name": "C", "tags": [{"id": "Bad Id", "name": "x"}]}]},
    {"categories": [{"name": "C", "tags": [{"id": "ok"}]}]},
])
def test_bad_tag_documents_are_refused(doc: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        TagVocabulary(vocabulary_from_document(doc))
