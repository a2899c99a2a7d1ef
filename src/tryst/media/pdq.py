"""PDQ perceptual hashes of images, and an exact matcher for hash banks.

A hash bank is a list of PDQ hashes of images that must not be shared again (from
ThreatExchange, Hasher-Matcher-Actioner exports or the server's own moderators). An
upload is refused when any of its eight dihedral hashes is within Hamming distance 31 of
a bank entry; hashes of quality below 50 are too unreliable to judge (ThreatExchange's
constants).

Bit order: a hash is 256 bits; we keep it as 32 bytes whose hex form is the one
ThreatExchange and HMA export. python-threatexchange's ``pdq_hasher`` joins the bit
vector from ``pdqhash.compute`` into a binary string, first element most significant,
and prints it as 64 hex digits. ``np.packbits`` (big-endian bit order) followed by
``bytes.hex()`` is exactly that, and equals the reference C++ ``Hash256::format()``
(words w[15] down to w[0]), since pdqhash's vector lists bit 255 (w[15]'s top bit) first.

Everything here is synchronous and CPU-bound: callers run it in a worker.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pdqhash
from numpy.typing import NDArray
from PIL import Image

HASH_BITS = 256
HASH_BYTES = 32
HEX_LENGTH = 64
MATCH_THRESHOLD = 31  # ThreatExchange's PDQ_CONFIDENT_MATCH_THRESHOLD
MIN_QUALITY = 50  # below this, PDQ itself says the hash is not worth matching
MAX_SIDE = 512  # pdqhash costs ~5 ms at 512 px but ~34 ms at 1600x1004; PDQ reads 64x64

DIHEDRAL_NAMES = ("original", "rotate90", "rotate180", "rotate270",
                  "flip_x", "flip_y", "flip_plus1", "flip_minus1")
"""The order of ``pdqhash.compute_dihedral``'s (and so our) eight hashes: identity first."""

Codes = NDArray[np.uint8]
"""Hashes as a C-contiguous (n, 32) uint8 array, one packed hash per row."""


# ---------------------------------------------------------------- representations


def pack_bits(bits: NDArray[np.integer]) -> bytes:
    """pdqhash's 256-element 0/1 vector to 32 bytes, first element most significant."""
    if bits.shape != (HASH_BITS,):
        raise ValueError(f"a PDQ hash has {HASH_BITS} bits, not shape {bits.shape}")
    return np.packbits(bits.astype(np.uint8)).tobytes()


def unpack_bits(digest: bytes) -> NDArray[np.uint8]:
    """32 bytes to the 256-element 0/1 vector that ``pack_bits`` took."""
    _check_digest(digest)
    return np.unpackbits(np.frombuffer(digest, dtype=np.uint8))


def to_hex(digest: bytes) -> str:
    """32 bytes to the 64 lowercase hex digits ThreatExchange and HMA use."""
    _check_digest(digest)
    return digest.hex()


def from_hex(text: str) -> bytes:
    """64 hex digits (either case, as exported by ThreatExchange or HMA) to 32 bytes."""
    if len(text) != HEX_LENGTH:
        raise ValueError(f"a PDQ hash is {HEX_LENGTH} hex digits, not {len(text)}")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ValueError("a PDQ hash is made of hex digits only") from None


def distance(a: bytes, b: bytes) -> int:
    """Hamming distance between two packed hashes."""
    _check_digest(a)
    _check_digest(b)
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def as_codes(digests: Sequence[bytes]) -> Codes:
    """Packed hashes to the (n, 32) array that ``PdqIndex`` takes."""
    for digest in digests:
        _check_digest(digest)
    return np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(len(digests), HASH_BYTES)


def _check_digest(digest: bytes) -> None:
    if len(digest) != HASH_BYTES:
        raise ValueError(f"a packed PDQ hash is {HASH_BYTES} bytes, not {len(digest)}")


@dataclass(frozen=True, slots=True)
class PdqHash:
    """One PDQ hash of an image and the quality PDQ gave it (0-100)."""

    digest: bytes  # 32 bytes, see the module docstring for the bit order
    quality: int

    @classmethod
    def from_hex(cls, text: str, quality: int = 100) -> PdqHash:
        return cls(from_hex(text), quality)

    def hex(self) -> str:
        return to_hex(self.digest)

    @property
    def usable(self) -> bool:
        """Good enough to match on: a featureless image hashes to noise."""
        return self.quality >= MIN_QUALITY


# ---------------------------------------------------------------- hashing images


def _rgb_array(image: Image.Image) -> NDArray[np.uint8]:
    """Downscale to at most MAX_SIDE on the long side (PDQ shrinks to 64x64 anyway, so
    this moves a hash by a few bits at most) and give pdqhash the RGB array it wants.
    Alpha is dropped without compositing, as python-threatexchange does, so a bank
    hash made there and one made here agree."""
    if max(image.size) > MAX_SIDE:
        scale = MAX_SIDE / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def hash_image(image: Image.Image) -> PdqHash:
    """The PDQ hash of the image as it is (no rotation or mirroring)."""
    bits, quality = pdqhash.compute(_rgb_array(image))
    return PdqHash(pack_bits(bits), int(quality))


def hash_image_dihedral(image: Image.Image) -> list[PdqHash]:
    """The eight hashes of the image turned and mirrored every way (``DIHEDRAL_NAMES``
    order, identity first), all of one quality. Mirroring or rotating moves a PDQ hash by
    about 125 bits, so a bank check compares all eight; PDQ makes them from one DCT for
    little more than the cost of one hash."""
    variants, quality = pdqhash.compute_dihedral(_rgb_array(image))
    return [PdqHash(pack_bits(bits), int(quality)) for bits in variants]


def dihedral_hex(image: Image.Image) -> tuple[list[str], int]:
    """``hash_image_dihedral`` as hex strings and the quality, the form stored with an
    upload."""
    hashes = hash_image_dihedral(image)
    return [h.hex() for h in hashes], hashes[0].quality


# ---------------------------------------------------------------- matching


@dataclass(frozen=True, slots=True)
class PdqMatch:
    """Query ``query`` (its row in the searched array) is ``distance`` bits from the bank
    entry ``id``."""

    query: int
    id: int
    distance: int


_CHUNKS = 16  # 16 tables keyed by 16-bit slices: 65,536 buckets, ~15 entries each at 1M
_KEYS = 1 << 16
_MAX_FLIPS = 2  # probing radius 2 per table: exact up to threshold 47; above, a full scan
_PROBES = [
    np.array([sum(1 << b for b in bits) for r in range(f + 1)
              for bits in combinations(range(16), r)], dtype=np.uint16)
    for f in range(_MAX_FLIPS + 1)
]  # the XOR masks to probe for each radius: 1, 17 and 137 keys per table


@dataclass(frozen=True, slots=True, eq=False)
class _Snapshot:
    """One immutable state of the index. Writers build a new one and publish it with a
    single assignment; readers take the current one and never need a lock.

    Entries live in two segments. ``main`` is covered by multi-index hashing tables:
    ``order[c*n : (c+1)*n]`` lists main rows sorted by their c-th 16-bit slice and
    ``bounds[c*65537 + k]`` is where key k's run starts in that flat array. ``delta``
    holds recent additions, scanned exhaustively until there are enough to rebuild."""

    main_codes: NDArray[np.uint64]  # (n, 4): the 256 bits as four words for popcount
    main_ids: NDArray[np.int64]
    alive: NDArray[np.bool_]  # False where a main entry was removed (a tombstone)
    order: NDArray[np.int32]  # (16 * n,)
    bounds: NDArray[np.int64]  # (16 * 65537,)
    delta_codes: NDArray[np.uint64]  # (d, 4)
    delta_ids: NDArray[np.int64]
    dead: int  # number of False in alive

    @property
    def live(self) -> int:
        return len(self.main_ids) - self.dead + len(self.delta_ids)


def _empty_words() -> NDArray[np.uint64]:
    return np.empty((0, 4), dtype=np.uint64)


def _build(codes: NDArray[np.uint64], ids: NDArray[np.int64]) -> _Snapshot:
    """Index ``codes`` as the main segment (a full rebuild, O(n) per table)."""
    n = len(ids)
    keys = codes.view(np.uint16)  # (n, 16): each table's key is one 16-bit slice
    order = np.empty(_CHUNKS * n, dtype=np.int32)
    bounds = np.empty(_CHUNKS * (_KEYS + 1), dtype=np.int64)
    for c in range(_CHUNKS):
        column = keys[:, c]
        # A stable sort of 16-bit keys is a radix sort in numpy: linear and fast.
        order[c * n:(c + 1) * n] = np.argsort(column, kind="stable")
        base = c * (_KEYS + 1)
        bounds[base] = c * n
        np.cumsum(np.bincount(column, minlength=_KEYS), out=bounds[base + 1:base + _KEYS + 1])
        bounds[base + 1:base + _KEYS + 1] += c * n
    return _Snapshot(codes, ids, np.ones(n, dtype=np.bool_), order, bounds,
                     _empty_words(), np.empty(0, dtype=np.int64), 0)


_EMPTY = _Snapshot(_empty_words(), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.bool_),
                   np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int64),
                   _empty_words(), np.empty(0, dtype=np.int64), 0)  # no tables: nothing in main


def _words(codes: NDArray[np.uint8]) -> NDArray[np.uint64]:
    if codes.ndim != 2 or codes.shape[1] != HASH_BYTES or codes.dtype != np.uint8:
        raise ValueError(f"hashes must be a (n, {HASH_BYTES}) uint8 array, "
                         f"not {codes.shape} {codes.dtype}")
    return np.ascontiguousarray(codes).view(np.uint64)


def _popcount(x: NDArray[np.uint64]) -> NDArray[np.int64]:
    """Bits set per row of an (m, 4) array. Adding the four columns by hand is ~10x
    faster than ``sum(axis=1)`` on such narrow rows."""
    counts = np.bitwise_count(x).astype(np.int64)
    return counts[:, 0] + counts[:, 1] + counts[:, 2] + counts[:, 3]


class PdqIndex:
    """An exact matcher: ``search`` returns every entry within the threshold, never an
    approximation. It holds millions of hashes in ~110 bytes each.

    How: multi-index hashing (Norouzi et al.), as in ThreatExchange's FAISS
    ``IndexBinaryMultiHash``. The 256 bits are cut into 16 slices of 16 bits; an entry
    within distance t of a query differs in at most t // 16 bits in at least one slice
    (pigeonhole: 16 slices each off by t // 16 + 1 or more would make t + 16 or more),
    so probing every key within that many flips of each query slice finds it. At 1M
    random hashes a query reads ~4,000 candidates instead of 1M. We implement it on
    numpy because FAISS's version was 8x slower for an upload's eight hashes and used
    3x the memory (docs/performance.md).

    Adding appends to a small exhaustively searched segment, merged into the tables
    (a rebuild: ~0.5 s at 1M) once it holds more than ``delta_limit`` entries; a large
    ``add`` rebuilds at once. Removing marks entries dead; the tables are compacted when
    a quarter are dead. An id may be added more than once; ``remove`` drops them all.

    Threads: any number of threads may ``search`` while one writes. Writers (``add``,
    ``remove``) take a lock and publish a new immutable snapshot by one assignment;
    ``search`` works on the snapshot current when it started and takes no lock, so a
    rebuild never stalls lookups. For a full bank reload, build a new ``PdqIndex`` and
    swap the reference.
    """

    def __init__(self, *, delta_limit: int = 4096) -> None:
        self._delta_limit = delta_limit
        self._write_lock = threading.Lock()
        self._snapshot = _EMPTY

    def __len__(self) -> int:
        return self._snapshot.live

    def memory_bytes(self) -> int:
        """Bytes held by the index's arrays (what grows with the bank)."""
        s = self._snapshot
        return sum(a.nbytes for a in (s.main_codes, s.main_ids, s.alive, s.order, s.bounds,
                                      s.delta_codes, s.delta_ids))

    def add(self, hashes: Codes, ids: NDArray[np.int64]) -> None:
        """Add hashes (an (n, 32) uint8 array) with one int64 id each."""
        words = _words(hashes).copy()  # our own copy: the caller may reuse its array
        ids = np.asarray(ids, dtype=np.int64).copy()
        if ids.shape != (len(words),):
            raise ValueError(f"{len(words)} hashes need {len(words)} ids, not {ids.shape}")
        with self._write_lock:
            s = self._snapshot
            delta_codes = np.concatenate([s.delta_codes, words])
            delta_ids = np.concatenate([s.delta_ids, ids])
            if len(delta_ids) > self._delta_limit:
                self._snapshot = self._rebuild(s, delta_codes, delta_ids)
            else:
                self._snapshot = _Snapshot(s.main_codes, s.main_ids, s.alive, s.order,
                                           s.bounds, delta_codes, delta_ids, s.dead)

    def remove(self, ids: NDArray[np.int64] | Sequence[int]) -> int:
        """Remove every entry with one of these ids; returns how many were removed."""
        gone = np.asarray(ids, dtype=np.int64)
        with self._write_lock:
            s = self._snapshot
            in_main = np.isin(s.main_ids, gone) & s.alive
            keep_delta = ~np.isin(s.delta_ids, gone)
            removed = int(in_main.sum()) + int(len(keep_delta) - keep_delta.sum())
            if removed == 0:
                return 0
            alive = s.alive & ~in_main  # a new array: readers keep the old one
            dead = s.dead + int(in_main.sum())
            snapshot = _Snapshot(s.main_codes, s.main_ids, alive, s.order, s.bounds,
                                 s.delta_codes[keep_delta], s.delta_ids[keep_delta], dead)
            if dead * 4 > len(s.main_ids):
                snapshot = self._rebuild(snapshot, snapshot.delta_codes, snapshot.delta_ids)
            self._snapshot = snapshot
            return removed

    @staticmethod
    def _rebuild(s: _Snapshot, delta_codes: NDArray[np.uint64],
                 delta_ids: NDArray[np.int64]) -> _Snapshot:
        """Everything alive, tables and all, as a new main segment."""
        codes = np.concatenate([s.main_codes[s.alive], delta_codes])
        ids = np.concatenate([s.main_ids[s.alive], delta_ids])
        return _build(codes, ids) if len(ids) else _EMPTY

    def search(self, queries: Codes, threshold: int = MATCH_THRESHOLD) -> list[PdqMatch]:
        """Every (query, id) pair within ``threshold`` bits, each once at its smallest
        distance, nearest first. ``queries`` is an (m, 32) uint8 array; search an
        upload's eight dihedral hashes in one call."""
        if not 0 <= threshold <= HASH_BITS:
            raise ValueError(f"threshold must be 0-{HASH_BITS}, not {threshold}")
        q = _words(queries)
        s = self._snapshot  # one read: the rest of the search sees one consistent state
        found = [self._search_delta(s, q, threshold)]
        if len(s.main_ids):
            if threshold // 16 <= _MAX_FLIPS:
                found.append(self._search_main(s, q, threshold))
            else:  # past radius 2 probing costs more than reading everything
                found.append(self._scan_main(s, q, threshold))
        qi = np.concatenate([f[0] for f in found])
        ids = np.concatenate([f[1] for f in found])
        dist = np.concatenate([f[2] for f in found])
        # Nearest first; then keep the first row of each (query, id): its best distance.
        rank = np.lexsort((ids, qi, dist))
        qi, ids, dist = qi[rank], ids[rank], dist[rank]
        seen: set[tuple[int, int]] = set()
        matches = []
        for query, entry, bits in zip(qi.tolist(), ids.tolist(), dist.tolist(), strict=True):
            if (query, entry) not in seen:
                seen.add((query, entry))
                matches.append(PdqMatch(query, entry, bits))
        return matches

    def best_match(self, queries: Codes, threshold: int = MATCH_THRESHOLD) -> PdqMatch | None:
        """The nearest entry to any of the queries within ``threshold``, or None."""
        matches = self.search(queries, threshold)
        return matches[0] if matches else None

    @staticmethod
    def _search_delta(s: _Snapshot, q: NDArray[np.uint64], threshold: int,
                      ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        # Every query against every recent entry: (m, d, 4) words, small by construction.
        counts = np.bitwise_count(q[:, None, :] ^ s.delta_codes[None, :, :]).astype(np.int64)
        dist = counts[:, :, 0] + counts[:, :, 1] + counts[:, :, 2] + counts[:, :, 3]
        qi, rows = np.nonzero(dist <= threshold)
        return qi.astype(np.int64), s.delta_ids[rows], dist[qi, rows]

    @staticmethod
    def _scan_main(s: _Snapshot, q: NDArray[np.uint64], threshold: int,
                   ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        parts = []
        for i in range(len(q)):
            dist = _popcount(s.main_codes ^ q[i])
            rows = np.flatnonzero((dist <= threshold) & s.alive)
            parts.append((np.full(len(rows), i, dtype=np.int64), s.main_ids[rows], dist[rows]))
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                np.concatenate([p[2] for p in parts]))

    @staticmethod
    def _search_main(s: _Snapshot, q: NDArray[np.uint64], threshold: int,
                     ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        masks = _PROBES[threshold // 16]
        m = len(q)
        # Every key to probe: (query, table, mask) -> flat position in ``bounds``.
        keys = (q.view(np.uint16)[:, :, None] ^ masks[None, None, :]).astype(np.int64)
        keys += (np.arange(_CHUNKS, dtype=np.int64) * (_KEYS + 1))[None, :, None]
        keys = keys.ravel()
        lo = s.bounds[keys]
        lengths = s.bounds[keys + 1] - lo
        total = int(lengths.sum())
        if total > m * len(s.main_ids):
            # Crowded buckets (a bank full of near-identical hashes) would read more
            # candidates than a full scan, and hold them all in memory: scan instead.
            return PdqIndex._scan_main(s, q, threshold)
        # Expand the runs [lo, lo + length) into one array of positions in ``order``.
        run_start = np.cumsum(lengths) - lengths
        positions = np.repeat(lo - run_start, lengths) + np.arange(total, dtype=np.int64)
        rows = s.order[positions]
        qi = np.repeat(np.arange(m, dtype=np.int64), _CHUNKS * len(masks))
        qi = np.repeat(qi, lengths)
        # np.take is much faster than fancy indexing of 2-D rows here.
        dist = _popcount(np.take(s.main_codes, rows, axis=0) ^ np.take(q, qi, axis=0))
        hit = np.flatnonzero(dist <= threshold)
        rows, qi, dist = rows[hit], qi[hit], dist[hit]
        # A match near the query shows up once per table it collides in; ``search``
        # removes the repeats. Dead entries are only filtered here, among the hits.
        live = s.alive[rows]
        return qi[live], s.main_ids[rows[live]], dist[live]

