"""The safety engine for text: explainable rules that turn a message into a verdict.

    engine = SafetyEngine(config_from_document(shipped_json))
    verdict = engine.check("...", Context(new_contact=True, place=Place.REQUEST))
    verdict.signal, verdict.action, verdict.reason, verdict.rule

Pure: standard library only, no I/O. The caller (the send path) acts on the verdict's
action; see ``Action`` for what each one means. docs/safety.md describes every signal.
"""

from tryst.domain.safety.config import RULES, SCHEMA, SafetyConfig, config_from_document
from tryst.domain.safety.engine import Checker, SafetyEngine
from tryst.domain.safety.verdicts import (
    ALLOW,
    SEVERITY,
    Action,
    Context,
    Place,
    Signal,
    Verdict,
    context_from_mapping,
)

__all__ = [
    "ALLOW", "RULES", "SCHEMA", "SEVERITY", "Action", "Checker", "Context", "Place",
    "SafetyConfig", "SafetyEngine", "Signal", "Verdict", "config_from_document",
    "context_from_mapping",
]
