"""Image records (the bytes are in the media store, not here)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tryst.domain.errors import NotFound
from tryst.domain.media import Media, Place
from tryst.ids import AccountId, PersonaId
from tryst.storage.tables import conversation_events, media, media_recipients, room_events


def _media(row: Any) -> Media:
    return Media(id=row.id, account_id=AccountId(row.account_id),
                 persona_id=PersonaId(row.persona_id), sha256=row.sha256,
                 preview_sha256=row.preview_sha256, mime=row.mime, width=row.width,
                 height=row.height, size=row.size, explicit=bool(row.explicit),
                 created_at=row.created_at, place=Place(row.place) if row.place else None,
                 place_id=row.place_id, seq=row.seq, view_once=bool(row.view_once),
                 expires_at=row.expires_at)


class SqlMedia:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, item: Media, pdq: str | None, pdq_quality: int,
                  labels: Sequence[tuple[str, float]]) -> None:
        await self._c.execute(insert(media).values(
            id=item.id, account_id=item.account_id, persona_id=item.persona_id,
            sha256=item.sha256, preview_sha256=item.preview_sha256, mime=item.mime,
            width=item.width, height=item.height, size=item.size, explicit=item.explicit,
            labels=[list(pair) for pair in labels], pdq=pdq, pdq_quality=pdq_quality,
            created_at=item.created_at, place=None, place_id=None, seq=None,
            view_once=False, expires_at=item.expires_at))

    async def get(self, media_id: str) -> Media | None:
        row = (await self._c.execute(select(media).where(media.c.id == media_id))).first()
        return _media(row) if row else None

    async def posted(self, media_id: str, place: Place, place_id: str, seq: int,
                     view_once: bool, expires_at: datetime | None,
                     recipients: Collection[PersonaId]) -> None:
        result = await self._c.execute(update(media).where(
            media.c.id == media_id, media.c.place.is_(None)).values(
            place=place.value, place_id=place_id, seq=seq, view_once=view_once,
            expires_at=expires_at))
        if not result.rowcount:  # posted meanwhile by a concurrent request
            raise NotFound("no such upload: upload the image again")
        if recipients:
            await self._c.execute(insert(media_recipients), [
                {"media_id": media_id, "persona_id": p, "viewed_at": None}
                for p in recipients])

    async def unpost(self, media_id: str, expires_at: datetime | None) -> None:
        await self._c.execute(delete(media_recipients).where(
            media_recipients.c.media_id == media_id))
        await self._c.execute(update(media).where(media.c.id == media_id).values(
            place=None, place_id=None, seq=None, view_once=False, expires_at=expires_at))

    async def recipient(self, media_id: str, persona_id: PersonaId
                        ) -> tuple[bool, datetime | None] | None:
        row = (await self._c.execute(select(media_recipients.c.viewed_at).where(
            media_recipients.c.media_id == media_id,
            media_recipients.c.persona_id == persona_id))).first()
        return (True, row.viewed_at) if row else None

    async def mark_viewed(self, media_id: str, persona_id: PersonaId, at: datetime) -> bool:
        result = await self._c.execute(update(media_recipients).where(
            media_recipients.c.media_id == media_id,
            media_recipients.c.persona_id == persona_id,
            media_recipients.c.viewed_at.is_(None)).values(viewed_at=at))
        return bool(result.rowcount)

    async def all_viewed(self, media_id: str) -> bool:
        waiting = await self._c.scalar(select(func.count()).select_from(media_recipients).where(
            media_recipients.c.media_id == media_id, media_recipients.c.viewed_at.is_(None)))
        return not waiting

    async def due(self, now: datetime) -> list[Media]:
        rows = await self._c.execute(select(media).where(
            media.c.expires_at.is_not(None), media.c.expires_at <= now).limit(1000))
        return [_media(r) for r in rows]

    async def orphaned(self, limit: int) -> list[Media]:
        room_line = exists().where(room_events.c.room_id == media.c.place_id,
                                   room_events.c.seq == media.c.seq)
        conv_line = exists().where(conversation_events.c.conversation_id == media.c.place_id,
                                   conversation_events.c.seq == media.c.seq)
        rows = await self._c.execute(select(media).where(or_(
            and_(media.c.place == Place.ROOM.value, ~room_line),
            and_(media.c.place == Place.CONVERSATION.value, ~conv_line))).limit(limit))
        return [_media(r) for r in rows]

    async def in_place(self, place: Place, place_id: str | None) -> list[Media]:
        stmt = select(media).where(media.c.place == place.value)
        if place_id is not None:
            stmt = stmt.where(media.c.place_id == place_id)
        rows = await self._c.execute(stmt)
        return [_media(r) for r in rows]

    async def of_persona(self, persona_id: PersonaId) -> list[Media]:
        rows = await self._c.execute(select(media).where(media.c.persona_id == persona_id))
        return [_media(r) for r in rows]

    async def delete(self, media_ids: Collection[str]) -> None:
        if media_ids:
            await self._c.execute(delete(media).where(media.c.id.in_(list(media_ids))))

    async def referenced(self, shas: Collection[str]) -> set[str]:
        if not shas:
            return set()
        wanted = list(shas)
        rows = await self._c.execute(
            select(media.c.sha256).where(media.c.sha256.in_(wanted)).union(
                select(media.c.preview_sha256).where(media.c.preview_sha256.in_(wanted))))
        return {r[0] for r in rows}

    async def all_referenced(self) -> set[str]:
        rows = await self._c.execute(select(media.c.sha256).union(
            select(media.c.preview_sha256)))
        return {r[0] for r in rows}
