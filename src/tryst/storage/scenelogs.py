"""The consent record and agreed scene logs (encrypted entries only: see tables.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tryst.domain.scenelogs import ConsentRecord, LogExport, LogMember, SceneLog, SealedEntry
from tryst.ids import AccountId, PersonaId
from tryst.storage.tables import (
    consent_records,
    log_exports,
    scene_log_entries,
    scene_log_members,
    scene_logs,
)


def _log(row: Any) -> SceneLog:
    return SceneLog(row.id, row.created_at, row.expires_at, row.shredded_at)


def _member(row: Any) -> LogMember:
    return LogMember(row.log_id, PersonaId(row.persona_id), AccountId(row.account_id),
                     row.persona_name)


class SqlSceneLogs:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    # ------------------------------------------------------------ consent record

    async def record_consent(self, records: Sequence[ConsentRecord]) -> None:
        if records:
            await self._c.execute(insert(consent_records), [
                {"scene_id": r.scene_id, "persona_id": r.persona_id,
                 "account_id": r.account_id, "channel": r.channel, "action": r.action,
                 "at": r.at, "until": r.until} for r in records])

    async def consent_for(self, scene_id: str) -> list[ConsentRecord]:
        rows = await self._c.execute(select(consent_records).where(
            consent_records.c.scene_id == scene_id).order_by(consent_records.c.id))
        return [ConsentRecord(r.scene_id, PersonaId(r.persona_id), AccountId(r.account_id),
                              r.channel, r.action, r.at, r.until) for r in rows]

    async def consent_of(self, persona_ids: Sequence[PersonaId]) -> list[ConsentRecord]:
        if not persona_ids:
            return []
        rows = await self._c.execute(select(consent_records).where(
            consent_records.c.persona_id.in_(list(persona_ids))).order_by(consent_records.c.id))
        return [ConsentRecord(r.scene_id, PersonaId(r.persona_id), AccountId(r.account_id),
                              r.channel, r.action, r.at, r.until) for r in rows]

    async def purge_consent(self, cutoff: datetime) -> int:
        result = await self._c.execute(delete(consent_records).where(
            consent_records.c.at < cutoff))
        return int(result.rowcount or 0)

    # ------------------------------------------------------------ logs

    async def create_log(self, log: SceneLog, members: Sequence[LogMember]) -> None:
        await self._c.execute(insert(scene_logs).values(
            id=log.id, created_at=log.created_at, expires_at=log.expires_at,
            shredded_at=None))
        await self._c.execute(insert(scene_log_members), [
            {"log_id": m.log_id, "persona_id": m.persona_id, "account_id": m.account_id,
             "persona_name": m.persona_name} for m in members])

    async def get_log(self, log_id: str) -> SceneLog | None:
        row = (await self._c.execute(select(scene_logs).where(scene_logs.c.id == log_id))
               ).first()
        return _log(row) if row else None

    async def members(self, log_id: str) -> list[LogMember]:
        rows = await self._c.execute(select(scene_log_members).where(
            scene_log_members.c.log_id == log_id).order_by(scene_log_members.c.persona_name))
        return [_member(r) for r in rows]

    async def logs_of(self, account_id: AccountId) -> list[SceneLog]:
        """Logs any persona of this account took part in, shredded ones included."""
        rows = await self._c.execute(
            select(scene_logs).join(scene_log_members,
                                    scene_log_members.c.log_id == scene_logs.c.id)
            .where(scene_log_members.c.account_id == account_id)
            .distinct().order_by(scene_logs.c.created_at.desc()))
        return [_log(r) for r in rows]

    async def logs_with_persona(self, persona_id: PersonaId) -> list[str]:
        rows = await self._c.execute(select(scene_log_members.c.log_id).where(
            scene_log_members.c.persona_id == persona_id))
        return [r.log_id for r in rows]

    async def add_entries(self, entries: Sequence[SealedEntry]) -> None:
        if entries:
            await self._c.execute(insert(scene_log_entries), [
                {"log_id": e.log_id, "seq": e.seq, "nonce": e.nonce, "body": e.body}
                for e in entries])

    async def entries(self, log_id: str) -> list[SealedEntry]:
        rows = await self._c.execute(select(scene_log_entries).where(
            scene_log_entries.c.log_id == log_id).order_by(scene_log_entries.c.seq))
        return [SealedEntry(r.log_id, r.seq, bytes(r.nonce), bytes(r.body)) for r in rows]

    async def shred(self, log_id: str, at: datetime) -> None:
        """Drop the ciphertext too (the key is already gone); keep the log's row and
        members so participants see it was shredded and exports stay traceable."""
        await self._c.execute(delete(scene_log_entries).where(
            scene_log_entries.c.log_id == log_id))
        await self._c.execute(update(scene_logs).where(
            scene_logs.c.id == log_id, scene_logs.c.shredded_at.is_(None)
        ).values(shredded_at=at))

    async def due(self, now: datetime) -> list[str]:
        rows = await self._c.execute(select(scene_logs.c.id).where(
            scene_logs.c.expires_at <= now, scene_logs.c.shredded_at.is_(None)))
        return [r.id for r in rows]

    async def forget_members(self, persona_id: PersonaId) -> None:
        await self._c.execute(delete(scene_log_members).where(
            scene_log_members.c.persona_id == persona_id))

    # ------------------------------------------------------------ exports

    async def add_export(self, export: LogExport) -> None:
        await self._c.execute(insert(log_exports).values(
            id=export.id, log_id=export.log_id, persona_id=export.persona_id,
            persona_name=export.persona_name, account_id=export.account_id,
            format=export.format, created_at=export.created_at))

    async def export(self, export_id: str) -> LogExport | None:
        row = (await self._c.execute(select(log_exports).where(
            log_exports.c.id == export_id))).first()
        if row is None:
            return None
        return LogExport(row.id, row.log_id, PersonaId(row.persona_id), row.persona_name,
                         AccountId(row.account_id), row.format, row.created_at)
