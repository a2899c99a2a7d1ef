"""Coercion and sextortion: a threat to share someone's images or conversations, combined
with a demand (money, more images, compliance) or a deadline.

The message is taken apart into threats and demands, each found by its own small pattern:

- threats: "send your pics to your family" (a sharing verb, an image or log, maybe an
  audience), "your photos go to your boss", "everyone sees the logs", "I have your
  pictures" / "I recorded our call" (possession), "I'll ruin your life", "I'll tell your
  wife";
- demands: money ("$200", "gift card", "venmo me 300"), more images ("send more"),
  compliance ("do what I say"), a deadline ("you have 24 hours", "by midnight") or a
  condition ("or I'll", "unless you", "if you don't").

A threat with a demand, where the message also names images or logs or asks for money
or images, restricts the sender (``coercion.sextortion``). A clear threat to share
someone's images with others, without a demand, warns the recipient
(``coercion.threat_to_share``). "I would never share your photos" is negated and
ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

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

_DETERMINERS = r"(?:your|the|these|those|all|of|our|every|whole|old|a|that|this|some|more)"
_UNITS = r"(?:hours?|hrs?|minutes?|mins?|days?|hour)"
_DEADLINE = (
    rf"(?:(?:you have|you've got|you got)\s+(?:\d{{1,3}}|one|two|three|a few|an?)\s+{_UNITS}"
    rf"|within\s+(?:\d{{1,3}}|one|two|an?|the next)\s+(?:\d{{1,3}}\s+)?{_UNITS}"
    rf"|(?<![\d:.])\d{{1,3}}\s*{_UNITS}(?!\w)"
    r"|by\s+(?:tonight|tomorrow|midnight|morning|noon|the end of the day|end of day|eod|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)(?!\w)"
    rf"|in\s+the\s+next\s+(?:\d{{1,3}}\s+|few\s+)?{_UNITS})")


_GOES_WORDS = frozenset({
    "shared", "posted", "leaked", "sent", "forwarded", "published", "uploaded", "spread",
    "exposed", "public", "viral", "online"})
# With a number, these make a sum of money ("send 300", "500 bucks").
_MONEY_WORDS = frozenset({
    "dollars", "dollar", "usd", "euros", "euro", "eur", "pounds", "pound", "gbp", "bucks",
    "quid", "send", "pay", "transfer", "wire", "venmo", "cashapp", "give", "get", "want",
    "need", "owe"})


class CoercionRules:
    """The coercion rules, compiled once from the configuration."""

    def __init__(self, config: SafetyConfig) -> None:
        sec = config.section("coercion")
        self._config = config
        self.enabled = sec.flag("enabled")
        verbs = alternation(sec.words("share_verbs"))
        objects = alternation(sec.words("objects"))
        pronouns = alternation(sec.words("object_pronouns"))
        audiences = alternation(sec.words("audiences"))
        places = alternation(sec.words("places"))
        # sharing verb + object: "send your pics", "post the logs", "forward them"
        self._share = re.compile(
            rf"(?<![\w'])(?P<verb>{verbs})\s+(?:{_DETERMINERS}\s+){{0,3}}"
            rf"(?P<obj>{objects}|{pronouns})")
        # sharing verb + audience + object: "show your parents the pictures"
        self._share_to = re.compile(
            rf"(?<![\w'])(?:{verbs})\s+(?:your\s+)?{audiences}\s+(?:{_DETERMINERS}\s+){{0,2}}"
            rf"{objects}")
        self._destination = re.compile(
            rf"(?:\s+[\w'#-]+){{0,4}}?\s+(?:(?:to|with)\s+(?:(?:all|every|your|the|whole|"
            rf"entire|of|on)\s+){{0,3}}{audiences}|(?:on\s+|all over\s+|onto\s+)?(?:(?:the|"
            rf"every|all|social|your)\s+){{0,2}}{places})")
        self._goes = re.compile(
            rf"(?:{objects}|{pronouns})\s+(?:[\w']+\s+){{0,2}}?(?P<how>go|goes|going|will go|"
            r"get|gets|will get|will be|are|is|end up|ends up|will end up|stay|stays|"
            r"get sent|gets sent|get posted|gets posted|get shared|gets shared|"
            r"are going to|is going to)\s+(?:(?:go\s+)?(?:to|on|onto|all over|out to|in)\s+)?"
            rf"(?:(?:your|the|every|all|whole|entire)\s+){{0,2}}(?:{audiences}|{places})"
            # "your pics get shared", "the logs go public": no audience needed
            rf"|(?:{objects}|{pronouns})\s+(?:[\w']+\s+){{0,2}}?(?P<how2>(?:will\s+)?(?:get|gets|"
            r"are going to get|is going to get|going to get)\s+(?:shared|posted|leaked|sent|"
            r"forwarded|published|uploaded|spread|exposed)|(?:will\s+)?(?:go|goes|going)\s+"
            r"(?:public|viral|online))")
        self._audience_sees = re.compile(
            rf"(?:(?<![\w'])your\s+(?:(?:whole|entire|new|own)\s+)?{audiences}|"
            r"(?<![\w'])(?:everyone|everybody|the whole world|the world|people|they|nobody|"
            r"no one))"
            rf"(?:\s+[\w']+){{0,4}}?\s+(?P<verb>{alternation(sec.words('audience_verbs'))})")
        # "i've got your nudes", "i saved all your pics" -- but not "i've seen your photos"
        self._possess = re.compile(
            rf"(?<![\w'])(?:{alternation(sec.words('possession'))})\s+(?:(?:{_DETERMINERS}|"
            rf"copies|screenshots|recordings|each|any|lots|loads|many|of)\s+){{0,4}}{objects}")
        # "$250 and the photos stay private": a threat only when money is asked
        self._stays = re.compile(
            rf"{objects}\s+(?:[\w']+\s+){{0,2}}?(?:stay|stays|will stay|remain|remains)\s+"
            r"(?:private|hidden|between us|secret|safe|offline)")
        self._recorded = re.compile(alternation(sec.words("recorded")))
        self._ruin = re.compile(alternation(sec.words("ruin")))
        self._tell = re.compile(
            rf"(?<![\w'])(?:tell|show|inform|message|email|text|call)\s+your\s+"
            rf"(?:(?:whole|entire)\s+)?{audiences}")
        self._your_object = re.compile(rf"(?<![\w'])your\s+(?:\w+\s+)?{objects}")
        # whose images: the recipient's ("your pics", "these screenshots"), for the
        # threat-only rule; "I'll send the photos of the cake to your mum" is no threat
        self._their_object = re.compile(
            rf"(?<![\w'])(?:your|these|those|all your|all of your|all the)\s+(?:\w+\s+)?"
            rf"{objects}")
        self._your_audience = re.compile(rf"(?<![\w'])your\s+(?:\w+\s+)?{audiences}")
        self._object = re.compile(objects)
        self._negated = re.compile(
            rf"(?:{alternation(sec.words('negations'))})(?:\s+[\w']+){{0,2}}\s*$")
        self._intent = re.compile(rf"(?:{alternation(sec.words('intents'))})")
        apps = r"(?:cashapp|cash app|venmo|paypal|zelle|bitcoin|btc|crypto|gift cards?)"
        # A sum of money, in four patterns that each start with a character class or a
        # word list, each with its own gate (a single alternation was the slowest scan).
        self._money_parts = (
            (re.compile(alternation(sec.words("money"))), gate_words(sec.words("money"))),
            (re.compile(r"[$£€]\s?\d"), frozenset("$£€")),
            (re.compile(r"\d(?<![\w.]\d)\d{0,6}(?:(?:[.,]\d{1,2})?\s?(?:dollars?|usd|euros?|"
                        r"eur|pounds?|gbp|bucks|quid)(?!\w)|\s+(?:on|via|through|in|to)\s+"
                        rf"{apps})"), frozenset({DIGIT})),
            (re.compile(r"(?<![\w'])(?:(?:send|pay|transfer|wire|venmo|cashapp|give)\s+"
                        r"(?:me\s+)?|(?:get|want|need|owe me)\s+)\d{2,6}(?!\d)"
                        r"(?!\s*(?:min|hour|day|week|month|year))"), _MONEY_WORDS))
        self._images = re.compile(
            rf"{alternation(sec.words('image_demands'))}|(?<![\w'])(?:send|give)\s+"
            rf"(?:me\s+)?(?:more|another|new|a new|a few more|some more)\s+{objects}")
        self._compliance = re.compile(alternation(sec.words("compliance")))
        self._deadline = re.compile(rf"{alternation(sec.words('deadlines'))}|{_DEADLINE}")
        self._conditional = re.compile(alternation(sec.words("conditionals")))
        self._phrases = re.compile(alternation(sec.words("phrases")))
        # Every rule needs a number (a sum) or one of these words: what is at stake
        # (images, logs) or demanded (money, more images), or an operator's phrase.
        self._gate = union(gate_words(sec.words("objects")), gate_words(sec.words("money")),
                           gate_words(sec.words("image_demands")),
                           gate_words(sec.words("phrases")))
        self._sum_words = _MONEY_WORDS
        # Each threat pattern's own gate: words it cannot match without.
        share = gate_words(sec.words("share_verbs"))
        audience = gate_words(sec.words("audiences"))
        stakes = union(gate_words(sec.words("objects")), gate_words(sec.words("object_pronouns")))
        self._gates: dict[str, tuple[frozenset[str] | None, ...]] = {
            "share": (share,), "share_to": (share, audience),
            "possess": (gate_words(sec.words("possession")), gate_words(sec.words("objects"))),
            "recorded": (gate_words(sec.words("recorded")),),
            "ruin": (gate_words(sec.words("ruin")),),
            "tell": (frozenset({"tell", "show", "inform", "message", "email", "text", "call"}),
                     audience),
            "goes": (stakes, union(audience, gate_words(sec.words("places")), _GOES_WORDS)),
            "sees": (gate_words(sec.words("audience_verbs")),),
            "stays": (frozenset({"stay", "stays", "remain", "remains"}),),
            "your": (frozenset({"your"}),),
            "phrases": (gate_words(sec.words("phrases")),),
        }

    def _verdict(self, rule: str, action: Action, matched: list[str]) -> Verdict:
        return Verdict(Signal.COERCION, action, self._config.reason(rule), rule,
                       tuple(dict.fromkeys(m.strip() for m in matched)))

    def _open(self, prepared: Prepared, name: str) -> bool:
        return all(prepared.any_of(gate) for gate in self._gates[name])

    def _find(self, pattern: re.Pattern[str], prepared: Prepared,
              name: str) -> Iterator[re.Match[str]]:
        return finditer(pattern, prepared, *self._gates[name])

    def _search(self, pattern: re.Pattern[str], prepared: Prepared,
                name: str) -> re.Match[str] | None:
        return search(pattern, prepared, *self._gates[name])

    def _money(self, prepared: Prepared) -> re.Match[str] | None:
        for pattern, gate in self._money_parts:
            found = search(pattern, prepared, gate)
            if found is not None:
                return found
        return None

    def _threats(self, prepared: Prepared) -> tuple[list[str], str | None]:
        """Threat phrases found, and the first that is a clear threat on its own (names
        what and where, with intent) if any."""
        text = prepared.text
        found: list[str] = []
        clear: str | None = None
        for m in self._find(self._share, prepared, "share"):
            if self._negated.search(text, max(0, m.start() - 40), m.start()):
                continue
            found.append(m.group())
            dest = self._destination.match(text, m.end())
            if (clear is None and dest is not None and m.group("obj") is not None
                    and self._object.fullmatch(m.group("obj"))
                    and self._their_object.search(m.group())
                    and self._intent.search(text, max(0, m.start() - 30), m.start())):
                clear = m.group() + dest.group()
        for pattern, name in ((self._share_to, "share_to"), (self._possess, "possess"),
                              (self._recorded, "recorded"), (self._ruin, "ruin"),
                              (self._tell, "tell")):
            found.extend(m.group() for m in self._find(pattern, prepared, name))
        for m in self._find(self._goes, prepared, "goes"):
            found.append(m.group())
            how = m.group("how") or m.group("how2")
            if clear is None and ("will" in how or "going" in how):
                clear = m.group()
        for m in self._find(self._audience_sees, prepared, "sees"):
            if self._negated.search(text, max(0, m.start() - 30), m.start()):
                continue
            found.append(m.group())
            verb = m.group("verb")
            if clear is None and ("going" in verb or "will" in verb) \
                    and any(w in verb for w in ("see", "find", "know", "read", "get", "receive",
                                                "hear")) \
                    and self._their_object.search(text):
                clear = m.group()
        return found, clear

    def check(self, prepared: Prepared, context: Context) -> Verdict | None:
        """A coercion verdict for a prepared message, or None."""
        text = prepared.text
        if not self.enabled or not (
                prepared.any_of(self._gate) or any(sign in text for sign in "$£€")
                or (prepared.has_digit and prepared.any_of(self._sum_words))):
            return None
        phrase = self._search(self._phrases, prepared, "phrases")
        if phrase is not None:
            return self._verdict("coercion.phrase", Action.RESTRICT, [phrase.group()])
        threats, clear = self._threats(prepared)
        # Money is looked for only where it can matter: with a threat, or for the two
        # threats that are implied only when money is asked ("...and the photos stay
        # private", "your pictures, your family").
        implied = self._open(prepared, "stays") or "your" in prepared.tokens
        money = self._money(prepared) if threats or implied else None
        images = self._images.search(text) if threats else None
        if not threats and money is not None and self._open(prepared, "stays"):
            stays = self._search(self._stays, prepared, "stays")
            if stays is not None:
                threats = [stays.group()]
        if not threats and money is not None and "your" in prepared.tokens:
            # "pay or else. your pictures, your family." -- implied, so only with money
            yours = self._search(self._your_object, prepared, "your")
            audience = self._search(self._your_audience, prepared, "your")
            if yours is not None and audience is not None:
                threats = [yours.group(), audience.group()]
        if threats:
            demands = [m.group() for m in (
                money, images, self._compliance.search(text), self._deadline.search(text),
                self._conditional.search(text)) if m is not None]
            names_stakes = (self._object.search(text) is not None or money is not None
                            or images is not None)
            if demands and names_stakes:
                return self._verdict("coercion.sextortion", Action.RESTRICT,
                                     [threats[0], demands[0]])
        if clear is not None:
            return self._verdict("coercion.threat_to_share", Action.WARN_RECIPIENT, [clear])
        return None
