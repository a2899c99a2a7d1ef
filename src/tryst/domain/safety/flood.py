"""Flooding and fan-out: many first contacts from one account in a short time.

The caller counts the account's first contacts in the last ``flood.window_minutes``
(``Context.recent_first_contacts``); at ``flood.max_first_contacts`` or more, the next
first contact is throttled. Replies in existing conversations are never throttled here.
"""

from __future__ import annotations

from tryst.domain.safety.config import SafetyConfig
from tryst.domain.safety.text import Prepared
from tryst.domain.safety.verdicts import Action, Context, Signal, Verdict


class FloodRules:
    """The flood rule: a threshold on the caller's count of recent first contacts."""

    def __init__(self, config: SafetyConfig) -> None:
        sec = config.section("flood")
        self._config = config
        self.enabled = sec.flag("enabled")
        self.max_first_contacts = sec.number("max_first_contacts")
        self.window_minutes = sec.number("window_minutes")

    def check(self, prepared: Prepared, context: Context) -> Verdict | None:
        """A throttle verdict when this first contact is one too many, or None."""
        if not self.enabled or not context.first_contact:
            return None
        if context.recent_first_contacts < self.max_first_contacts:
            return None
        return Verdict(Signal.FLOOD, Action.THROTTLE, self._config.reason("flood.first_contacts"),
                       "flood.first_contacts",
                       (f"{context.recent_first_contacts} first contacts in "
                        f"{self.window_minutes} minutes",))
