"""The safety engine: every rule module over one prepared text, most severe verdict wins.

Pure and synchronous: no I/O, no clock, no state between calls, so one engine can be
shared by every door and called from any thread. Building it compiles every pattern
once; ``check`` then costs tens of microseconds for a chat-length message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tryst.domain.safety.coercion import CoercionRules
from tryst.domain.safety.config import SafetyConfig
from tryst.domain.safety.flood import FloodRules
from tryst.domain.safety.minor import MinorRules
from tryst.domain.safety.off_platform import OffPlatformRules
from tryst.domain.safety.personal_data import PersonalDataRules
from tryst.domain.safety.solicitation import SolicitationRules
from tryst.domain.safety.text import prepared
from tryst.domain.safety.verdicts import ALLOW, Context, Verdict, severity_key

# An extra checker, such as a trained classifier behind the classifier port: it gets the
# original text (not the prepared form: a model has its own tokeniser) and the context,
# and returns a verdict or None. Exceptions propagate: the caller decides whether a
# failing classifier blocks sending or not.
Checker = Callable[[str, Context], Verdict | None]


class SafetyEngine:
    """Checks messages and profiles against the configured rules.

    ``extra_checkers`` run after the built-in rules on every message; their verdicts
    compete on the same severity order (minor > coercion > solicitation > off_platform
    > personal_data > flood).
    """

    def __init__(self, config: SafetyConfig, extra_checkers: Iterable[Checker] = ()) -> None:
        self.config = config
        self._minor = MinorRules(config)
        self._rules = (self._minor, CoercionRules(config), SolicitationRules(config),
                       OffPlatformRules(config), PersonalDataRules(config), FloodRules(config))
        self._extra = tuple(extra_checkers)

    def with_checkers(self, *checkers: Checker) -> SafetyEngine:
        """A new engine with the same configuration and these checkers added."""
        return SafetyEngine(self.config, (*self._extra, *checkers))

    def check_all(self, text: str, context: Context | None = None) -> tuple[Verdict, ...]:
        """Every verdict that applies (at most one per rule module and checker), most
        severe first; empty when the message is fine."""
        context = context or Context()
        normal = prepared(text, self.config.max_chars_examined)
        found = [v for rules in self._rules if (v := rules.check(normal, context)) is not None]
        found.extend(v for checker in self._extra if (v := checker(text, context)) is not None)
        return tuple(sorted(found, key=severity_key))

    def check(self, text: str, context: Context | None = None) -> Verdict:
        """The verdict for one message: the most severe that applies, or ``ALLOW``."""
        found = self.check_all(text, context)
        return found[0] if found else ALLOW

    def check_profile(self, text: str) -> Verdict | None:
        """A ``refuse`` verdict (signal minor, rule ``minor.profile_age``) when a persona's
        name, profile or card states an age under 18; None otherwise. Give it each field
        on its own, or the fields joined with newlines."""
        return self._minor.check_profile(prepared(text, self.config.max_chars_examined))
