"""Someone saying they are under 18, or describing a character who is.

A self-disclosure needs a present-tense first person ("i'm 15", "im in 9th grade", "i'm a
minor", "15 f here" at the start of a message) and an age that is not a quantity of
something else. The number must be followed by the end of the clause or by a word from
``continuations`` ("and", "lol", "tho", ...): "i'm 15 minutes away", "i'm 16 weeks
pregnant" and "i'm 15 years into my career" stop at a word that is not on the list. Past
tense ("when i was 15"), other people ("my son is 15"), comparison ("i feel like i'm 15
again") and quotations outside scenes ("that film's line 'i'm sixteen'") are not
disclosures.

A character stated as under 18 in roleplay ("my character is 16", "I'll play a 15 year
old", quoted speech in a scene) is refused: adult roleplay with a minor character is not
allowed even as fiction. That is the same signal with a different action, because the
writer is not thought to be a minor.
"""

from __future__ import annotations

import re

from tryst.domain.safety.config import SafetyConfig
from tryst.domain.safety.text import (
    DIGIT,
    Prepared,
    alternation,
    canonical_phrase,
    finditer,
    gate_words,
    inside,
    quoted_spans,
    search,
    union,
)
from tryst.domain.safety.verdicts import Action, Context, Place, Signal, Verdict

_ORDINALS = {5: "fifth", 6: "sixth", 7: "seventh", 8: "eighth", 9: "ninth", 10: "tenth",
             11: "eleventh", 12: "twelfth", 13: "thirteenth"}
_CARDINALS = {7: "seven", 8: "eight", 9: "nine", 10: "ten", 11: "eleven", 12: "twelve",
              13: "thirteen"}
# "15 years old", "15yo", "15 y/o", "15-year-old", "15 yrs" (but not "15 yrs ago").
_SUFFIX = (r"(?P<suffix>\s*-?\s*(?:years?|yrs?|yr)\s*-?\s*olds?(?!\w)|\s*years?\s+of\s+age(?!\w)"
           r"|\s*y\s*/\s*o(?!\w)"
           r"|\s*y\.o\.?|\s*yo(?!\w)|\s*yrs?(?!\w)(?!\s*(?:ago|into|in|of|later|since|"
           r"older|younger|sober|married|together|experience)))?")
_SEX = frozenset({"f", "m", "female", "male", "girl", "boy", "guy"})
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|"
           "december")
_IN_TIME = re.compile(
    r"in\s+(?:(?:a|an|one|two|three|four|five|six|a few|a couple of|\d{1,2})\s+)?"
    rf"(?:days?|weeks?|months?|{_MONTHS}|the summer|the spring|summer|spring|autumn|fall|"
    r"winter)(?!\w)")
_WORD = re.compile(r"[a-z][a-z']*")
_FUTURE_EXTRA = frozenset({"next", "on", "this", "tomorrow", "soon", "later", "after",
                           "today", "tonight", "yesterday", "last", "recently"})
_FUTURE_WORDS = frozenset({"be", "turn", "turning"})
_TURNED, _NOT, _AGE, _MY = (frozenset({w}) for w in ("turned", "not", "age", "my"))
_BORN = frozenset({"born"})
_CHARACTER_EXTRA = frozenset({"in", "when", "at", "for", "during"})


_STARTS = re.compile(r"[.!?]+|\n")


def _sentence_starts(text: str) -> list[int]:
    """Where a sentence or a line begins: the start, and after . ! ? or a newline."""
    return [0, *(m.end() for m in _STARTS.finditer(text))]


class MinorRules:
    """The under-18 rules, compiled once from the configuration."""

    def __init__(self, config: SafetyConfig) -> None:
        sec = config.section("minor")
        self._config = config
        self.enabled = sec.flag("enabled")
        adult, youngest = sec.number("adult_age"), sec.number("youngest_age")
        self._adult, self._youngest = adult, youngest
        self._words = {canonical_phrase(w): n for w, n in sec.numbers("number_words").items()}

        def age_group(top: int) -> str:
            digits = "|".join(str(n) for n in range(top, youngest - 1, -1))
            words = [w for w, n in self._words.items() if youngest <= n <= top]
            number = rf"(?<![\d.,$£€#/:])(?:{digits})(?![\d%]|[.,:/]\d)"
            return rf"(?P<age>{number}|{alternation(words)})" if words else \
                rf"(?P<age>{number})"

        age, future_age = age_group(adult - 1), age_group(adult)
        subjects = alternation(sec.words("subjects"))
        fillers = alternation(sec.words("fillers"))
        self._continuations = frozenset(canonical_phrase(w) for w in sec.words("continuations"))
        self._intro_continuations = frozenset(
            canonical_phrase(w) for w in sec.words("intro_continuations"))
        self._not_person = frozenset(canonical_phrase(w) for w in sec.words("not_person_nouns"))
        self._not_self_before = re.compile(
            "(?:" + alternation(sec.words("not_self_before")) + r")\s*$")
        subject = rf"(?:(?<![\w'])(?P<subj>{subjects})|(?:^|(?<=[.!?,;:]))\s*(?P<subj2>am))"
        self._self_age = re.compile(
            rf"{subject}\s+(?P<fill>(?:{fillers}\s+){{0,3}}){age}{_SUFFIX}", re.M)
        # "i'll be 16 next month" (so 15 now); "gonna be 17 in a few weeks" and "just
        # turned 16" often open a message with the "i" left out, as chat does
        self._future = re.compile(
            r"(?:(?<![\w'])(?:i'll be|i'm going to be|i'm gonna be|i'm turning|i turn|"
            r"i'll turn|i'll be turning|i'm about to turn|i'm about to be)|(?:^|(?<=[.!?,]))"
            rf"\s*(?:gonna be|going to be|turning))\s+(?:(?:only|just)\s+)?{future_age}{_SUFFIX}",
            re.M)
        self._turned = re.compile(
            r"(?:(?<![\w'])i\s+(?:just\s+)?turned|(?:^|(?<=[.!?,]))\s*(?:just\s+)?turned)\s+"
            rf"{age}{_SUFFIX}", re.M)
        # "i'm not even 16 yet", "i'm not 17 until june"
        self._not_yet = re.compile(
            rf"(?<![\w'])(?:{subjects})\s+not\s+(?:(?:even|quite|yet)\s+)?{future_age}"
            r"\s+(?:yet|until|till|til|for)(?!\w)")
        self._stated_age = re.compile(
            rf"(?<![\w'])(?:my\s+age\s*(?:is|[:?=-])|^\s*age\s*[:=-])\s*{age}", re.M)
        self._statement = re.compile(
            rf"(?<![\w'])(?:{subjects})\s+(?:{fillers}\s+){{0,2}}"
            rf"(?:{alternation(sec.words('statements'))})"
            rf"(?!\s+{alternation(sec.words('statement_exceptions'))})")
        school = self._school_alternation(sec.words("us_grades"), sec.words("uk_years"),
                                          sec.words("school_levels"), sec.words("class_years"),
                                          sec.words("school_roles"))
        self._school_exceptions = re.compile(
            r"\s*" + alternation(sec.words("school_exceptions")))
        self._school = re.compile(
            rf"(?:(?<![\w'])(?:{subjects})\s+(?:(?:{fillers}|in|at|into|the|a|an|my|going|"
            rf"starting|entering)\s+){{0,4}}|(?<![\w'])(?:"
            rf"{alternation(sec.words('school_verbs'))})\s+(?:(?:the|a|an|my)\s+)?)"
            rf"(?:(?:first|second|third|final|last)\s+year\s+(?:of|at|in)\s+)?{school}")
        self._profile_school = re.compile(
            r"(?<![\w'])(?:a|an|in|currently in|still in|attends|attending)\s+"
            rf"(?:(?:the|her|his|their)\s+)?{school}")
        self._birth = re.compile(
            rf"(?<![\w'])i was born\s+(?:in\s+|on\s+)?(?:(?:{_MONTHS})\s+"
            r"(?:\d{1,2}(?:st|nd|rd|th)?,?\s+)?)?(?:\d{1,2}(?:st|nd|rd|th)?\s+)?"
            r"(?:of\s+)?(?:(?:" + _MONTHS + r")\s+)?(?P<year>(?:19|20)\d{2})(?!\d)")
        # Matched only where a sentence or line starts (see _sentence_starts).
        self._intro = re.compile(
            r"\s*(?:(?:hi|hey|hello|yo|asl\??|a/s/l\??|about me:?|me:)"
            rf"[\s,!:-]*)?{age}{_SUFFIX}")
        characters = alternation(sec.words("character_nouns"))
        self._character = re.compile(
            rf"(?<![\w'])my\s+{characters}(?:'s|s)?(?:\s+age)?\s+(?:is\s+|will be\s+|"
            rf"is going to be\s+)?(?:(?:only|just|a|an|now|currently|about|around|like)\s+)"
            rf"{{0,2}}{age}{_SUFFIX}")
        self._play = re.compile(
            r"(?<![\w'])(?:i'll|i'm going to|i want to|i'd like to|i can|i could|let me|"
            rf"i'm gonna|i'm|i'd|i will)\s+(?:{alternation(sec.words('play_verbs'))})\s+"
            rf"(?:as\s+)?(?:a|an)\s+{age}{_SUFFIX}")
        self._profile_age = re.compile(rf"(?<![\w'])(?:age|aged)\s*[:=-]?\s*{age}(?!\w)")
        self._profile_name = re.compile(
            rf"(?:^|[,(\[|•·/]|\s-\s)\s*{age}\s*(?:[fm](?!\w))?\s*(?=$|[)\],|•·/])", re.M)
        self._profile_third = re.compile(
            r"(?<![\w'])(?:she's|he's|they're|she is|he is|they are|who is|who's|is)\s+"
            rf"(?:(?:only|just|a|an|now|currently|barely)\s+){{0,2}}{age}{_SUFFIX}")
        self._profile_token = re.compile(
            rf"{age}\s*-?\s*(?:(?:years?|yrs?)\s*-?\s*old|yo|y/o)(?!\w)")
        self._profile_past = re.compile(
            r"(?:was|were|since|when|at|until|till|from|age of|ago)\s+(?:\w+\s+){0,2}$")
        self._phrases = re.compile(alternation(sec.words("phrases")))
        # Gates: most rules need an age (a number or number word in range); the others
        # need one of their own words. A message without them skips those patterns.
        self._age_tokens = frozenset(
            [str(n) for n in range(youngest, adult + 1)]
            + [w for w, n in self._words.items() if youngest <= n <= adult])
        self._statement_gate = gate_words(sec.words("statements"))
        self._school_gate = union(
            gate_words(sec.words("school_levels")), gate_words(sec.words("school_roles")),
            gate_words(sec.words("class_years")), gate_words(sec.words("school_verbs")),
            frozenset({"grade", "grader", "year", "yr", "hs", "high"}))
        self._phrase_gate = gate_words(sec.words("phrases"))
        self._subject_gate = union(gate_words(sec.words("subjects")), frozenset({"am"}))
        self._character_gate = gate_words(sec.words("character_nouns"))
        self._play_gate = gate_words(sec.words("play_verbs"))

    # --- building ---------------------------------------------------------------------

    @staticmethod
    def _school_alternation(grades: tuple[str, ...], years: tuple[str, ...],
                            levels: tuple[str, ...], classes: tuple[str, ...],
                            roles: tuple[str, ...]) -> str:
        grade_numbers = sorted({int(g) for g in grades}, reverse=True)
        year_numbers = sorted({int(y) for y in years}, reverse=True)
        grade = "|".join(
            [rf"{n}(?:th|st|nd|rd)?\s*grade" for n in grade_numbers]
            + [rf"{_ORDINALS[n]}\s+grade" for n in grade_numbers if n in _ORDINALS]
            + [rf"grade\s*{n}(?!\d)" for n in grade_numbers])
        year = "|".join([rf"(?:year|yr)\s*{n}(?!\d)" for n in year_numbers]
                        + [rf"year\s+{_CARDINALS[n]}(?!\w)" for n in year_numbers
                           if n in _CARDINALS])
        level = alternation(levels)
        cls = alternation(classes)
        # "a sophomore in high school", "a freshman at Lincoln High"
        return (rf"(?:{alternation(roles)}|{cls}\s+(?:in|at)\s+(?:{level}|(?:[a-z.']+\s+){{0,2}}"
                r"(?:high|hs))(?!\w)|"
                rf"{level}\s+{cls}|{grade}|{year}|{level})")

    # --- helpers ----------------------------------------------------------------------

    def _verdict(self, rule: str, action: Action, matched: str) -> Verdict:
        return Verdict(Signal.MINOR, action, self._config.reason(rule), rule,
                       (matched.strip(),))

    def _continues(self, rest: str, allowed: frozenset[str], *, any_word: bool) -> bool:
        """Whether the text after an age reads as the end of an age statement: the end
        of a clause, or a word from ``allowed`` (any word but a non-person noun when
        ``any_word``, as after "i'm 15 years old")."""
        rest = rest.lstrip(" ")
        if not rest or rest[0] == "\n":
            return True
        first = rest[0]
        if first in ".!?,;:)~…-":
            return not (len(rest) > 1 and rest[1].isdigit())
        if first == "&":
            return self._continues("and" + rest[1:], allowed, any_word=any_word)
        if first == "/":
            slash_word = _WORD.match(rest, 1)
            return slash_word is not None and slash_word.group() in _SEX
        if first.isdigit() or first in "%'$£€+*#&":
            return False
        word_match = _WORD.match(rest)
        if word_match is None:
            return True  # an emoji or other symbol
        word = word_match.group()
        after = rest[word_match.end():]
        if word in _SEX:
            # "15 f here", "16f," -- but not "15m away" (minutes, metres)
            return self._continues(after, self._intro_continuations | _SEX, any_word=False)
        if word in self._not_person:
            return False
        if word == "and" and after.lstrip()[:1].isdigit():
            return False  # "i'm 16 and 0 this season"
        if word == "and" and after.lstrip().startswith("a half"):
            # "i'm 15 and a half" -- but not "i'm 17 and a half stone"
            return self._continues(after.lstrip()[len("a half"):], allowed,
                                   any_word=any_word)
        return any_word or word in allowed

    def _about_self(self, text: str, start: int) -> bool:
        return self._not_self_before.search(text, max(0, start - 24), start) is None

    # --- rules --------------------------------------------------------------------------

    def check(self, prepared: Prepared, context: Context) -> Verdict | None:
        """The most specific minor verdict for a prepared message, or None."""
        if not self.enabled:
            return None
        text = prepared.text
        ages = prepared.any_of(self._age_tokens)
        quotes = quoted_spans(text) if '"' in text else []
        in_scene = context.place is Place.SCENE
        character: Verdict | None = None
        for m in finditer(self._self_age, prepared, self._age_tokens, self._subject_gate):
            fill = m.group("fill")
            if (" a " in f" {fill}" or " an " in f" {fill}") and not m.group("suffix"):
                # "i'm a 15" needs "year old" or "f"/"m" to be an age
                word = _WORD.match(text[m.end():].lstrip())
                if word is None or word.group() not in _SEX:
                    continue
            if not self._continues(text[m.end():], self._continuations,
                                   any_word=bool(m.group("suffix"))):
                continue
            if not self._about_self(text, m.start()):
                continue
            if quotes and inside(m.start(), quotes):
                if in_scene and character is None:
                    character = self._verdict("minor.character_age", Action.REFUSE, m.group())
                continue
            return self._verdict("minor.self_age", Action.PAUSE_AND_RESTRICT, m.group())
        for pattern, rule, gates in (
                (self._statement, "minor.statement", (self._subject_gate, self._statement_gate)),
                (self._not_yet, "minor.statement",
                 (self._age_tokens, self._subject_gate, _NOT)),
                (self._school, "minor.school_year", (self._school_gate,)),
                (self._phrases, "minor.phrase", (self._phrase_gate,))):
            for m in finditer(pattern, prepared, *gates):
                if (quotes and inside(m.start(), quotes)) or not self._about_self(text, m.start()):
                    continue
                if rule == "minor.school_year" and self._school_exceptions.match(
                        text, m.end()):
                    continue
                return self._verdict(rule, Action.PAUSE_AND_RESTRICT, m.group())
        if context.year is not None and "born" in prepared.tokens:
            for m in finditer(self._birth, prepared, _BORN, frozenset({DIGIT})):
                age = context.year - int(m.group("year"))
                if self._youngest <= age < self._adult:
                    return self._verdict("minor.birth_year", Action.PAUSE_AND_RESTRICT,
                                         m.group())
        if not ages:
            return None
        for pattern, gate in ((self._future, _FUTURE_WORDS), (self._turned, _TURNED)):
            for m in finditer(pattern, prepared, self._age_tokens, gate):
                rest = text[m.end():]
                if not (_IN_TIME.match(rest.lstrip()) or self._continues(
                        rest, self._continuations | _FUTURE_EXTRA,
                        any_word=bool(m.group("suffix")))):
                    continue
                if (quotes and inside(m.start(), quotes)) or not self._about_self(text, m.start()):
                    continue
                return self._verdict("minor.self_age", Action.PAUSE_AND_RESTRICT, m.group())
        for start in _sentence_starts(text):
            intro = self._intro.match(text, start)
            if intro is not None and self._intro_statement(text, intro):
                return self._verdict("minor.intro_age", Action.PAUSE_AND_RESTRICT,
                                     intro.group())
        for m in finditer(self._stated_age, prepared, self._age_tokens, _AGE):
            if self._continues(text[m.end():], self._continuations, any_word=False):
                return self._verdict("minor.intro_age", Action.PAUSE_AND_RESTRICT, m.group())
        return character or self._character_rule(prepared)

    def _intro_statement(self, text: str, m: re.Match[str]) -> bool:
        rest = text[m.end():]
        stripped = rest.lstrip(" ")
        if m.group("suffix"):
            return self._continues(rest, self._intro_continuations, any_word=False)
        if stripped[:1] == "/":
            return self._continues(rest, self._intro_continuations, any_word=False)
        word = _WORD.match(stripped)
        if word is not None and word.group() == "and":
            # "15 and bored" opening a message; "15 and 16 are..." is no age
            return not stripped[3:].lstrip()[:1].isdigit()
        return word is not None and word.group() in _SEX and self._continues(
            rest, self._intro_continuations, any_word=False)

    def _character_rule(self, prepared: Prepared) -> Verdict | None:
        text = prepared.text
        for m in finditer(self._character, prepared, self._age_tokens, _MY,
                          self._character_gate):
            if self._continues(text[m.end():], self._continuations | _CHARACTER_EXTRA,
                               any_word=bool(m.group("suffix"))):
                return self._verdict("minor.character_age", Action.REFUSE, m.group())
        for m in finditer(self._play, prepared, self._age_tokens, self._play_gate):
            if m.group("suffix"):
                return self._verdict("minor.character_age", Action.REFUSE, m.group())
        return None

    def check_profile(self, prepared: Prepared) -> Verdict | None:
        """A persona name, profile or card that states an age under 18 (prepared text).
        Stricter than messages: a profile describes its persona, so third-person ages
        ("she's 16") and name styles ("Emma, 15") count too."""
        if not self.enabled:
            return None
        found = self.check(prepared, Context(place=Place.SCENE))
        if found is not None:
            return self._verdict("minor.profile_age", Action.REFUSE, found.matched[0])
        text = prepared.text
        if prepared.tokens.isdisjoint(self._age_tokens):
            m = search(self._profile_school, prepared, self._school_gate)
            if m is not None and not self._school_exceptions.match(text, m.end()):
                return self._verdict("minor.profile_age", Action.REFUSE, m.group())
            return None
        for pattern in (self._profile_age, self._profile_name):
            m = search(pattern, prepared, self._age_tokens)
            if m is not None:
                return self._verdict("minor.profile_age", Action.REFUSE, m.group())
        for m in finditer(self._profile_third, prepared, self._age_tokens):
            if self._continues(text[m.end():], self._continuations | _CHARACTER_EXTRA,
                               any_word=bool(m.group("suffix"))):
                return self._verdict("minor.profile_age", Action.REFUSE, m.group())
        for m in finditer(self._profile_token, prepared, self._age_tokens):
            if self._profile_past.search(text, max(0, m.start() - 30), m.start()):
                continue
            word = _WORD.match(text[m.end():].lstrip())
            if word is not None and word.group() in self._not_person:
                continue
            return self._verdict("minor.profile_age", Action.REFUSE, m.group())
        m = search(self._profile_school, prepared, self._school_gate)
        if m is not None and not self._school_exceptions.match(text, m.end()):
            return self._verdict("minor.profile_age", Action.REFUSE, m.group())
        return None
