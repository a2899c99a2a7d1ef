"""PDQ hashing and the hash-bank matcher: bit order, robustness to re-sharing edits,
and exactness of the index against brute force."""

from __future__ import annotations

import io
import threading

import numpy as np
import pdqhash.bindings
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageOps

from tryst.media import pdq
from tryst.media.matcher import BankMatcher
from tryst.media.pdq import MATCH_THRESHOLD, PdqIndex
from tryst.ports import PdqMatcher

# ---------------------------------------------------------------- bit order

# From facebook/ThreatExchange: python-threatexchange/threatexchange/signal_type/tests/
# test_hash_rotation.py and pdq/python/pdqhashing/tests/hash256_test.py (128 bits set).
TE_ROTATION_SAMPLE = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
TE_HASH256_SAMPLE = "9c151c3af838278e3ef57c180c7d031c07aefd12f2ccc1e18f2a1e1c7d0ff163"


def threatexchange_hex(bits: NDArray[np.integer]) -> str:
    """python-threatexchange's pdq_hasher._pdq_from_numpy_array, verbatim in effect."""
    bin_str = "".join(str(x) for x in bits)
    return ("%0*X" % ((len(bin_str) + 3) // 4, int(bin_str, 2))).lower()  # noqa: UP031 (theirs)


def test_hex_matches_threatexchange_known_vectors() -> None:
    digest = pdq.from_hex(TE_ROTATION_SAMPLE)
    bits = pdq.unpack_bits(digest)
    assert bits[:8].tolist() == [1, 1, 1, 1, 1, 0, 0, 0]  # 0xf8: first bit is the top bit
    assert threatexchange_hex(bits) == TE_ROTATION_SAMPLE
    assert pdq.to_hex(pdq.pack_bits(bits)) == TE_ROTATION_SAMPLE
    assert int(pdq.unpack_bits(pdq.from_hex(TE_HASH256_SAMPLE)).sum()) == 128
    assert pdq.from_hex(TE_ROTATION_SAMPLE.upper()) == digest  # exports may be upper case


def test_hex_matches_the_reference_cpp_format_of_pdqhash_words() -> None:
    # pdqhash turns the C++ Hash256 words into its bit vector with this function; the C++
    # Hash256::format() prints w[15] first down to w[0], four hex digits each.
    rng = np.random.default_rng(7)
    for _ in range(20):
        words = [int(w) for w in rng.integers(0, 1 << 16, 16)]
        bits = pdqhash.bindings.hash_to_vector(words)
        expected = "".join(f"{words[i]:04x}" for i in reversed(range(16)))
        assert pdq.to_hex(pdq.pack_bits(bits)) == expected == threatexchange_hex(bits)


@given(st.binary(min_size=32, max_size=32))
def test_packed_bits_and_hex_round_trip(digest: bytes) -> None:
    assert pdq.pack_bits(pdq.unpack_bits(digest)) == digest
    assert pdq.from_hex(pdq.to_hex(digest)) == digest
    assert pdq.to_hex(digest) == threatexchange_hex(pdq.unpack_bits(digest))


def test_malformed_hashes_are_refused() -> None:
    with pytest.raises(ValueError):
        pdq.from_hex("abc")
    with pytest.raises(ValueError):
        pdq.from_hex("g" * 64)
    with pytest.raises(ValueError):
        pdq.to_hex(b"\x00" * 31)
    with pytest.raises(ValueError):
        PdqIndex().search(np.zeros((1, 31), dtype=np.uint8))
    with pytest.raises(ValueError):
        PdqIndex().add(np.zeros((2, 32), dtype=np.uint8), np.arange(3))


# ---------------------------------------------------------------- images


def card(seed: int, size: tuple[int, int] = (900, 600)) -> Image.Image:
    """A drawn test card: a gradient sky, hills, shapes and a line of text."""
    rng = np.random.default_rng(seed)
    w, h = size
    sky = np.linspace(rng.integers(80, 200, 3), rng.integers(150, 256, 3), h).astype(np.uint8)
    image = Image.fromarray(np.repeat(sky[:, None, :], w, axis=1), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = int(rng.integers(0, w - 50)), int(rng.integers(0, h - 50))
        box = [x, y, x + int(rng.integers(40, w // 3)), y + int(rng.integers(40, h // 3))]
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    draw.polygon([(0, h), (w // 3, h // 2), (2 * w // 3, h), (w, h * 2 // 3), (w, h)],
                 fill=(40, 110, 60))
    draw.text((w // 10, h // 10), f"Tryst test card {seed}", fill=(0, 0, 0))
    return image


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def bank_of(*images: Image.Image) -> PdqIndex:
    index = PdqIndex()
    hashes = [pdq.hash_image(image) for image in images]
    assert all(h.usable for h in hashes)
    index.add(pdq.as_codes([h.digest for h in hashes]), np.arange(len(hashes)))
    return index


def upload_codes(image: Image.Image) -> NDArray[np.uint8]:
    return pdq.as_codes([h.digest for h in pdq.hash_image_dihedral(image)])


ORIGINAL = card(1)
EDITS = {
    "resized": lambda im: im.resize((im.width * 3 // 5, im.height * 3 // 5)),
    "jpeg quality 30": lambda im: jpeg(im, 30),
    "greyscale": lambda im: im.convert("L"),
    "mirrored": ImageOps.mirror,
    "rotated 90": lambda im: im.rotate(90, expand=True),
    "rotated 270 and upside down": lambda im: ImageOps.flip(im.rotate(270, expand=True)),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edited_copy_matches_the_bank_entry(edit: str) -> None:
    bank = bank_of(ORIGINAL)
    match = bank.best_match(upload_codes(EDITS[edit](ORIGINAL)))
    assert match is not None and match.id == 0
    assert match.distance <= MATCH_THRESHOLD


def test_a_mirrored_copy_is_found_only_through_its_dihedral_hashes() -> None:
    mirrored = pdq.hash_image(ImageOps.mirror(ORIGINAL))
    assert bank_of(ORIGINAL).best_match(pdq.as_codes([mirrored.digest])) is None


def test_a_different_image_does_not_match() -> None:
    bank = bank_of(ORIGINAL, card(3))
    assert bank.search(upload_codes(card(2))) == []


def test_dihedral_hashes_identity_first_one_quality() -> None:
    hashes = pdq.hash_image_dihedral(ORIGINAL)
    assert len(hashes) == 8 == len(pdq.DIHEDRAL_NAMES)
    assert hashes[0] == pdq.hash_image(ORIGINAL)
    assert len({h.quality for h in hashes}) == 1
    texts, quality = pdq.dihedral_hex(ORIGINAL)
    assert texts == [h.hex() for h in hashes] and quality == hashes[0].quality


def test_large_images_are_downscaled_before_hashing_and_still_agree() -> None:
    big = card(4, (2000, 1400))
    small = big.resize((512, 358), Image.Resampling.BILINEAR)
    assert pdq.hash_image(big) == pdq.hash_image(small)
    # and within a few bits of hashing every pixel, as an external bank would
    full = pdq.pack_bits(pdqhash.compute(np.asarray(big))[0])
    assert pdq.distance(full, pdq.hash_image(big).digest) <= 12


def test_a_flat_image_has_low_quality() -> None:
    flat = pdq.hash_image(Image.new("RGB", (300, 300), (128, 128, 128)))
    assert not flat.usable
    assert pdq.hash_image(Image.new("RGBA", (1, 1))).quality == 0  # tiny images are fine


# ---------------------------------------------------------------- the index


def random_codes(rng: np.random.Generator, n: int) -> NDArray[np.uint8]:
    return rng.integers(0, 256, (n, 32), dtype=np.uint8)


def flip(code: NDArray[np.uint8], bits: list[int]) -> NDArray[np.uint8]:
    out = code.copy()
    for b in bits:
        out[b // 8] ^= 0x80 >> (b % 8)
    return out


def brute_force(codes: NDArray[np.uint8], ids: NDArray[np.int64], queries: NDArray[np.uint8],
                threshold: int) -> set[tuple[int, int, int]]:
    found: dict[tuple[int, int], int] = {}
    for qi, q in enumerate(queries):
        dist = np.unpackbits(codes ^ q, axis=1).sum(axis=1)
        for row in np.flatnonzero(dist <= threshold):
            key = (qi, int(ids[row]))
            found[key] = min(found.get(key, 999), int(dist[row]))
    return {(q, i, d) for (q, i), d in found.items()}


def as_set(index: PdqIndex, queries: NDArray[np.uint8], threshold: int = MATCH_THRESHOLD,
           ) -> set[tuple[int, int, int]]:
    return {(m.query, m.id, m.distance) for m in index.search(queries, threshold)}


def split_index(codes: NDArray[np.uint8], ids: NDArray[np.int64], delta_limit: int) -> PdqIndex:
    """Half the entries in the tables, the rest (up to delta_limit) in the recent segment."""
    index = PdqIndex(delta_limit=delta_limit)
    half = len(ids) // 2
    index.add(codes[:half], ids[:half])
    index.add(codes[half:], ids[half:])
    return index


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 200),
       delta_limit=st.sampled_from([0, 16, 4096]),
       flips_per_slice=st.lists(st.sets(st.integers(0, 15), max_size=3), min_size=16,
                                max_size=16))
def test_near_copies_are_found_exactly_up_to_31_bits(
        seed: int, size: int, delta_limit: int, flips_per_slice: list[set[int]]) -> None:
    # Flips are drawn per 16-bit slice, so hypothesis reaches the pigeonhole edge cases
    # (two flips in 15 slices and one in the last) the tables rely on.
    rng = np.random.default_rng(seed)
    codes = random_codes(rng, size)
    ids = rng.permutation(10 * size)[:size].astype(np.int64)
    index = split_index(codes, ids, delta_limit)
    target = int(rng.integers(size))
    bits = [16 * c + b for c, chosen in enumerate(flips_per_slice) for b in chosen]
    query = flip(codes[target], bits)[None, :]
    found = as_set(index, query)
    assert ((0, int(ids[target]), len(bits)) in found) == (len(bits) <= MATCH_THRESHOLD)
    assert found == brute_force(codes, ids, query, MATCH_THRESHOLD)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), threshold=st.integers(0, 80),
       delta_limit=st.sampled_from([0, 16]))
def test_any_threshold_agrees_with_brute_force(seed: int, threshold: int,
                                               delta_limit: int) -> None:
    rng = np.random.default_rng(seed)
    base = random_codes(rng, 40)
    # Clusters of near neighbours, so there is something to find at every threshold.
    codes = np.concatenate([base] + [np.stack([flip(c, list(rng.choice(256, int(k),
                                                                          replace=False)))
                                               for c in base])
                                     for k in rng.integers(0, 70, 3)])
    ids = np.arange(len(codes), dtype=np.int64) // 2  # ids repeat: one result per id
    index = split_index(codes, ids, delta_limit)
    queries = np.stack([flip(c, list(rng.choice(256, 10, replace=False))) for c in base[:8]])
    assert as_set(index, queries, threshold) == brute_force(codes, ids, queries, threshold)


def test_the_pigeonhole_edge() -> None:
    rng = np.random.default_rng(5)
    codes = random_codes(rng, 1000)
    index = PdqIndex(delta_limit=0)
    index.add(codes, np.arange(1000))
    edge31 = [16 * c + b for c in range(16) for b in ((0, 9) if c else (3,))]
    edge32 = [16 * c + b for c in range(16) for b in (1, 14)]
    found = index.search(np.stack([flip(codes[7], edge31), flip(codes[7], edge32)]))
    assert [(m.query, m.id, m.distance) for m in found] == [(0, 7, 31)]
    assert index.search(codes[7:8], threshold=0)[0].id == 7


def test_best_match_is_the_nearest_and_results_come_nearest_first() -> None:
    rng = np.random.default_rng(11)
    codes = random_codes(rng, 100)
    index = PdqIndex(delta_limit=10)
    index.add(codes, np.arange(100))
    queries = np.stack([flip(codes[3], list(range(20))), flip(codes[50], list(range(5)))])
    assert [(m.query, m.id, m.distance) for m in index.search(queries)] == [(1, 50, 5),
                                                                             (0, 3, 20)]
    best = index.best_match(queries)
    assert best is not None and best.id == 50


@pytest.mark.parametrize("delta_limit", [0, 8, 4096])
def test_removed_entries_are_no_longer_found(delta_limit: int) -> None:
    rng = np.random.default_rng(2)
    codes = random_codes(rng, 100)
    ids = np.arange(100, dtype=np.int64)
    index = split_index(codes, ids, delta_limit)
    assert index.remove([5, 80]) == 2  # one in each segment
    assert len(index) == 98
    assert {m.id for m in index.search(codes)} == set(range(100)) - {5, 80}
    assert index.remove([5, 1234]) == 0  # already gone, never there
    assert index.remove(list(range(10, 50))) == 40  # past a quarter dead: compacted
    assert len(index) == 58
    assert {m.id for m in index.search(codes)} == set(range(100)) - {5, 80} - set(range(10, 50))
    index.add(codes[5:6], np.array([5]))
    assert [m.id for m in index.search(codes[5:6])] == [5]
    assert index.remove(np.arange(100)) == 59
    assert len(index) == 0 and index.search(codes) == []


def test_empty_and_tiny_indexes() -> None:
    index = PdqIndex()
    probe = random_codes(np.random.default_rng(0), 3)
    assert len(index) == 0 and index.search(probe) == [] and index.best_match(probe) is None
    assert index.memory_bytes() < 1024
    assert index.remove([1]) == 0
    assert index.search(np.zeros((0, 32), dtype=np.uint8)) == []
    index.add(probe[:1], np.array([42]))
    assert len(index) == 1
    assert [(m.query, m.id, m.distance) for m in index.search(probe)] == [(0, 42, 0)]
    index.add(np.zeros((0, 32), dtype=np.uint8), np.zeros(0, dtype=np.int64))
    assert len(index) == 1


def test_searches_see_every_earlier_entry_while_another_thread_adds() -> None:
    rng = np.random.default_rng(9)
    codes = random_codes(rng, 3000)
    index = PdqIndex(delta_limit=50)  # rebuilds often while the reader runs
    index.add(codes[:1], np.array([0]))
    stop = threading.Event()
    misses: list[int] = []
    searches = 0

    def reader() -> None:
        nonlocal searches
        while not stop.is_set():
            if index.best_match(codes[:1]) is None:
                misses.append(searches)
            searches += 1

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for start in range(1, 3000, 25):
            end = min(start + 25, 3000)
            index.add(codes[start:end], np.arange(start, end))
    finally:
        stop.set()
        thread.join()
    assert misses == [] and searches > 0
    assert len(index) == 3000
    assert {m.id for m in index.search(codes[::100])} == set(range(0, 3000, 100))


def test_a_bank_of_near_identical_hashes_is_still_searched_exactly() -> None:
    # Every entry lands in the same buckets: the index falls back to a full scan rather
    # than reading each entry 16 times.
    rng = np.random.default_rng(4)
    one = random_codes(rng, 1)[0]
    codes = np.stack([flip(one, [int(b)]) for b in rng.integers(0, 256, 300)] + [one])
    ids = np.arange(len(codes), dtype=np.int64)
    index = PdqIndex(delta_limit=0)
    index.add(codes, ids)
    queries = np.stack([one, flip(one, list(range(0, 256, 9)))])
    assert as_set(index, queries) == brute_force(codes, ids, queries, MATCH_THRESHOLD)
    assert len(index.search(queries)) == 2 * len(codes)


def test_the_bank_matcher_speaks_hex_for_the_service() -> None:
    matcher: PdqMatcher = BankMatcher()
    rng = np.random.default_rng(8)
    codes = random_codes(rng, 5000)  # past the recent segment: the tables are used too
    matcher.add([(100 + i, bytes(c).hex()) for i, c in enumerate(codes)])
    assert len(matcher) == 5000 and matcher.memory_bytes() > 0
    upload = [bytes(random_codes(rng, 1)[0]).hex(), bytes(flip(codes[3], [1, 2, 3])).hex()]
    assert matcher.best(upload, MATCH_THRESHOLD) == (103, 3)
    assert matcher.best(upload, 2) is None
    assert matcher.best([], MATCH_THRESHOLD) is None
    matcher.replace([(7, bytes(codes[3]).hex())])
    assert len(matcher) == 1 and matcher.best(upload, MATCH_THRESHOLD) == (7, 3)
    matcher.replace([])
    assert len(matcher) == 0 and matcher.best(upload, MATCH_THRESHOLD) is None
