"""Solicitation of payment for sexual content or services: refused, with the rule explained.

A price alone is ordinary ("dinner was $40"), and so is a payment app ("venmo me $12 for
the pizza"). What fires:

- financial-domination terms ("findom", "pay pig", "send tribute"): ``solicitation.findom``;
- a crypto address or a payment link (paypal.me/...): ``solicitation.payment``;
- promoting a subscription platform ("my onlyfans", "fansly link in bio"):
  ``solicitation.platform``;
- a price near a sexual service ("customs $40", "$50 for a cam show"), or a price, a
  service and a seller's wording ("I sell", "rates", "upfront"): ``solicitation.price``;
- a payment app or cash tag with a service or a seller's wording ("cashapp $tag for
  tributes"), or sent to a new contact: ``solicitation.payment``;
- a sexual service offered for sale without a price ("selling worn items"):
  ``solicitation.offer``.
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

# How close (characters) a price and a service must be to be read together.
_NEAR = 80
_CRYPTO = re.compile(r"(?<!\w)(?:bc1[a-z0-9]{20,80}|0x[0-9a-f]{40}|[13][1-9a-z]{25,34})(?!\w)")
_CASHTAG = re.compile(r"(?<![\w$])\$[a-z][a-z0-9_-]{2,19}(?!\w)")
_BARE_NUMBER = re.compile(r"(?<![\w.$£€])\d{1,4}(?![\w.,:/%])")
_DIGITS, _DOLLAR, _SIGNS = frozenset({DIGIT}), frozenset({"$"}), frozenset("$£€")
_COUNTED_WORDS = frozenset({"pics", "pictures", "photos", "videos", "vids", "clips", "selfies"})
# A price for a number of images: "10 pics for $15", "$20 for 5 videos".
_COUNTED = re.compile(
    r"\d{1,3}\s+(?:pics|pictures|photos|videos|vids|clips|selfies)\s+(?:for|=|at)\s+[$£€]?\d"
    r"|[$£€]\d{1,5}(?:[.,]\d{1,2})?\s+(?:for|=)\s+\d{1,3}\s+(?:pics|pictures|photos|videos|vids|"
    r"clips|selfies)")


class SolicitationRules:
    """The solicitation rules, compiled once from the configuration."""

    def __init__(self, config: SafetyConfig) -> None:
        sec = config.section("solicitation")
        self._config = config
        self.enabled = sec.flag("enabled")
        apps = alternation(sec.words("payment_apps"))
        currency = alternation(sec.words("currency_words"))
        # Prices, as three patterns that each start with a character class (a currency
        # sign, a digit, a word): the regular expression engine then skips ahead to
        # candidate positions, two to three times faster than one alternation.
        self._price_parts = (
            (re.compile(r"[$£€]\s?\d{1,6}(?:[.,]\d{1,2})?"), _SIGNS),
            (re.compile(r"\d(?<![\w.]\d)\d{0,5}(?:(?:[.,]\d{1,2})?\s?(?:[$£€]|"
                        rf"{currency})|\s+(?:on|via|through|by|with)\s+{apps})"), _DIGITS),
            (re.compile(r"(?<!\w)(?:donations?|roses)\s+(?:of\s+)?\d{2,5}(?!\d)"),
             frozenset({"donation", "donations", "roses"})))
        self._apps = re.compile(apps)
        # a payment handle being handed out: "my cashapp is", "venmo: @x", "cashapp me"
        self._handle = re.compile(rf"(?<!\w)my\s+{apps}|{apps}\s*[:@]|{apps}\s+me(?!\w)")
        self._links = re.compile(alternation(sec.words("payment_links")))
        platforms = alternation(sec.words("platforms"))
        self._platform = re.compile(platforms)
        self._my_platform = re.compile(
            rf"(?<!\w)my\s+(?:{platforms}|of(?=\s*(?:[,.!?]|$|link|account|page|is|for|"
            r"here)))")
        self._promotion = re.compile(alternation(sec.words("platform_promotion")))
        self._findom = re.compile(alternation(sec.words("findom")))
        self._strong = re.compile(alternation(sec.words("strong_services")))
        self._service = re.compile(alternation(sec.words("services")))
        self._seller = re.compile(alternation(sec.words("seller")))
        self._menu = re.compile(alternation(sec.words("menus")))
        self._phrases = re.compile(alternation(sec.words("phrases")))
        # Every rule needs a number, a currency sign, "my of" or one of these words.
        self._menu_gate = gate_words(sec.words("menus"))
        self._first_gates = [gate_words(sec.words(key))
                             for key in ("phrases", "findom", "payment_links")]
        self._platform_gate = gate_words(sec.words("platforms"))
        self._strong_gate = gate_words(sec.words("strong_services"))
        self._seller_gate = gate_words(sec.words("seller"))
        self._service_gate = gate_words(sec.words("services"))
        self._apps_gate = gate_words(sec.words("payment_apps"))
        self._gate = union(*(gate_words(sec.words(key)) for key in (
            "phrases", "findom", "payment_links", "platforms", "payment_apps",
            "strong_services", "currency_words", "menus")), _COUNTED_WORDS)

    def _verdict(self, rule: str, *matched: str) -> Verdict:
        return Verdict(Signal.SOLICITATION, Action.REFUSE, self._config.reason(rule), rule,
                       tuple(dict.fromkeys(m.strip() for m in matched)))

    @staticmethod
    def _crypto(text: str) -> bool:
        # An address is one long run of letters and digits: look only if there is one.
        if max(map(len, text.split()), default=0) < 23:
            return False
        return any(sum(ch.isdigit() for ch in m.group()) >= 3  # not a long word
                   for m in _CRYPTO.finditer(text))

    def _prices(self, prepared: Prepared) -> list[re.Match[str]]:
        prices = [m for pattern, gate in self._price_parts
                  for m in finditer(pattern, prepared, _DIGITS, gate)]
        if prepared.has_digit and search(self._menu, prepared, self._menu_gate):
            # a menu or rate card: "pics 15, videos 40" -- bare numbers are prices there
            prices.extend(finditer(_BARE_NUMBER, prepared, _DIGITS))
        return prices

    def check(self, prepared: Prepared, context: Context) -> Verdict | None:
        """A solicitation verdict for a prepared message, or None."""
        text = prepared.text
        if not self.enabled:
            return None
        if not (prepared.any_of(self._gate) or prepared.any_of(_SIGNS) or "my of" in text):
            # only a crypto address can still be here
            if prepared.has_digit and self._crypto(text):
                return self._verdict("solicitation.payment", "a crypto address")
            return None
        for pattern, rule, gate in zip(
                (self._phrases, self._findom, self._links),
                ("solicitation.phrase", "solicitation.findom", "solicitation.payment"),
                self._first_gates, strict=True):
            m = search(pattern, prepared, gate)
            if m is not None:
                return self._verdict(rule, m.group())
        if prepared.has_digit and self._crypto(text):
            return self._verdict("solicitation.payment", "a crypto address")
        promo = self._my_platform.search(text) if "my" in prepared.tokens else None
        platform = search(self._platform, prepared, self._platform_gate)
        if promo is None and platform is not None:
            promo = self._promotion.search(text) or next(iter(self._prices(prepared)), None)
        if promo is not None and (platform is not None or promo.group().startswith("my")):
            return self._verdict("solicitation.platform",
                                 platform.group() if platform else promo.group())
        prices = self._prices(prepared)
        strong = list(finditer(self._strong, prepared, self._strong_gate))
        for price in prices:
            for offered in strong:
                if abs(price.start() - offered.start()) <= _NEAR:
                    return self._verdict("solicitation.price", price.group(), offered.group())
        counted = search(_COUNTED, prepared, _DIGITS, _COUNTED_WORDS)
        if counted is not None:
            return self._verdict("solicitation.price", counted.group())
        seller = search(self._seller, prepared, self._seller_gate)
        service = search(self._service, prepared, self._service_gate)
        if prices and service is not None and seller is not None:
            return self._verdict("solicitation.price", prices[0].group(), service.group(),
                                 seller.group())
        payment = search(self._apps, prepared, self._apps_gate) or search(
            _CASHTAG, prepared, _DOLLAR)
        if payment is not None:
            # "venmo me" names the app and asks for money: not, on its own, a seller
            start, end = payment.span()
            other_seller = self._seller.search(text[:start] + " " * (end - start) + text[end:])
            reason = (strong[0].group() if strong
                      else other_seller.group() if other_seller is not None
                      else service.group() if service is not None and prices
                      else "a new contact" if context.first_contact and (
                          _CASHTAG.search(text) or self._handle.search(text))
                      else None)
            if reason is not None:
                shown = "a cash tag" if payment.group().startswith("$") else payment.group()
                return self._verdict("solicitation.payment", shown, reason)
        if strong and seller is not None:
            return self._verdict("solicitation.offer", strong[0].group(), seller.group())
        return None
