"""Reading and writing hash lists in the layouts ThreatExchange tools and HMA use."""

from __future__ import annotations

import pytest

from tryst.protocols.bankcsv import ListError, read_rows, write_te_csv

H1, H2 = "ab" * 32, "CD" * 32


def test_layouts_without_a_header() -> None:
    lines = [
        "\ufeff" + f"{H1},2880742865368386,2020-07-31T18:47:52+0000,media_priority_samples",
        "",
        f"pdq {H2}",
        f"hash={H1},77,photo.jpg",
        H2,
        f"sha256 {H1}",
    ]
    rows = list(read_rows(lines))
    assert [(r.line, r.signal, r.value, r.quality) for r in rows] == [
        (1, "pdq", H1, None),  # a ThreatExchange id is not a quality
        (3, "pdq", H2.lower(), None),
        (4, "pdq", H1, 77),
        (5, "pdq", H2.lower(), None),
        (6, "sha256", H1, None),
    ]
    assert rows[0].note.startswith("2880742865368386")


def test_headers_name_the_columns() -> None:
    te = ["signal_type,signal_str,collab,category,tags", f"pdq,{H1},Samples,SEED,quality:88 x"]
    (row,) = read_rows(te)
    assert (row.signal, row.value, row.quality) == ("pdq", H1, 88)
    legacy = ["td_indicator_type,td_raw_indicator", f"HASH_PDQ,{H2}"]
    assert next(read_rows(legacy)).value == H2.lower()
    with pytest.raises(ListError, match="line 1: the header names no hash column"):
        list(read_rows(["name,colour", "a,b"]))
    with pytest.raises(ListError, match="unsupported signal type"):
        list(read_rows(["signal_type,signal_str", f"md5,{H1}"]))


def test_bad_lines_are_named() -> None:
    with pytest.raises(ListError, match="line 2: expected a 64-hex-digit hash"):
        list(read_rows([H1, "abc"]))
    with pytest.raises(ListError, match="line 2: quality 300"):
        list(read_rows([H1, f"{H1},300,x.jpg"]))


def test_what_is_written_reads_back() -> None:
    rows = [("pdq", H1, 91, "from a report"), ("sha256", H2.lower(), None, "")]
    text = "".join(write_te_csv(rows, collab="bank"))
    back = list(read_rows(text.splitlines()))
    assert [(r.signal, r.value, r.quality) for r in back] == [
        ("pdq", H1, 91), ("sha256", H2.lower(), None)]
