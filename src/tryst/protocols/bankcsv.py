"""Hash lists as exchanged by ThreatExchange tools and Hasher-Matcher-Actioner (HMA).

There is no single standard; what they share is a 64-hex-digit hash first on the line.
Read (sans-I/O: lines in, rows out):

- ``threatexchange dataset --csv``: a header naming ``signal_type`` and ``signal_str``
  (in either column order), then ``pdq,<hash>,...`` rows. Found by header name.
- HMA 1.0 data files and samples: no header, ``<hash>,<id>,<timestamp>,<tags>``.
- pdq-photo-hasher output: no header, ``<hash>,<quality>,<filename>``.
- ``pdq <hash>`` lines (LocalFileSignalExchangeAPI, ``threatexchange hash``), and one
  bare hash per line.

A second column of 1-3 digits (0-100) is a PDQ quality; longer numbers are ThreatExchange
ids. Written: the ``threatexchange dataset --csv`` layout (with a header), which both the
ThreatExchange CLI and this reader take back, or bare hashes one per line."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_QUALITY = re.compile(r"^\d{1,3}$")
_TAGGED_QUALITY = re.compile(r"(?:^|\s)quality:(\d{1,3})(?:\s|$)")
HEADER_HASH_COLUMNS = ("signal_str", "hash", "td_raw_indicator", "Hash")
HEADER_TYPE_COLUMNS = ("signal_type", "td_indicator_type")
_TYPES = {"pdq": "pdq", "hash_pdq": "pdq", "photo_pdq": "pdq", "sha256": "sha256",
          "hash_sha256": "sha256"}
TE_HEADER = ("signal_type", "signal_str", "collab", "category", "tags")


@dataclass(frozen=True, slots=True)
class ListRow:
    line: int
    signal: str  # "pdq" or "sha256"
    value: str  # lowercase hex
    quality: int | None
    note: str


class ListError(ValueError):
    """A line that is not a hash row; ``line`` is 1-based."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line


def _split(text: str) -> list[str]:
    if "," in text:
        return next(csv.reader([text]))
    return text.split()


def read_rows(lines: Iterable[str], default_signal: str = "pdq") -> Iterator[ListRow]:
    """Parse a hash list. Blank lines are skipped; a first line whose first field is not a
    hash is a header (and names the hash column); any later bad line raises ListError."""
    columns: dict[str, int] | None = None
    first = True
    for number, raw in enumerate(lines, start=1):
        text = raw.strip().lstrip("\ufeff")
        if not text:
            continue
        fields = [f.strip() for f in _split(text)]
        if first:
            first = False
            if not _has_hash(fields):  # a header: it names the columns
                columns = {name: i for i, name in enumerate(fields)}
                if not any(c in columns for c in HEADER_HASH_COLUMNS):
                    raise ListError(number, "the header names no hash column (expected "
                                    "signal_str, hash or td_raw_indicator)")
                continue
        yield _row(number, fields, columns, default_signal)


def _has_hash(fields: list[str]) -> bool:
    first = fields[0].removeprefix("hash=") if fields else ""
    return bool(_HEX64.match(first)) or (
        len(fields) >= 2 and fields[0].lower() in _TYPES and bool(_HEX64.match(fields[1])))


def _row(number: int, fields: list[str], columns: dict[str, int] | None,
         default_signal: str) -> ListRow:
    signal = default_signal
    quality: int | None = None
    if columns is not None:
        hash_col = next(columns[c] for c in HEADER_HASH_COLUMNS if c in columns)
        type_col = next((columns[c] for c in HEADER_TYPE_COLUMNS if c in columns), None)
        if hash_col >= len(fields):
            raise ListError(number, "the row has no hash column")
        value = fields[hash_col]
        if type_col is not None and type_col < len(fields):
            kind = fields[type_col].lower()
            if kind not in _TYPES:
                raise ListError(number, f"unsupported signal type {fields[type_col]!r}")
            signal = _TYPES[kind]
        if "quality" in columns and columns["quality"] < len(fields) \
                and fields[columns["quality"]]:
            quality = _quality(number, fields[columns["quality"]])
        elif "tags" in columns and columns["tags"] < len(fields):
            tagged = _TAGGED_QUALITY.search(fields[columns["tags"]])
            if tagged:  # what write_te_csv puts there
                quality = _quality(number, tagged.group(1))
        rest = [f for i, f in enumerate(fields) if i not in (hash_col, type_col)]
    else:
        if fields[0].lower() in _TYPES and len(fields) >= 2:
            signal = _TYPES[fields[0].lower()]
            fields = fields[1:]
        value = fields[0].removeprefix("hash=")
        rest = fields[1:]
        if rest and _QUALITY.match(rest[0]):
            quality = _quality(number, rest[0])
            rest = rest[1:]
    if not _HEX64.match(value):
        raise ListError(number, "expected a 64-hex-digit hash")
    if signal != "pdq":
        quality = None
    return ListRow(number, signal, value.lower(), quality, " ".join(r for r in rest if r)[:200])


def _quality(number: int, text: str) -> int:
    quality = int(text)
    if not 0 <= quality <= 100:
        raise ListError(number, f"quality {quality} is not between 0 and 100")
    return quality


def write_te_csv(rows: Iterable[tuple[str, str, int | None, str]], collab: str
                 ) -> Iterator[str]:
    """The ``threatexchange dataset --csv`` layout, one string per line. The PDQ quality
    goes in the tags as ``quality:NN`` (that layout has no column for it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TE_HEADER)
    yield out.getvalue()
    for signal, value, quality, note in rows:
        out.seek(0)
        out.truncate()
        tags = " ".join(t for t in (f"quality:{quality}" if quality is not None else "",
                                    note.replace(",", " ")) if t)
        writer.writerow((signal, value, collab, "", tags))
        yield out.getvalue()
