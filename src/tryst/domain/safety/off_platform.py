"""Moves off the platform, or towards secrecy, between new contacts.

"add me on snap", "let's move this to telegram", "what's your kik?", "can I get your
number?", "let's take this somewhere more private" (not in scenes, where it is usually the
story), and secrecy: "don't tell anyone", "our little secret", "delete this chat" (not in
scenes either). Only between people who have not talked before: friends swap numbers,
and that is their business. The recipient gets a gentle warning; the message is
delivered.
"""

from __future__ import annotations

import re

from tryst.domain.safety.config import SafetyConfig
from tryst.domain.safety.text import Prepared, alternation, gate_words, search, union
from tryst.domain.safety.verdicts import Action, Context, Place, Signal, Verdict


class OffPlatformRules:
    """The off-platform and secrecy rules, compiled once from the configuration."""

    def __init__(self, config: SafetyConfig) -> None:
        sec = config.section("off_platform")
        self._config = config
        self.enabled = sec.flag("enabled")
        apps = alternation(sec.words("apps"))
        contact = alternation(sec.words("contact_verbs"))
        move = alternation(sec.words("move_verbs"))
        proposals = alternation(sec.words("proposals"))
        self._move = re.compile(
            # "add me on snap", "hmu on discord", "find me on instagram"
            rf"(?<![\w'])(?:{contact})\s+(?:me\s+|us\s+)?(?:on|at|via|over|through|in)\s+"
            rf"(?:the\s+)?{apps}"
            # "add my snap"
            rf"|(?<![\w'])(?:add|follow|message|dm|text)\s+my\s+{apps}"
            # "you on telegram?" opening a sentence
            rf"|(?:^|(?<=[.!?]))\s*(?:are\s+)?you\s+on\s+{apps}"
            # "my snap is ...", "snap: rosie"
            rf"|(?<![\w'])my\s+{apps}(?:\s+(?:is|name|handle|username|id)|\s*[:@-])"
            rf"|(?<![\w'])(?:{alternation(sec.words('asks'))})\s+(?:your\s+|ur\s+)?{apps}"
            rf"|(?<![\w'])(?:{proposals})\s+(?:{move})\s+(?:(?:this|it|things|the chat|our "
            rf"chat|the conversation|this conversation|this convo)\s+)?(?:over\s+)?"
            rf"(?:to|on|onto|in|via)\s+(?:the\s+)?{apps}"
            rf"|(?<![\w'])(?:{apps})\s+(?:me\s+)?instead"
            rf"|(?<![\w'])(?:video chat|chat|talk)\s+on\s+{apps}"
            rf"|{alternation(sec.words('move_phrases'))}")
        self._elsewhere = re.compile(
            rf"(?<![\w'])(?:{proposals})\s+(?:{move})\s+(?:(?:this|it|things|the chat|our chat|"
            r"the conversation|this conversation|this convo)\s+)?(?:over\s+)?(?:to\s+)?"
            rf"(?:somewhere\s+)?(?:{alternation(sec.words('elsewhere'))})")
        self._secrecy = re.compile(alternation(sec.words("secrecy")))
        self._phrases = re.compile(alternation(sec.words("phrases")))
        # Gates: each pattern needs one of its own words (an app, a secrecy phrase...).
        self._move_gate = union(gate_words(sec.words("apps")),
                                gate_words(sec.words("move_phrases")))
        self._elsewhere_gate = gate_words(sec.words("elsewhere"))
        self._secrecy_gate = gate_words(sec.words("secrecy"))
        self._phrase_gate = gate_words(sec.words("phrases"))

    def _verdict(self, rule: str, matched: str) -> Verdict:
        return Verdict(Signal.OFF_PLATFORM, Action.WARN_RECIPIENT, self._config.reason(rule),
                       rule, (matched.strip(),))

    def check(self, prepared: Prepared, context: Context) -> Verdict | None:
        """An off-platform verdict for a prepared message to a new contact, or None."""
        if not self.enabled or not context.first_contact:
            return None
        checks = [(self._phrases, "off_platform.phrase", self._phrase_gate),
                  (self._move, "off_platform.move", self._move_gate)]
        if context.place is not Place.SCENE:
            # in a scene, "somewhere more private" and "don't tell anyone" are usually
            # the story
            checks += [(self._elsewhere, "off_platform.move", self._elsewhere_gate),
                       (self._secrecy, "off_platform.secrecy", self._secrecy_gate)]
        for pattern, rule, gate in checks:
            m = search(pattern, prepared, gate)
            if m is not None:
                return self._verdict(rule, m.group())
        return None
