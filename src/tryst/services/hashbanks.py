"""Hash banks: refusing re-uploads of images their owners (or an operator's trusted
lists) asked to block, and opening a moderation case when that happens."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass

from tryst.clock import Clock
from tryst.domain.audit import AuditEntry
from tryst.domain.errors import Conflict, InvalidInput, LimitReached, NotFound
from tryst.domain.hashbanks import (
    PDQ_MAX_DISTANCE,
    PDQ_MIN_QUALITY,
    PROTECT_BANK,
    Bank,
    BankEntry,
    Case,
    Signal,
    hex64,
    validate_bank_name,
)
from tryst.domain.media import ImageBlocked, Processed
from tryst.ids import AccountId, PersonaId
from tryst.ports import PdqMatcher, UnitOfWorkFactory

log = logging.getLogger("tryst.banks")

BATCH = 5000
PROTECT_MAX_PER_REQUEST = 100


@dataclass(frozen=True, slots=True)
class Row:
    """One hash to add: from a CSV file, or from someone protecting their own image."""

    signal: Signal
    value: str
    quality: int | None = None
    note: str = ""


@dataclass(slots=True)
class ImportResult:
    added: int = 0
    duplicates: int = 0
    low_quality: int = 0  # PDQ hashes below quality 50: kept out, they would misfire

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "duplicates": self.duplicates,
                "low_quality": self.low_quality}


class HashBankService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, matcher: PdqMatcher,
                 protect_limit: int = 10_000) -> None:
        self._uow = uow
        self._clock = clock
        self._matcher = matcher
        self._protect_limit = protect_limit
        self._loaded_to = 0  # highest PDQ entry id in the matcher
        self._removals = -1  # removals seen; -1 forces the first full load
        self._refreshing = asyncio.Lock()

    # ------------------------------------------------------------ the matcher

    async def refresh(self) -> int:
        """Bring this process's PDQ index up to date with the database: new entries by
        id, or a full rebuild after a removal. Returns the index size.

        Ids are handed out at insert, not at commit (PostgreSQL), so a batch committed
        after a later id was loaded would be missed by "id above the last one"; the
        entry count catches that, and any difference means a full rebuild."""
        async with self._refreshing:
            async with self._uow(readonly=True) as uow:
                removals = await uow.hashbanks.last_removal()
            if removals == self._removals:
                new, last = await self._load_after(self._loaded_to)
                if new:  # one add: the index rebuilds its tables once, not once per page
                    await asyncio.to_thread(self._matcher.add, new)
                self._loaded_to = last
                async with self._uow(readonly=True) as uow:
                    complete = await uow.hashbanks.pdq_count() == len(self._matcher)
                if complete:
                    return len(self._matcher)
            # A fresh index, swapped in when complete: lookups never see it half-built.
            everything, last = await self._load_after(0)
            await asyncio.to_thread(self._matcher.replace, everything)
            self._removals, self._loaded_to = removals, last
            return len(self._matcher)

    async def _load_after(self, after: int) -> tuple[list[tuple[int, str]], int]:
        rows: list[tuple[int, str]] = []
        while True:
            async with self._uow(readonly=True) as uow:
                page = await uow.hashbanks.pdq_after(after, 50_000)
            if not page:
                return rows, after
            rows += page
            after = page[-1][0]

    def stats(self) -> dict[str, int]:
        return {"pdq_entries": len(self._matcher), "memory_bytes": self._matcher.memory_bytes()}

    async def check(self, processed: Processed, account_id: AccountId,
                    persona_id: PersonaId) -> None:
        """Refuse an upload that matches a bank (exact SHA-256 of the file as uploaded, or
        any of its eight PDQ rotations and flips within distance 31); open a case."""
        async with self._uow(readonly=True) as uow:
            exact = await uow.hashbanks.find_sha256([processed.upload_sha256])
        found: tuple[BankEntry, int] | None = (exact, 0) if exact else None
        if found is None and processed.pdq_quality >= PDQ_MIN_QUALITY:
            best = await asyncio.to_thread(self._matcher.best, processed.pdq, PDQ_MAX_DISTANCE)
            if best is not None:
                async with self._uow(readonly=True) as uow:
                    entry = await uow.hashbanks.entry(best[0])
                if entry is not None:  # else removed meanwhile: no longer blocked
                    found = (entry, best[1])
        if found is None:
            return
        entry, distance = found
        async with self._uow() as uow:
            await uow.cases.open(Case(
                id=f"k_{secrets.token_hex(8)}", kind="hash_match",
                created_at=self._clock.now(), account_id=account_id, persona_id=persona_id,
                summary=f"an upload matched a {entry.signal.value} hash bank entry",
                details={"bank_id": entry.bank_id, "entry_id": entry.id,
                         "signal": entry.signal.value, "distance": distance,
                         "upload_sha256": processed.upload_sha256,
                         "pdq": processed.pdq[0], "pdq_quality": processed.pdq_quality}))
            await uow.audit.append(AuditEntry(
                at=self._clock.now(), actor="system:images", action="image_blocked",
                subject_account=account_id, subject_persona=persona_id,
                reason="an upload matched a hash bank entry",
                details={"bank_id": entry.bank_id, "entry_id": entry.id,
                         "distance": distance}))
            await uow.commit()
        log.info("refused an upload matching bank entry %s (distance %d)", entry.id, distance)
        raise ImageBlocked()

    # ------------------------------------------------------------ banks

    async def create(self, name: str, description: str = "") -> Bank:
        name = validate_bank_name(name)
        async with self._uow() as uow:
            if await uow.hashbanks.get(name) is not None:
                raise Conflict(f"a bank named {name} exists", details={"field": "name"})
            bank = await uow.hashbanks.create(name, description.strip()[:2000],
                                              self._clock.now())
            await uow.commit()
        return bank

    async def _bank(self, name: str) -> Bank:
        async with self._uow(readonly=True) as uow:
            bank = await uow.hashbanks.get(validate_bank_name(name))
        if bank is None:
            raise NotFound(f"no bank named {name}")
        return bank

    async def banks(self) -> list[tuple[Bank, int]]:
        async with self._uow(readonly=True) as uow:
            return await uow.hashbanks.all_banks()

    async def delete(self, name: str) -> int:
        bank = await self._bank(name)
        async with self._uow() as uow:
            removed = await uow.hashbanks.delete(bank.id, self._clock.now())
            await uow.commit()
        await self.refresh()
        return removed

    async def add(self, name: str, rows: Iterable[Row],
                  progress: Callable[[int], None] | None = None,
                  account_id: AccountId | None = None) -> ImportResult:
        """Add rows to a bank in batches (one transaction each); duplicates of what the
        bank already holds are counted and skipped. ``progress`` gets the number of rows
        handled after each batch."""
        bank = await self._bank(name)
        result = ImportResult()
        batch: list[Row] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                await self._add_batch(bank, batch, result, account_id)
                if progress:
                    progress(len(batch))
                batch = []
        if batch:
            await self._add_batch(bank, batch, result, account_id)
            if progress:
                progress(len(batch))
        await self.refresh()
        return result

    async def _add_batch(self, bank: Bank, rows: list[Row], result: ImportResult,
                         account_id: AccountId | None) -> None:
        now = self._clock.now()
        keep: dict[tuple[Signal, str], Row] = {}
        for row in rows:
            if row.signal is Signal.PDQ and row.quality is not None \
                    and row.quality < PDQ_MIN_QUALITY:
                result.low_quality += 1
            elif (row.signal, row.value) in keep:
                result.duplicates += 1
            else:
                keep[(row.signal, row.value)] = row
        async with self._uow() as uow:
            for signal in Signal:
                values = [v for s, v in keep if s is signal]
                for value in await uow.hashbanks.existing(bank.id, signal.value, values,
                                                          account_id):
                    del keep[(signal, value)]
                    result.duplicates += 1
            result.added += await uow.hashbanks.add_entries([
                BankEntry(bank_id=bank.id, signal=r.signal, value=r.value, quality=r.quality,
                          added_at=now, account_id=account_id, note=r.note[:200])
                for r in keep.values()])
            await uow.commit()

    async def export(self, name: str) -> AsyncIterator[BankEntry]:
        bank = await self._bank(name)
        after = 0
        while True:
            async with self._uow(readonly=True) as uow:
                entries = await uow.hashbanks.entries(bank.id, after, BATCH)
            if not entries:
                return
            for entry in entries:
                yield entry
            after = entries[-1].id

    # ------------------------------------------------------------ self-protection

    async def protect(self, account_id: AccountId, items: list[dict[str, object]]
                      ) -> ImportResult:
        """Someone protecting their own images: only hashes arrive, never the image.
        Each item has ``pdq`` (+ ``quality``) and/or ``sha256``."""
        if not items:
            raise InvalidInput("send at least one hash")
        if len(items) > PROTECT_MAX_PER_REQUEST:
            raise InvalidInput(f"send at most {PROTECT_MAX_PER_REQUEST} images per request")
        rows: list[Row] = []
        for item in items:
            pdq, sha = item.get("pdq"), item.get("sha256")
            if pdq is None and sha is None:
                raise InvalidInput("each image needs a pdq hash, a sha256 hash or both")
            if pdq is not None:
                quality = item.get("quality")
                if not isinstance(quality, int) or isinstance(quality, bool) \
                        or not 0 <= quality <= 100:
                    raise InvalidInput("a pdq hash needs its quality (0-100)",
                                       details={"field": "quality"})
                rows.append(Row(Signal.PDQ, hex64(str(pdq), "pdq"), quality, "protect"))
            if sha is not None:
                rows.append(Row(Signal.SHA256, hex64(str(sha), "sha256"), None, "protect"))
        async with self._uow(readonly=True) as uow:
            used = await uow.hashbanks.count_by_account(account_id)
        if used + len(rows) > self._protect_limit:
            raise LimitReached(f"an account may protect at most {self._protect_limit} hashes",
                               details={"limit": self._protect_limit})
        async with self._uow() as uow:
            if await uow.hashbanks.get(PROTECT_BANK) is None:
                await uow.hashbanks.create(PROTECT_BANK, "hashes people submitted to protect "
                                           "their own images", self._clock.now())
                await uow.commit()
        return await self.add(PROTECT_BANK, rows, account_id=account_id)
