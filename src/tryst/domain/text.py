"""Rules for user-supplied text shared by every kind of record."""

from __future__ import annotations

import unicodedata
from typing import Any

from tryst.domain.errors import InvalidInput

# Newlines and tabs are part of prose; every other control or format character is not
# and can be used to spoof or hide text (bidi overrides, zero-width joiners in names).
_ALLOWED_CONTROLS = {"\n", "\t"}


def clean_text(value: str, *, field: str, max_chars: int, allow_empty: bool = False,
               multiline: bool = True) -> str:
    """Normalise (NFC), strip surrounding space and refuse control characters and overlong text."""
    text = unicodedata.normalize("NFC", value).strip()
    for ch in text:
        cat = unicodedata.category(ch)
        if (cat == "Cc" and not (multiline and ch in _ALLOWED_CONTROLS)) or cat == "Cs":
            raise InvalidInput(f"{field} contains a control character", details={"field": field})
        if cat == "Cf" and ch not in ("\u200d",):  # ZWJ is needed by emoji sequences
            raise InvalidInput(f"{field} contains an invisible formatting character",
                               details={"field": field})
    if not text and not allow_empty:
        raise InvalidInput(f"{field} must not be empty", details={"field": field})
    if len(text) > max_chars:
        raise InvalidInput(f"{field} is longer than {max_chars} characters",
                           details={"field": field, "max_chars": max_chars})
    return text


def choice(cls: Any, value: Any, field: str) -> Any:
    """``cls(value)`` for an enum, or InvalidInput listing the allowed values."""
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise InvalidInput(f"{field} must be one of: {allowed}", details={"field": field}) \
            from None
