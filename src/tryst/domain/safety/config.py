"""The safety engine's configuration: word lists, thresholds and reason texts.

Tryst ships a complete document (``src/tryst/data/safety.json``); an operator's file
either extends it (``"mode": "extend"``, the default) or replaces it (``"mode":
"replace"``, and then it must be complete). Extending appends to lists, merges maps and
replaces numbers, flags and reason texts; ``"remove"`` drops entries from the shipped
lists and maps. Every key is checked against the schema below, so a misspelt key is an
error that names it rather than a rule that silently does nothing.

Lists hold literal phrases, never regular expressions: an operator cannot make the
engine slow with a pathological pattern.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from tryst.domain.errors import InvalidInput

Kind = Literal["list", "map", "int", "bool"]

# section -> key -> kind. "about" is allowed everywhere and ignored (documentation).
SCHEMA: dict[str, dict[str, Kind]] = {
    "minor": {
        "enabled": "bool", "adult_age": "int", "youngest_age": "int",
        "number_words": "map", "subjects": "list", "fillers": "list",
        "continuations": "list", "intro_continuations": "list", "not_self_before": "list",
        "statements": "list", "statement_exceptions": "list", "us_grades": "list",
        "uk_years": "list", "school_levels": "list", "school_roles": "list",
        "class_years": "list", "school_verbs": "list", "school_exceptions": "list",
        "character_nouns": "list", "play_verbs": "list", "not_person_nouns": "list",
        "phrases": "list",
    },
    "coercion": {
        "enabled": "bool", "share_verbs": "list", "objects": "list",
        "object_pronouns": "list", "audiences": "list", "places": "list",
        "audience_verbs": "list", "possession": "list", "recorded": "list",
        "ruin": "list", "money": "list", "image_demands": "list", "compliance": "list",
        "deadlines": "list", "conditionals": "list", "negations": "list",
        "intents": "list", "phrases": "list",
    },
    "solicitation": {
        "enabled": "bool", "currency_words": "list", "payment_apps": "list",
        "payment_links": "list", "platforms": "list", "platform_promotion": "list",
        "findom": "list", "strong_services": "list", "services": "list",
        "seller": "list", "menus": "list", "phrases": "list",
    },
    "off_platform": {
        "enabled": "bool", "apps": "list", "contact_verbs": "list", "move_verbs": "list",
        "proposals": "list", "asks": "list", "move_phrases": "list", "elsewhere": "list",
        "secrecy": "list",
        "phrases": "list",
    },
    "personal_data": {
        "enabled": "bool", "phone_cues": "list", "number_exclusions": "list",
        "min_phone_digits": "int", "max_phone_digits": "int", "email_providers": "list",
        "street_suffixes": "list", "cue_only_suffixes": "list", "address_stopwords": "list",
        "address_cues": "list", "postcode_cues": "list", "phrases": "list",
    },
    "flood": {"enabled": "bool", "max_first_contacts": "int", "window_minutes": "int"},
}

# Every rule the engine can fire; each needs a reason text.
RULES: tuple[str, ...] = (
    "minor.self_age", "minor.statement", "minor.school_year", "minor.birth_year",
    "minor.intro_age", "minor.character_age", "minor.profile_age", "minor.phrase",
    "coercion.sextortion", "coercion.threat_to_share", "coercion.phrase",
    "solicitation.findom", "solicitation.price", "solicitation.payment",
    "solicitation.platform", "solicitation.offer", "solicitation.phrase",
    "off_platform.move", "off_platform.secrecy", "off_platform.phrase",
    "personal_data.phone", "personal_data.email", "personal_data.address",
    "personal_data.phrase",
    "flood.first_contacts",
)
_TOP_LEVEL = {"about", "version", "mode", "max_chars_examined", "reasons", "remove",
              *SCHEMA}
Value = tuple[str, ...] | Mapping[str, int] | int | bool


@dataclass(frozen=True, slots=True)
class Section:
    """One signal's settings, validated; read them with the typed accessors."""

    name: str
    values: Mapping[str, Value]

    def words(self, key: str) -> tuple[str, ...]:
        value = self.values[key]
        assert isinstance(value, tuple), key
        return value

    def number(self, key: str) -> int:
        value = self.values[key]
        assert isinstance(value, int) and not isinstance(value, bool), key
        return value

    def flag(self, key: str) -> bool:
        value = self.values[key]
        assert isinstance(value, bool), key
        return value

    def numbers(self, key: str) -> Mapping[str, int]:
        value = self.values[key]
        assert isinstance(value, Mapping), key
        return value


@dataclass(frozen=True, slots=True)
class SafetyConfig:
    """The complete, validated configuration. Build it with ``config_from_document``."""

    max_chars_examined: int
    sections: Mapping[str, Section]
    reasons: Mapping[str, str] = field(default_factory=dict)

    def section(self, name: str) -> Section:
        return self.sections[name]

    def reason(self, rule: str) -> str:
        return self.reasons[rule]

    def to_document(self) -> dict[str, object]:
        """The configuration as a complete ``"mode": "replace"`` document."""
        doc: dict[str, object] = {"version": 1, "mode": "replace",
                                  "max_chars_examined": self.max_chars_examined}
        for name, section in self.sections.items():
            doc[name] = {key: (list(v) if isinstance(v, tuple)
                               else dict(v) if isinstance(v, Mapping) else v)
                         for key, v in section.values.items()}
        doc["reasons"] = dict(self.reasons)
        return doc


def _fail(where: str, problem: str) -> InvalidInput:
    return InvalidInput(f"safety configuration: {where} {problem}")


def _value(where: str, kind: Kind, raw: object) -> Value:
    if kind == "list":
        if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip()
                                                for x in raw):
            raise _fail(where, "must be a list of non-empty strings")
        return tuple(dict.fromkeys(x.strip() for x in raw))
    if kind == "map":
        if not isinstance(raw, dict) or not all(
                isinstance(k, str) and k.strip() and isinstance(v, int)
                and not isinstance(v, bool) for k, v in raw.items()):
            raise _fail(where, "must map words to whole numbers")
        return MappingProxyType({k.strip(): v for k, v in raw.items()})
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            raise _fail(where, "must be a whole number >= 0")
        return raw
    if not isinstance(raw, bool):
        raise _fail(where, "must be true or false")
    return raw


def _section_updates(name: str, raw: object) -> dict[str, Value]:
    if not isinstance(raw, dict):
        raise _fail(name, "must be an object")
    out: dict[str, Value] = {}
    for key, value in raw.items():
        if key == "about":
            continue
        kind = SCHEMA[name].get(key)
        if kind is None:
            raise _fail(f"{name}.{key}", "is not a known setting; known: "
                        + ", ".join(sorted(SCHEMA[name])))
        out[key] = _value(f"{name}.{key}", kind, value)
    return out


def _reasons(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise _fail("reasons", "must be an object")
    for rule, text in raw.items():
        if rule not in RULES:
            raise _fail(f"reasons.{rule}", "is not a known rule")
        if not isinstance(text, str) or not text.strip():
            raise _fail(f"reasons.{rule}", "must be a non-empty string")
    return {rule: text.strip() for rule, text in raw.items()}


def _check_sensible(config: SafetyConfig) -> None:
    if config.max_chars_examined < 100:
        raise _fail("max_chars_examined", "must be at least 100")
    minor = config.section("minor")
    if not 1 <= minor.number("youngest_age") < minor.number("adult_age") <= 99:
        raise _fail("minor", "needs 1 <= youngest_age < adult_age <= 99")
    for key in ("us_grades", "uk_years"):
        if not all(x.isdigit() and 0 < int(x) < 20 for x in minor.words(key)):
            raise _fail(f"minor.{key}", "must list school years as numbers, like \"9\"")
    data = config.section("personal_data")
    if not 5 <= data.number("min_phone_digits") <= data.number("max_phone_digits") <= 20:
        raise _fail("personal_data", "needs 5 <= min_phone_digits <= max_phone_digits <= 20")


def config_from_document(doc: Mapping[str, object],
                         base: SafetyConfig | None = None) -> SafetyConfig:
    """Validate a configuration document and build the configuration.

    Without ``base`` the document must be complete (the shipped file, or an operator's
    ``"mode": "replace"`` file). With ``base`` (the shipped configuration) the document's
    ``mode`` decides: ``"extend"`` (the default) changes ``base`` as described in the
    module docstring; ``"replace"`` ignores ``base``. Raises InvalidInput naming the
    first problem.
    """
    if not isinstance(doc, Mapping):
        raise _fail("document", "must be a JSON object")
    unknown = sorted(set(doc) - _TOP_LEVEL)
    if unknown:
        raise _fail(", ".join(unknown), "is not a known section; known: "
                    + ", ".join(sorted(_TOP_LEVEL)))
    if doc.get("version", 1) != 1:
        raise _fail("version", "must be 1")
    mode = doc.get("mode", "extend" if base is not None else "replace")
    if mode not in ("extend", "replace"):
        raise _fail("mode", "must be 'extend' or 'replace'")
    if mode == "extend" and base is None:
        raise _fail("mode", "'extend' needs the shipped configuration to extend")
    if mode == "replace":
        config = _complete(doc)
    else:
        assert base is not None
        config = _extended(base, doc)
    _check_sensible(config)
    return config


def _complete(doc: Mapping[str, object]) -> SafetyConfig:
    if "remove" in doc:
        raise _fail("remove", "only makes sense with \"mode\": \"extend\"")
    sections: dict[str, Section] = {}
    for name, keys in SCHEMA.items():
        if name not in doc:
            raise _fail(name, "is missing (a replacing document must be complete)")
        values = _section_updates(name, doc[name])
        missing = sorted(set(keys) - set(values))
        if missing:
            raise _fail(name, "is missing " + ", ".join(missing))
        sections[name] = Section(name, MappingProxyType(values))
    reasons = _reasons(doc.get("reasons", {}))
    missing_reasons = [rule for rule in RULES if rule not in reasons]
    if missing_reasons:
        raise _fail("reasons", "has no text for " + ", ".join(missing_reasons))
    limit = _value("max_chars_examined", "int", doc.get("max_chars_examined"))
    assert isinstance(limit, int)
    return SafetyConfig(limit, MappingProxyType(sections), MappingProxyType(reasons))


def _extended(base: SafetyConfig, doc: Mapping[str, object]) -> SafetyConfig:
    values = {name: dict(section.values) for name, section in base.sections.items()}
    removals = doc.get("remove", {})
    if not isinstance(removals, dict):
        raise _fail("remove", "must be an object")
    for name, raw in removals.items():
        if name not in SCHEMA:
            raise _fail(f"remove.{name}", "is not a known section")
        if not isinstance(raw, dict):
            raise _fail(f"remove.{name}", "must be an object")
        for key, drop_raw in raw.items():
            kind = SCHEMA[name].get(key)
            if kind not in ("list", "map"):
                raise _fail(f"remove.{name}.{key}", "must name a list or a map")
            dropped = _value(f"remove.{name}.{key}", "list", drop_raw)
            assert isinstance(dropped, tuple)
            drop = set(dropped)
            current = values[name][key]
            if isinstance(current, tuple):
                values[name][key] = tuple(x for x in current if x not in drop)
            else:
                assert isinstance(current, Mapping)
                values[name][key] = MappingProxyType(
                    {k: v for k, v in current.items() if k not in drop})
    for name in SCHEMA:
        if name not in doc:
            continue
        for key, update in _section_updates(name, doc[name]).items():
            current = values[name][key]
            if isinstance(current, tuple) and isinstance(update, tuple):
                values[name][key] = tuple(dict.fromkeys((*current, *update)))
            elif isinstance(current, Mapping) and isinstance(update, Mapping):
                values[name][key] = MappingProxyType({**current, **update})
            else:
                values[name][key] = update
    limit = base.max_chars_examined
    if "max_chars_examined" in doc:
        raw = _value("max_chars_examined", "int", doc["max_chars_examined"])
        assert isinstance(raw, int)
        limit = raw
    reasons = {**base.reasons, **_reasons(doc.get("reasons", {}))}
    return SafetyConfig(
        limit,
        MappingProxyType({name: Section(name, MappingProxyType(v))
                          for name, v in values.items()}),
        MappingProxyType(reasons))
