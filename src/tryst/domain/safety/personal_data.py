"""Personal data sent to a new contact: phone numbers, email addresses, street addresses.

The sender is asked to confirm before it goes (``warn_sender``): once shared, it cannot
be taken back. Between people who already talk, nothing is flagged. ``matched`` names
the kind of data, never the data itself, so a verdict can be logged.

A phone number is a run of 9-15 digits (configurable) with the usual separators, that
starts with "+" or "00" (international), or with "0" and has 10 digits or more
(national), or is shaped like a North American number (555-123-4567), or follows a cue
("call me", "my number"). Dates, prices, ISBNs, order numbers and scores are not.
"""

from __future__ import annotations

import re

from tryst.domain.safety.config import SafetyConfig
from tryst.domain.safety.text import (
    DIGIT,
    Prepared,
    alternation,
    finditer,
    gate_words,
    search,
    union,
)
from tryst.domain.safety.verdicts import Action, Context, Signal, Verdict

_PHONE = re.compile(
    r"(?<![\w@#/.$£€:,+-])(?P<num>(?:\+|00)?\s?\(?\d(?:[ .()-]{0,2}\d){6,18})"
    r"(?![\w@/%$£€]|[.,:]\d)")
_NANP = re.compile(r"\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}")
_EMAIL = re.compile(
    r"(?<![\w.+-])[a-z0-9][a-z0-9._%+-]{0,63}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,4}"
    r"\.[a-z]{2,24}(?![\w-])")
_DIGITS, _AT = frozenset({DIGIT}), frozenset({"@"})
_POSTCODE = r"(?:[a-z]{1,2}\d[a-z\d]?\s*\d[a-z]{2}|\d{5}(?:-\d{4})?)(?!\w)"


class PersonalDataRules:
    """The personal-data rules, compiled once from the configuration."""

    def __init__(self, config: SafetyConfig) -> None:
        sec = config.section("personal_data")
        self._config = config
        self.enabled = sec.flag("enabled")
        self._min_digits = sec.number("min_phone_digits")
        self._max_digits = sec.number("max_phone_digits")
        self._phone_cue = re.compile(alternation(sec.words("phone_cues")))
        self._exclusion = re.compile(
            "(?:" + alternation(sec.words("number_exclusions")) + r")\W*(?:\w+\W+){0,2}$")
        self._obfuscated_email = re.compile(
            r"(?<![\w.])[a-z0-9][a-z0-9._-]{1,40}\s*(?:@|\(at\)|\[at\]|\s+at\s+)\s*"
            rf"(?:{alternation(sec.words('email_providers'))})\s*(?:\.|\(dot\)|\[dot\]|\s+dot\s+)"
            r"\s*(?:com|net|org|me|co\.uk|co uk|de|fr|ch|io|nl|es|it|au|ca)(?!\w)")
        stop = {w.casefold() for w in sec.words("address_stopwords")}
        self._stopwords = frozenset(stop)
        self._cue_only = frozenset(w.casefold() for w in sec.words("cue_only_suffixes"))
        suffixes = alternation([*sec.words("street_suffixes"), *sec.words("cue_only_suffixes")])
        self._address = re.compile(
            r"(?<![\w#$£€.,:/-])\d{1,5}[a-z]?\s+(?P<words>(?:[a-z][a-z'.-]*\s+){1,3})"
            rf"(?P<suffix>{suffixes})\.?(?!\w)")
        self._address_cue = re.compile(
            "(?:" + alternation(sec.words("address_cues")) + r")\s*[:,-]?\s*$")
        self._postcode = re.compile(
            rf"(?:{alternation(sec.words('postcode_cues'))})\s*(?:is\s*)?[:,-]?\s*{_POSTCODE}")
        self._phrases = re.compile(alternation(sec.words("phrases")))
        # Every rule needs a digit, an "@" or one of these words.
        self._provider_gate = gate_words(sec.words("email_providers"))
        self._phrase_gate = gate_words(sec.words("phrases"))
        self._gate = union(self._provider_gate, self._phrase_gate)
        self._address_gate = union(gate_words(sec.words("street_suffixes")),
                                   gate_words(sec.words("cue_only_suffixes")))
        self._postcode_gate = gate_words(sec.words("postcode_cues"))

    def _verdict(self, rule: str, kind: str) -> Verdict:
        return Verdict(Signal.PERSONAL_DATA, Action.WARN_SENDER, self._config.reason(rule),
                       rule, (kind,))

    def _is_phone(self, text: str, m: re.Match[str]) -> bool:
        number = m.group("num").strip()
        digits = sum(ch.isdigit() for ch in number)
        if not self._min_digits <= digits <= self._max_digits:
            return False
        if self._exclusion.search(text, max(0, m.start() - 30), m.start()):
            return False  # "order number 123456789", "isbn 978-..."
        if number.startswith(("+", "00")):
            return True
        if number.startswith("0") and digits >= 10:
            return True
        if _NANP.fullmatch(number):
            return True
        window = text[max(0, m.start() - 40):m.start()] + " " + text[m.end():m.end() + 30]
        return self._phone_cue.search(window) is not None

    def check(self, prepared: Prepared, context: Context) -> Verdict | None:
        """A personal-data verdict for a prepared message to a new contact, or None."""
        text = prepared.text
        if not self.enabled or not context.first_contact or not (
                prepared.has_digit or "@" in text or prepared.any_of(self._gate)):
            return None
        if search(self._phrases, prepared, self._phrase_gate):
            return self._verdict("personal_data.phrase", "personal data")
        if search(_EMAIL, prepared, _AT):
            return self._verdict("personal_data.email", "an email address")
        if search(self._obfuscated_email, prepared, self._provider_gate):
            return self._verdict("personal_data.email", "an email address")
        if not prepared.has_digit:
            return None
        for m in finditer(_PHONE, prepared, _DIGITS):
            if self._is_phone(text, m):
                return self._verdict("personal_data.phone", "a phone number")
        for m in finditer(self._address, prepared, _DIGITS, self._address_gate):
            words = m.group("words").split()
            if any(w.strip(".'") in self._stopwords or w.isdigit() for w in words):
                continue  # "5 km down the road", "1 more way"
            if m.group("suffix") in self._cue_only and not self._address_cue.search(
                    text, max(0, m.start() - 40), m.start()):
                continue
            return self._verdict("personal_data.address", "a street address")
        if search(self._postcode, prepared, self._postcode_gate):
            return self._verdict("personal_data.address", "a postcode")
        return None
