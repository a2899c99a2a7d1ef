"""Reports: someone tells the moderators about a message, persona, room or scene.

Evidence is only what the reporter selects: messages exactly as they received them.
Lines that carry the server's franking tag are verified (the server keeps no copy of
private messages to compare against; the tag is the proof); room lines are checked
against stored room history. Nothing else of a private space is disclosed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tryst.domain.errors import InvalidInput
from tryst.domain.text import choice, clean_text

NOTE_MAX = 4000
EVIDENCE_MAX = 50


class Category(StrEnum):
    MINOR = "minor"
    NON_CONSENT = "non_consent"
    COERCION = "coercion"
    HARASSMENT = "harassment"
    INTIMATE_IMAGE = "intimate_image"  # shared without consent
    SOLICITATION = "solicitation"
    OTHER = "other"


class TargetKind(StrEnum):
    MESSAGE = "message"
    PERSONA = "persona"
    ROOM = "room"
    SCENE = "scene"


@dataclass(frozen=True, slots=True)
class Evidence:
    """A message as the reporter received it (the fields franking covers, plus tag)."""

    sender: str
    stream: str
    seq: int
    at: str
    text: str
    tag: str | None = None


def validate_report(category: str, kind: str, note: str | None,
                    evidence: list[Evidence]) -> tuple[Category, TargetKind, str]:
    cat = choice(Category, category, "category")
    target = choice(TargetKind, kind, "target")
    clean = clean_text(note or "", field="note", max_chars=NOTE_MAX, allow_empty=True)
    if len(evidence) > EVIDENCE_MAX:
        raise InvalidInput(f"select at most {EVIDENCE_MAX} messages as evidence",
                           details={"field": "evidence"})
    if target is TargetKind.MESSAGE and not evidence:
        raise InvalidInput("reporting a message needs the message itself as evidence",
                           details={"field": "evidence"})
    return cat, target, clean
