"""Invisible fingerprints for exported logs, so a leaked copy tells which export it
came from.

A fingerprint is a short token (an export id and a check value) written in zero-width
characters, which text editors, chat boxes and most web pages copy along with the
visible text but do not show. It is placed after the first word of every line and
every eight words after that, so a copy of any single line, or of a phrase from a long
one, still carries it. Message text can never contain these
characters (domain.text refuses invisible formatting characters), so a participant
cannot plant a fake one. What defeats it: retyping, screenshots and OCR, and tools
that strip invisible characters (docs/safety.md)."""

from __future__ import annotations

import re

MARK = "\u2063"  # INVISIBLE SEPARATOR: starts a fingerprint
ALPHABET = "\u200b\u200c\u2060\u2064"  # ZERO WIDTH SPACE, ZWNJ, WORD JOINER, INVISIBLE PLUS
TOKEN_BYTES = 12
_SYMBOLS = TOKEN_BYTES * 4  # two bits per symbol
_FIND = re.compile(MARK + "([" + ALPHABET + f"]{{{_SYMBOLS}}})")


def encode(token: bytes) -> str:
    if len(token) != TOKEN_BYTES:
        raise ValueError(f"a fingerprint token is {TOKEN_BYTES} bytes")
    out = [MARK]
    for byte in token:
        out.extend(ALPHABET[(byte >> shift) & 3] for shift in (6, 4, 2, 0))
    return "".join(out)


def decode(symbols: str) -> bytes:
    values = [ALPHABET.index(s) for s in symbols]
    return bytes((values[i] << 6) | (values[i + 1] << 4) | (values[i + 2] << 2)
                 | values[i + 3] for i in range(0, len(values), 4))


EVERY = 8  # words between marks, so a phrase copied from a long line still carries one


def mark_line(line: str, token: bytes) -> str:
    """The line with the fingerprint after its first word and after every EVERY words
    from there (or at its end, for a line of one word)."""
    stamp = encode(token)
    words = line.split(" ")
    if len(words) == 1:
        return line + stamp
    return " ".join(w + stamp if i % EVERY == 0 else w for i, w in enumerate(words))


def find(text: str) -> list[bytes]:
    """Every distinct token in ``text``, in order of first appearance."""
    seen: dict[bytes, None] = {}
    for match in _FIND.finditer(text):
        seen.setdefault(decode(match.group(1)), None)
    return list(seen)
