"""The audit trail (append-only, hash-chained: see domain/audit.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tryst.domain.audit import AuditEntry, entry_hash
from tryst.storage.tables import audit_head, audit_log


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(at=row.at, actor=row.actor, action=row.action,
                      subject_account=row.subject_account, subject_persona=row.subject_persona,
                      reason=row.reason, details=dict(row.details), seq=int(row.seq),
                      prev_hash=row.prev_hash, hash=row.hash)


class SqlAudit:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def append(self, entry: AuditEntry) -> AuditEntry:
        head = (await self._c.execute(
            update(audit_head).where(audit_head.c.id == 1)
            .values(seq=audit_head.c.seq + 1)
            .returning(audit_head.c.seq, audit_head.c.hash))).one()
        seq, prev = int(head.seq), head.hash
        done = replace(entry, seq=seq, prev_hash=prev, hash=entry_hash(entry, prev, seq))
        await self._c.execute(update(audit_head).where(audit_head.c.id == 1)
                              .values(hash=done.hash))
        await self._c.execute(insert(audit_log).values(
            seq=seq, at=done.at, actor=done.actor, action=done.action,
            subject_account=done.subject_account, subject_persona=done.subject_persona,
            reason=done.reason, details=done.details, prev_hash=prev, hash=done.hash))
        return done

    async def entries(self, after: int = 0, limit: int = 1000) -> list[AuditEntry]:
        rows = await self._c.execute(select(audit_log).where(audit_log.c.seq > after)
                                     .order_by(audit_log.c.seq).limit(limit))
        return [_entry(r) for r in rows]

    async def for_account(self, account_id: str) -> list[AuditEntry]:
        rows = await self._c.execute(select(audit_log).where(
            audit_log.c.subject_account == account_id).order_by(audit_log.c.seq))
        return [_entry(r) for r in rows]


async def all_entries(audit: SqlAudit) -> AsyncIterator[AuditEntry]:
    after = 0
    while True:
        page = await audit.entries(after, 1000)
        if not page:
            return
        for entry in page:
            yield entry
        after = page[-1].seq
