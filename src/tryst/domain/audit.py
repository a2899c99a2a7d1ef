"""The audit trail: an append-only, hash-chained record of every moderation action and
every safety decision that restricted someone or refused an upload.

Each entry's hash covers its own fields and the previous entry's hash, so changing,
removing or reordering any entry breaks every hash after it; ``verify`` finds the
first entry where the chain no longer holds. (Someone able to rewrite the whole table
can rebuild the chain; keep copies of ``tryst audit verify`` output, or export the head
hash elsewhere, to catch that too.)"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

GENESIS = "0" * 64  # the "previous hash" of the first entry


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str  # "system:safety", "system:images", or "account:<id>" of a moderator
    action: str  # restrict, lift, image_blocked, ...
    subject_account: str | None
    subject_persona: str | None
    reason: str
    details: dict[str, object] = field(default_factory=dict)
    seq: int = 0  # assigned when appended
    prev_hash: str = GENESIS
    hash: str = ""


def entry_hash(entry: AuditEntry, prev_hash: str, seq: int) -> str:
    """SHA-256 over the entry's canonical JSON (sorted keys, no spaces) and the chain."""
    body = json.dumps({
        "seq": seq, "at": entry.at.isoformat(), "actor": entry.actor,
        "action": entry.action, "subject_account": entry.subject_account,
        "subject_persona": entry.subject_persona, "reason": entry.reason,
        "details": entry.details, "prev": prev_hash,
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Verification:
    entries: int
    ok: bool
    first_bad: int | None = None  # seq of the first entry that does not verify
    problem: str = ""
    head: str = GENESIS  # the last good hash


def verify(entries: Iterable[AuditEntry]) -> Verification:
    """Check the chain from the first entry on, in seq order."""
    prev, expected_seq, count = GENESIS, 1, 0
    for entry in entries:
        count += 1
        if entry.seq != expected_seq:
            return Verification(count, False, entry.seq,
                                f"entry {expected_seq} is missing (found {entry.seq})", prev)
        if entry.prev_hash != prev:
            return Verification(count, False, entry.seq,
                                "its link to the previous entry is broken", prev)
        if entry_hash(entry, prev, entry.seq) != entry.hash:
            return Verification(count, False, entry.seq,
                                "its content does not match its hash (altered)", prev)
        prev, expected_seq = entry.hash, expected_seq + 1
    return Verification(count, True, head=prev)
