"""Personas: the characters an account acts as. Validation only; no storage."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from tryst.domain.errors import InvalidInput
from tryst.domain.tags import TagVocabulary
from tryst.domain.text import clean_text
from tryst.ids import AccountId, PersonaId

ADULT_AGE = 18
MAX_STATED_AGE = 10_000  # fantasy characters may be ancient; the floor is what matters
NAME_MAX = 32
SHORT_MAX = 200
PROFILE_MAX = 20_000
PRONOUNS_MAX = 40
HARD_LIMIT_MAX = 200
HARD_LIMITS_MAX_COUNT = 100
# Letters of any script, digits, spaces and a few joiners; no leading/trailing space.
_NAME_RE = re.compile(r"^[^\W_][\w '\-.]*$")


class InterestLevel(StrEnum):
    """The F-List convention for how much a persona wants something."""

    FAVE = "fave"
    YES = "yes"
    MAYBE = "maybe"
    NO = "no"


@dataclass(frozen=True, slots=True)
class PersonaDraft:
    """Everything a person can set on a persona."""

    name: str
    age: int
    short_description: str = ""
    profile: str = ""
    pronouns: str = ""
    interests: Mapping[str, InterestLevel] = field(default_factory=dict)
    hard_limits: Sequence[str] = ()
    adult_content: bool = False


@dataclass(frozen=True, slots=True)
class Persona:
    id: PersonaId
    account_id: AccountId
    name: str
    age: int
    short_description: str
    profile: str
    pronouns: str
    interests: Mapping[str, InterestLevel]
    hard_limits: tuple[str, ...]
    adult_content: bool
    created_at: datetime


def name_key(name: str) -> str:
    """Display names are unique regardless of case and Unicode compatibility forms
    (a full-width letter equals its plain form)."""
    return unicodedata.normalize("NFKC", name).casefold()


def validate_name(raw: str) -> str:
    name = clean_text(raw, field="name", max_chars=NAME_MAX, multiline=False)
    name = " ".join(name.split())
    if len(name) < 2 or not _NAME_RE.fullmatch(name):
        raise InvalidInput(
            "name must be 2 to 32 characters of letters, digits, spaces, apostrophes, "
            "hyphens or dots, starting with a letter or digit",
            details={"field": "name"},
        )
    return name


def validate_age(age: int) -> int:
    if isinstance(age, bool) or not isinstance(age, int):
        raise InvalidInput("age must be a whole number", details={"field": "age"})
    if age < ADULT_AGE:
        raise InvalidInput("personas must be adults: a stated age under 18 is refused",
                           details={"field": "age", "minimum": ADULT_AGE})
    if age > MAX_STATED_AGE:
        raise InvalidInput(f"age must be at most {MAX_STATED_AGE}", details={"field": "age"})
    return age


def validate_draft(draft: PersonaDraft, vocabulary: TagVocabulary) -> PersonaDraft:
    """Return a cleaned copy of the draft or raise InvalidInput naming the field."""
    unknown = sorted(t for t in draft.interests if t not in vocabulary)
    if unknown:
        raise InvalidInput("interests name tags that are not in this server's vocabulary",
                           details={"field": "interests", "unknown_tags": unknown[:20]})
    levels = {}
    for tag, level in draft.interests.items():
        try:
            levels[tag] = InterestLevel(level)
        except ValueError:
            raise InvalidInput(f"interest level for {tag!r} must be fave, yes, maybe or no",
                               details={"field": "interests"}) from None
    if len(draft.hard_limits) > HARD_LIMITS_MAX_COUNT:
        raise InvalidInput(f"at most {HARD_LIMITS_MAX_COUNT} hard limits",
                           details={"field": "hard_limits"})
    limits = tuple(
        clean_text(item, field="hard_limits", max_chars=HARD_LIMIT_MAX, multiline=False)
        for item in draft.hard_limits
    )
    return PersonaDraft(
        name=validate_name(draft.name),
        age=validate_age(draft.age),
        short_description=clean_text(draft.short_description, field="short_description",
                                     max_chars=SHORT_MAX, allow_empty=True, multiline=False),
        profile=clean_text(draft.profile, field="profile", max_chars=PROFILE_MAX,
                           allow_empty=True),
        pronouns=clean_text(draft.pronouns, field="pronouns", max_chars=PRONOUNS_MAX,
                            allow_empty=True, multiline=False),
        interests=levels,
        hard_limits=tuple(dict.fromkeys(limits)),
        adult_content=bool(draft.adult_content),
    )
