"""The text safety engine: every signal and its action, the false-alarm traps, contexts,
profiles, the classifier seam, and the operator's configuration. Pure: no I/O but reading
the shipped configuration and the evaluation set."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tryst.cli_safety import shipped_document
from tryst.domain.errors import InvalidInput
from tryst.domain.safety import (
    ALLOW,
    RULES,
    Action,
    Context,
    Place,
    SafetyConfig,
    SafetyEngine,
    Signal,
    Verdict,
    config_from_document,
    context_from_mapping,
)
from tryst.domain.safety.text import alternation, gate_words, prepare, prepared

EVAL_SET = Path(__file__).resolve().parent.parent / "data" / "safety_eval.jsonl"
NEW = Context(new_contact=True)
REQUEST = Context(new_contact=True, place=Place.REQUEST)
SCENE = Context(place=Place.SCENE)


@pytest.fixture(scope="module")
def shipped() -> SafetyConfig:
    return config_from_document(shipped_document())


@pytest.fixture(scope="module")
def engine(shipped: SafetyConfig) -> SafetyEngine:
    return SafetyEngine(shipped)


def extended(shipped: SafetyConfig, doc: dict[str, Any]) -> SafetyEngine:
    return SafetyEngine(config_from_document(doc, shipped))


# --- under 18 -----------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "hey! i'm 15 btw, is that ok?", "im 16 lol", "I am 17, turning 18 in march", "im fifteen",
    "I'M 16!!", "i\u2019m 15 & i love anime", "I'm 14 :)", "Can I still play if I'm 17?",
    "i'm a 16 year old girl from ohio", "Im just a 16yo", "im 14 y/o", "I'm 16 years of age",
    "im 15 n bored", "I'm fourteen and a half",
])
def test_a_stated_age_under_18_pauses_and_restricts(engine: SafetyEngine, text: str) -> None:
    verdict = engine.check(text)
    assert (verdict.signal, verdict.action, verdict.rule) == (
        Signal.MINOR, Action.PAUSE_AND_RESTRICT, "minor.self_age")
    assert "under 18" in verdict.reason and "moderator" in verdict.reason


@pytest.mark.parametrize(("text", "rule"), [
    ("I'm in 9th grade", "minor.school_year"), ("im in year 10 at school", "minor.school_year"),
    ("I'm a sophomore in high school", "minor.school_year"),
    ("I'm a freshman at Lincoln High", "minor.school_year"),
    ("i'm a 9th grader", "minor.school_year"),
    ("I go to high school in Leeds", "minor.school_year"),
    ("I'm a minor, sorry if that matters", "minor.statement"),
    ("i'm underage is that a problem", "minor.statement"),
    ("honestly im not even 16 yet", "minor.statement"),
    ("I'm under 18, is that allowed?", "minor.statement"),
    ("15yo here, looking for someone to write stories with", "minor.intro_age"),
    ("asl? 14/f/texas", "minor.intro_age"), ("16f looking for friends", "minor.intro_age"),
    ("15 and bored", "minor.intro_age"), ("my age? 16", "minor.intro_age"),
    ("i'll be 16 next month", "minor.self_age"), ("just turned 16 yesterday!!", "minor.self_age"),
    ("gonna be 17 in a few weeks", "minor.self_age"),
])
def test_other_ways_of_saying_under_18(engine: SafetyEngine, text: str, rule: str) -> None:
    verdict = engine.check(text)
    assert (verdict.signal, verdict.action, verdict.rule) == (
        Signal.MINOR, Action.PAUSE_AND_RESTRICT, rule)


@pytest.mark.parametrize("text", [
    "I'll be there in 15 minutes", "im 15 minutes away", "I'm 16 hours into this drive",
    "That was 15 years ago now", "when I was 15 I wanted to be an astronaut",
    "back when i was fifteen we had dial-up", "I've been married 15 years", "I'm 35, you?",
    "I'm 18, just turned", "My son is 15 and taller than me already", "I teach 10th grade english",
    "I'm a high school teacher", "Tickets are $15 each", "dinner at 17:30?",
    "I'm 16 weeks pregnant", "I'm 15% done with the draft", "i'm 13th in the queue",
    "I'm 5'10 if that matters", "I'm 11/10 sure about that", "I'm 16 stone",
    "I'm 17 and a half stone", "I'm 16 and 0 this season in darts",
    "I feel like I'm 15 again when I hear this album", "I'm not a minor, I'm 29",
    "I'm not 18 anymore, my knees remind me daily", "13 Going on 30 is my comfort film",
    "15 years old is too young for this site, right?", "I'm a grade 10 teacher",
    "I'm in year 2 of my degree", "I'm in year 10 of teaching now", "I'm a kid at heart",
    "Sixteen Candles is on tonight", "I'm a senior engineer", "I'm turning 40 next month",
    "I've got a 15 year old cat", "she turned 17 last week, my niece",
    'Remember the line in that film, "I\'m sixteen, I can do what I want"? So cheesy.',
])
def test_false_alarms_are_not_disclosures(engine: SafetyEngine, text: str) -> None:
    assert engine.check(text) == ALLOW


def test_a_birth_year_needs_the_current_year(engine: SafetyEngine) -> None:
    assert engine.check("i was born in 2010", Context(year=2026)).rule == "minor.birth_year"
    assert engine.check("i was born in 2001", Context(year=2026)) == ALLOW
    assert engine.check("i was born in 2010") == ALLOW  # no year known: rule skipped
    assert engine.check("My brother was born in 2012", Context(year=2026)) == ALLOW


@pytest.mark.parametrize("text", [
    "my character is 16 in this story", "My OC is fifteen, is that ok for this scene?",
    "I'll play a 15 year old student", "my persona is a 17 year old runaway",
    "my character's age is 15",
])
def test_a_character_under_18_is_refused_not_restricted(engine: SafetyEngine, text: str) -> None:
    verdict = engine.check(text, SCENE)
    assert (verdict.signal, verdict.action, verdict.rule) == (
        Signal.MINOR, Action.REFUSE, "minor.character_age")
    assert engine.check("my character is 30 and a retired knight", SCENE) == ALLOW


def test_quoted_speech_is_a_character_in_scenes_and_a_quotation_elsewhere(
        engine: SafetyEngine) -> None:
    line = '"I\'m sixteen," she said quietly.'
    assert engine.check(line, SCENE).rule == "minor.character_age"
    assert engine.check(line) == ALLOW
    # out of character, the writer speaks for themselves, in a scene too
    assert engine.check("ooc: im 15 btw", SCENE).action is Action.PAUSE_AND_RESTRICT


@pytest.mark.parametrize("text", [
    "Emma, 15", "Jake (16)", "Lily | 15 | she/her", "Age: 16", "She is a 16 year old witch",
    "She's 16 and loves horses", "A high school student who loves art", "i'm 15",
    "my character is 14",
])
def test_profiles_stating_an_age_under_18_are_refused(engine: SafetyEngine, text: str) -> None:
    verdict = engine.check_profile(text)
    assert verdict is not None
    assert (verdict.signal, verdict.action, verdict.rule) == (
        Signal.MINOR, Action.REFUSE, "minor.profile_age")


@pytest.mark.parametrize("text", [
    "Captain Mara, 34", "Owns a 15 year old cat", "Former high school teacher, 45",
    "She has sailed for 15 years", "Level 15 wizard", "since she was 15 years old she has painted",
    "Nia, 25, ex-soldier", "A quiet librarian who loves storms",
])
def test_adult_profiles_pass(engine: SafetyEngine, text: str) -> None:
    assert engine.check_profile(text) is None


# --- coercion -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Send me $500 or I'll send your pics to your family", "pay $200 or everyone sees the logs",
    "You have 24 hours to pay or your photos go to your boss",
    "I have screenshots of everything. Send more pictures or I post them",
    "If you block me, your family sees everything you sent",
    "I recorded our call. $300 in bitcoin by midnight or it goes online",
    "i screenshotted everything u sent. 300 on cashapp or ur family sees it",
    "If you don't do what I say, your pics get shared. Simple.",
    "Think about your reputation. $250 and the photos stay private.",
])
def test_a_threat_with_a_demand_restricts_the_sender(engine: SafetyEngine, text: str) -> None:
    verdict = engine.check(text)
    assert (verdict.signal, verdict.action, verdict.rule) == (
        Signal.COERCION, Action.RESTRICT, "coercion.sextortion")
    assert "sextortion" in verdict.reason and len(verdict.matched) == 2


def test_a_threat_without_a_demand_warns_the_recipient(engine: SafetyEngine) -> None:
    verdict = engine.check("I'm going to send your pics to all your friends")
    assert (verdict.signal, verdict.action, verdict.rule) == (
        Signal.COERCION, Action.WARN_RECIPIENT, "coercion.threat_to_share")


@pytest.mark.parametrize(("text", "context"), [
    ("Don't worry, I would never share your photos with anyone", Context()),
    ("I'll send you the pics from the hike tonight", Context()),
    ("I'll send the photos of the cake to your mum, she asked", Context()),
    ("Your family will love the pictures from the trip", Context()),
    ("If someone threatens to share your pictures, block and report them right away.",
     Context()),
    ("You have 24 hours to submit the form, says my landlord", Context()),
    ("I saved your message, it made me smile", Context()),
    ("Pay me back the $20 for the tickets when you can", Context()),
    ("*the bandit raises his sword* Hand over the gold or the village burns!", SCENE),
])
def test_coercion_false_alarms(engine: SafetyEngine, text: str, context: Context) -> None:
    assert engine.check(text, context) == ALLOW


# --- solicitation ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "rule"), [
    ("Looking for a pay pig to spoil me", "solicitation.findom"),
    ("Send tribute first, then we talk", "solicitation.findom"),
    ("pics are $10 each, customs $40", "solicitation.price"),
    ("10 pics for $15, sent instantly", "solicitation.price"),
    ("Rates: 30 for sexting, 60 for a video call", "solicitation.price"),
    ("my cashapp is $LilyRose22 for tributes", "solicitation.payment"),
    ("paypal.me/sweetcontent for the full set", "solicitation.payment"),
    ("BTC: bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh for the folder", "solicitation.payment"),
    ("Subscribe to my onlyfans, 50% off this week", "solicitation.platform"),
    ("Check out my OF, link in bio", "solicitation.platform"),
    ("Selling worn items and pics, prices in DMs", "solicitation.offer"),
    ("Selling content, DM for my menu", "solicitation.phrase"),
])
def test_solicitation_is_refused_with_the_rule(engine: SafetyEngine, text: str, rule: str) -> None:
    verdict = engine.check(text)
    assert (verdict.signal, verdict.action, verdict.rule) == (
        Signal.SOLICITATION, Action.REFUSE, rule)
    assert "not allowed" in verdict.reason and "not sent" in verdict.reason


@pytest.mark.parametrize("text", [
    "I saw a great Queen tribute band last night", "We pay tribute to the fallen every November",
    "Did you watch the documentary about OnlyFans creators?", "Dinner was $40 but worth it",
    "Can you venmo me $12 for the pizza?", "My photographer charged $300 for the wedding photos",
    "I charge $50 an hour for tutoring maths", "Bitcoin is down again, ugh",
    "I bought a print of her photos for $25 at the fair", "I live in London, rent is $1200",
])
def test_solicitation_false_alarms(engine: SafetyEngine, text: str) -> None:
    assert engine.check(text) == ALLOW


def test_a_cash_tag_to_a_new_contact_is_solicitation(engine: SafetyEngine) -> None:
    assert engine.check("hey cutie, $janedoe22 ;)") == ALLOW
    assert engine.check("hey cutie, $janedoe22 ;)", REQUEST).rule == "solicitation.payment"


# --- off-platform and personal data ----------------------------------------------------------

@pytest.mark.parametrize(("text", "rule"), [
    ("add me on snap, it's easier", "off_platform.move"), ("whats your snap?", "off_platform.move"),
    ("let's move this to whatsapp", "off_platform.move"),
    ("Can I get your number?", "off_platform.move"), ("You on telegram?", "off_platform.move"),
    ("Let's take this somewhere more private, like text", "off_platform.move"),
    ("This is just between us, don't tell anyone ok?", "off_platform.secrecy"),
    ("delete this chat after you read it", "off_platform.secrecy"),
    ("it'll be our little secret", "off_platform.secrecy"),
])
def test_moves_off_platform_warn_the_recipient_of_a_new_contact(
        engine: SafetyEngine, text: str, rule: str) -> None:
    verdict = engine.check(text, NEW)
    assert (verdict.signal, verdict.action, verdict.rule) == (
        Signal.OFF_PLATFORM, Action.WARN_RECIPIENT, rule)
    assert engine.check(text, REQUEST).rule == rule  # a message request is a new contact
    assert engine.check(text) == ALLOW  # between people who already talk: their business


def test_in_scenes_secrecy_and_private_places_are_the_story(engine: SafetyEngine) -> None:
    scene_new = Context(new_contact=True, place=Place.SCENE)
    assert engine.check("*whispers* Don't tell anyone, but the treasure is under the oak",
                        scene_new) == ALLOW
    assert engine.check("Let's take this somewhere more private *leads him away*",
                        scene_new) == ALLOW
    assert engine.check("add me on telegram", scene_new).rule == "off_platform.move"


@pytest.mark.parametrize(("text", "rule", "kind"), [
    ("call me on +44 7700 900123", "personal_data.phone", "a phone number"),
    ("my number is 555-123-4567", "personal_data.phone", "a phone number"),
    ("reach me on 07700 900456", "personal_data.phone", "a phone number"),
    ("0049 30 12345678, that's my landline", "personal_data.phone", "a phone number"),
    ("here's my email: jane.doe@example.com", "personal_data.email", "an email address"),
    ("email me at sam_r at gmail dot com", "personal_data.email", "an email address"),
    ("I live at 42 Maple Street, come by", "personal_data.address", "a street address"),
    ("my postcode is BS1 4DJ, I'm near the harbour", "personal_data.address", "a postcode"),
])
def test_personal_data_to_a_new_contact_asks_the_sender_first(
        engine: SafetyEngine, text: str, rule: str, kind: str) -> None:
    verdict = engine.check(text, NEW)
    assert (verdict.signal, verdict.action, verdict.rule) == (
        Signal.PERSONAL_DATA, Action.WARN_SENDER, rule)
    assert verdict.matched == (kind,)  # the kind of data, never the data: safe to log
    assert engine.check(text) == ALLOW


@pytest.mark.parametrize("text", [
    "the meeting is on 2024-05-12 at 10:30", "my order number is 123456789",
    "The house cost $1,250,000!", "I ran 5 km down the road today", "I found 1 more way",
    "ISBN 978-0-14-017739-8 if you want to find the book", "score was 21-14 in the end",
    "Version 2.3.14 fixed the bug", "My phone is 2 years old and dying",
])
def test_numbers_that_are_not_personal_data(engine: SafetyEngine, text: str) -> None:
    assert engine.check(text, NEW) == ALLOW


# --- flood ----------------------------------------------------------------------------------

def test_many_first_contacts_are_throttled(engine: SafetyEngine) -> None:
    limit = engine.config.section("flood").number("max_first_contacts")
    under = Context(new_contact=True, place=Place.REQUEST, recent_first_contacts=limit - 1)
    at = Context(new_contact=True, place=Place.REQUEST, recent_first_contacts=limit)
    assert engine.check("hello there!", under) == ALLOW
    verdict = engine.check("hello there!", at)
    assert (verdict.signal, verdict.action, verdict.rule) == (
        Signal.FLOOD, Action.THROTTLE, "flood.first_contacts")
    # a reply in a conversation that already exists is never throttled here
    assert engine.check("hello there!", Context(recent_first_contacts=limit * 10)) == ALLOW


# --- composition ----------------------------------------------------------------------------

def test_the_most_severe_signal_wins_and_check_all_keeps_the_rest(engine: SafetyEngine) -> None:
    text = "I'm 15. Send $500 or I'll send your pics to your family. add me on snap"
    crowded = Context(new_contact=True, recent_first_contacts=1000)
    assert engine.check(text, crowded).signal is Signal.MINOR
    assert [v.signal for v in engine.check_all(text, crowded)] == [
        Signal.MINOR, Signal.COERCION, Signal.OFF_PLATFORM, Signal.FLOOD]
    assert engine.check_all("good morning!") == ()


def test_extra_checkers_compete_on_severity(engine: SafetyEngine) -> None:
    seen: list[tuple[str, Context]] = []

    def classifier(text: str, context: Context) -> Verdict | None:
        seen.append((text, context))
        if "velvet" in text.lower():
            return Verdict(Signal.COERCION, Action.RESTRICT, "A model thinks so.", "model.x")
        return None

    with_model = engine.with_checkers(classifier)
    assert with_model.check("the Velvet ROOM", NEW).rule == "model.x"
    assert seen[0] == ("the Velvet ROOM", NEW)  # the original text, not the normal form
    assert with_model.check("I'm 16, in the velvet room").signal is Signal.MINOR
    assert with_model.check("add me on snap, velvet", NEW).signal is Signal.COERCION
    assert engine.check("the velvet room") == ALLOW  # the original engine is unchanged


def test_every_rule_has_a_plain_reason_and_verdicts_serialise(shipped: SafetyConfig) -> None:
    for rule in RULES:
        reason = shipped.reason(rule)
        assert reason.endswith(".") and 40 < len(reason) < 400, rule
        assert "{" not in reason and "\\" not in reason, rule
    verdict = SafetyEngine(shipped).check("im 16 lol")
    assert json.loads(json.dumps(verdict.to_dict())) == {
        "signal": "minor", "action": "pause_and_restrict", "reason": verdict.reason,
        "rule": "minor.self_age", "matched": ["i'm 16"]}


# --- text preparation ------------------------------------------------------------------------

def test_text_is_normalised_before_matching(engine: SafetyEngine) -> None:
    assert prepare("I am  15,\tIm  here. U DONT know", 4000) == \
        "i'm 15, i'm here. you don't know"
    assert engine.check("\uff11\uff15 y/o here").signal is Signal.MINOR  # full-width digits
    assert engine.check("i\u200bm 15").signal is Signal.MINOR  # zero-width space removed
    assert engine.check("I\u2019M 15").signal is Signal.MINOR  # typographic apostrophe


def test_long_text_is_examined_at_its_start_and_end(shipped: SafetyConfig) -> None:
    small = SafetyEngine(config_from_document({"max_chars_examined": 200}, shipped))
    filler = "The rain keeps falling on the old town. " * 20  # 800 characters
    assert small.check("im 15. " + filler).signal is Signal.MINOR
    assert small.check(filler + " im 15").signal is Signal.MINOR
    assert small.check(filler + " im 15. " + filler) == ALLOW  # the documented blind spot


def test_phrases_are_literal_and_an_empty_list_matches_nothing() -> None:
    import re

    assert re.search(alternation([]), "anything") is None
    pattern = re.compile(alternation(["a.b", "(x", "pay pig", "send", "sending"]))
    assert pattern.search("axb") is None and pattern.search("a.b") is not None
    assert pattern.search("(x") is not None
    assert pattern.search("a pay   pig") is not None  # any run of spaces
    assert pattern.search("resend") is None  # whole words only
    assert pattern.fullmatch("sending") is not None  # the longer phrase first


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_gate_never_skips_a_message_holding_one_of_its_phrases(data: st.DataObject) -> None:
    doc = shipped_document()
    lists = [words for section in doc.values() if isinstance(section, dict)
             for words in section.values()
             if isinstance(words, list) and words and isinstance(words[0], str)]
    phrases = data.draw(st.sampled_from(lists))
    phrase = data.draw(st.sampled_from(phrases))
    before = data.draw(st.sampled_from(["", "well ", "ok, ", "(", "\n"]))
    after = data.draw(st.sampled_from(["", " now", "!", ", right?", ")"]))
    gate = gate_words(phrases)
    normal = prepared(before + phrase + after, 4000)
    assert gate is None or not normal.tokens.isdisjoint(gate)


@pytest.mark.parametrize("text", [
    "1 " * 2000, "1-2-" * 1000, "your " * 800, "i'm a " * 700, "send your " * 400,
    '"' + "a" * 3998 + '"', "a@" * 2000, "15 " * 1300, "$a" * 2000, "15\n" * 1300,
    "bc1" + "q" * 3997, ("a." * 30 + "@" + "b." * 30) * 30,
])
def test_pathological_input_is_answered(engine: SafetyEngine, text: str) -> None:
    # No timing here (bench/safety_eval.py reports it); catastrophic backtracking would
    # hang this test until pytest-timeout stops it.
    ctx = Context(new_contact=True, place=Place.REQUEST, year=2026)
    assert isinstance(engine.check(text, ctx), Verdict)
    assert engine.check_profile(text) is None or engine.check_profile(text) is not None


# --- configuration ---------------------------------------------------------------------------

def test_an_operator_can_add_phrases_and_change_thresholds(shipped: SafetyConfig) -> None:
    engine = extended(shipped, {
        "mode": "extend",
        "solicitation": {"phrases": ["Rosebud Special"]},
        "off_platform": {"apps": ["chirp"]},
        "flood": {"max_first_contacts": 3},
        "reasons": {"solicitation.phrase": "Our community does not allow that."},
    })
    verdict = engine.check("ask me about the rosebud special")
    assert (verdict.rule, verdict.reason) == ("solicitation.phrase",
                                              "Our community does not allow that.")
    assert engine.check("add me on chirp", NEW).rule == "off_platform.move"
    assert engine.check("add me on snap", NEW).rule == "off_platform.move"  # shipped kept
    assert engine.check("hi", Context(new_contact=True, recent_first_contacts=3)).signal \
        is Signal.FLOOD


def test_an_operator_can_remove_entries_and_turn_signals_off(shipped: SafetyConfig) -> None:
    engine = extended(shipped, {
        "remove": {"off_platform": {"apps": ["snap"]}, "minor": {"number_words": ["fifteen"]}},
        "personal_data": {"enabled": False},
    })
    assert engine.check("add me on snap", NEW) == ALLOW
    assert engine.check("add me on snapchat", NEW).rule == "off_platform.move"
    assert engine.check("im fifteen") == ALLOW and engine.check("im 15").signal is Signal.MINOR
    assert engine.check("call me on +44 7700 900123", NEW) == ALLOW


def test_a_replacing_document_must_be_complete(shipped: SafetyConfig) -> None:
    complete = shipped.to_document()
    again = config_from_document(complete, shipped)  # "mode": "replace"
    assert again == config_from_document(complete)
    assert again.sections == shipped.sections and again.reasons == shipped.reasons
    partial = copy.deepcopy(complete)
    del partial["flood"]
    with pytest.raises(InvalidInput, match="flood is missing"):
        config_from_document(partial, shipped)
    partial = copy.deepcopy(complete)
    del partial["minor"]["continuations"]  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="minor is missing continuations"):
        config_from_document(partial)
    partial = copy.deepcopy(complete)
    del partial["reasons"]["flood.first_contacts"]  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match=r"no text for flood\.first_contacts"):
        config_from_document(partial)


@pytest.mark.parametrize(("doc", "problem"), [
    ({"minro": {}}, "minro is not a known section"),
    ({"minor": {"continuation": ["x"]}}, "minor.continuation is not a known setting"),
    ({"minor": {"phrases": "i'm twelve"}}, "minor.phrases must be a list of non-empty strings"),
    ({"minor": {"phrases": [""]}}, "must be a list of non-empty strings"),
    ({"minor": {"number_words": {"twelve": "12"}}}, "minor.number_words must map words"),
    ({"flood": {"max_first_contacts": -1}}, "must be a whole number >= 0"),
    ({"flood": {"enabled": "yes"}}, "flood.enabled must be true or false"),
    ({"mode": "merge"}, "mode must be 'extend' or 'replace'"),
    ({"version": 2}, "version must be 1"),
    ({"reasons": {"minor.typo": "x"}}, "reasons.minor.typo is not a known rule"),
    ({"reasons": {"minor.self_age": " "}}, "must be a non-empty string"),
    ({"minor": {"youngest_age": 18}}, "youngest_age < adult_age"),
    ({"minor": {"us_grades": ["ninth"]}}, "minor.us_grades must list school years"),
    ({"remove": {"flood": {"max_first_contacts": [1]}}}, "must name a list or a map"),
    ({"remove": {"nope": {}}}, "remove.nope is not a known section"),
    ({"max_chars_examined": 10}, "max_chars_examined must be at least 100"),
])
def test_malformed_configuration_names_the_problem(
        shipped: SafetyConfig, doc: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem.replace("(", r"\(")):
        config_from_document(doc, shipped)


def test_an_extension_needs_something_to_extend() -> None:
    with pytest.raises(InvalidInput, match="'extend' needs the shipped configuration"):
        config_from_document({"mode": "extend"})


def test_context_from_json_refuses_typos_and_wrong_types() -> None:
    assert context_from_mapping({"new_contact": True, "place": "request"}).first_contact
    assert context_from_mapping({}) == Context()
    cases: list[tuple[dict[str, object], str]] = [
        ({"newcontact": True}, "unknown context field"),
        ({"new_contact": "yes"}, "true or false"),
        ({"place": "lobby"}, "place must be one of"),
        ({"recent_first_contacts": -1}, "whole number >= 0"),
        ({"year": "2026"}, "year must be a whole number")]
    for raw, problem in cases:
        with pytest.raises(InvalidInput, match=problem):
            context_from_mapping(raw)


# --- the evaluation set ----------------------------------------------------------------------

def test_the_evaluation_set_is_well_formed_and_labelled() -> None:
    lines = EVAL_SET.read_text("utf-8").splitlines()
    assert "synthetic" in json.loads(lines[0])["_about"].lower()
    rows = [json.loads(line) for line in lines[1:]]
    assert len(rows) >= 300
    for row in rows:
        assert set(row) == {"text", "label", "context"} and row["text"].strip()
        Signal(row["label"])
        context_from_mapping(row["context"])
    labels = {row["label"] for row in rows}
    assert labels == {s.value for s in Signal}
    assert sum(row["label"] == "none" for row in rows) > len(rows) / 2


def test_the_shipped_rules_meet_the_targets_on_the_evaluation_set(engine: SafetyEngine) -> None:
    # A quality regression guard for edits to safety.json (figures: bench/safety_eval.py).
    rows = [json.loads(line) for line in EVAL_SET.read_text("utf-8").splitlines()[1:]]
    got = [(row["label"], engine.check(row["text"], context_from_mapping(row["context"])).signal)
           for row in rows]
    minors = [signal for label, signal in got if label == "minor"]
    coercion = [signal for label, signal in got if label == "coercion"]
    none = [signal for label, signal in got if label == "none"]
    assert sum(s is Signal.MINOR for s in minors) / len(minors) >= 0.95
    assert sum(s is Signal.COERCION for s in coercion) / len(coercion) >= 0.9
    assert sum(s is Signal.MINOR for s in none) / len(none) <= 0.01
