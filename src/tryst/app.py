"""Composition root: builds every component from Settings and owns start and stop.
Nothing imports this module but the command line and tests."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from tryst.bus.memory import MemoryBus
from tryst.cli_safety import load_safety_config
from tryst.clock import Clock, SystemClock
from tryst.config import Settings
from tryst.domain.accounts import SelfAttestation
from tryst.domain.errors import InvalidInput
from tryst.domain.safety.engine import SafetyEngine
from tryst.domain.tags import TagVocabulary, vocabulary_from_document
from tryst.doors.rawsocket import TrystWebSocketProtocol
from tryst.doors.websocket import WebSocketDoor
from tryst.ids import AccountId, PersonaId
from tryst.media.images import Limits
from tryst.media.matcher import BankMatcher
from tryst.media.store import LocalMediaStore
from tryst.media.worker import ImageWorker
from tryst.passwords import Argon2Hasher
from tryst.ports import AgeAssuranceProvider
from tryst.services.accounts import AccountService
from tryst.services.boundaries import BoundaryService
from tryst.services.conversations import ConversationService
from tryst.services.franking import Franker
from tryst.services.hashbanks import HashBankService
from tryst.services.media import MediaService
from tryst.services.moderation import ModerationService
from tryst.services.personas import PersonaService
from tryst.services.ratelimits import RateLimiter
from tryst.services.reports import ReportService
from tryst.services.requests import RequestService
from tryst.services.rooms import RoomService
from tryst.services.safety import SafetyService
from tryst.services.scenelogs import SceneLogService
from tryst.services.scenes import SceneService
from tryst.services.sequencer import StreamSequencer
from tryst.sessions.private import PrivateCommands
from tryst.sessions.registry import SessionRegistry
from tryst.sessions.scenecmds import SceneCommands
from tryst.storage import migrate
from tryst.storage.database import UnitOfWorkFactory, create_engine
from tryst.storage.keystore import FileKeyStore
from tryst.web.api import ApiContext
from tryst.web.factory import create_web_app

log = logging.getLogger("tryst")


def load_vocabulary(settings: Settings) -> TagVocabulary:
    """The shipped vocabulary, extended or replaced by the operator's tags file."""
    shipped = json.loads(resources.files("tryst").joinpath("data/tags.json").read_text("utf-8"))
    vocabulary = TagVocabulary(vocabulary_from_document(shipped))
    if settings.tags_file is None:
        return vocabulary
    try:
        doc = json.loads(settings.tags_file.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read tags file {settings.tags_file}: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidInput("tags file must hold a JSON object")
    mode = doc.get("mode", "extend")
    if mode not in ("extend", "replace"):
        raise InvalidInput("tags file 'mode' must be 'extend' or 'replace'")
    tags = vocabulary_from_document(doc)
    return TagVocabulary(tags) if mode == "replace" else vocabulary.extended(tags)


@dataclass
class Tryst:
    """Everything one Tryst process runs, wired together."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    bus: MemoryBus
    registry: SessionRegistry
    accounts: AccountService
    personas: PersonaService
    rooms: RoomService
    private: PrivateCommands
    media: MediaService
    banks: HashBankService
    moderation: ModerationService
    asgi: Any


def build(settings: Settings, *, clock: Clock | None = None,
          age_provider: AgeAssuranceProvider | None = None) -> Tryst:
    clock = clock or SystemClock()
    vocabulary = load_vocabulary(settings)
    engine = create_engine(settings.resolved_database_url())
    uow = UnitOfWorkFactory(engine)
    bus = MemoryBus()
    registry = SessionRegistry(settings.max_connections_per_account)
    bus.add_observer(registry.observe)
    sequencer = StreamSequencer()
    hasher = Argon2Hasher(settings.argon2_time_cost, settings.argon2_memory_kib)
    safety = SafetyService(uow=uow, clock=clock, bus=bus,
                           engine=SafetyEngine(load_safety_config(settings.safety_file)),
                           enabled=settings.safety_engine)
    accounts = AccountService(uow=uow, hasher=hasher, age=age_provider or SelfAttestation(),
                              clock=clock, settings=settings, bus=bus, sequencer=sequencer,
                              connections=registry)
    personas = PersonaService(uow=uow, clock=clock, settings=settings, vocabulary=vocabulary,
                              bus=bus, sequencer=sequencer, connections=registry,
                              safety=safety)
    message_limiter = RateLimiter(clock, rate=settings.message_rate,
                                  burst=settings.message_burst, what="messages")
    boundaries = BoundaryService(uow=uow, clock=clock, bus=bus, presence=registry)
    registry.on_presence = boundaries.announce_soon
    rooms = RoomService(uow=uow, clock=clock, settings=settings, bus=bus, sequencer=sequencer,
                        presence=registry, message_limiter=message_limiter,
                        boundaries=boundaries, safety=safety)
    keys = FileKeyStore(settings.resolved_key_dir())
    franker = Franker(keys, rotate_hours=settings.franking_rotate_hours,
                      keep_days=settings.franking_keep_days)
    requests = RequestService(
        uow=uow, clock=clock, settings=settings, bus=bus, sequencer=sequencer,
        boundaries=boundaries, franker=franker, vocabulary=vocabulary,
        request_limiter=RateLimiter(clock, rate=settings.request_rate_per_hour / 3600,
                                    burst=settings.request_burst, what="message requests"),
        safety=safety)
    logs = SceneLogService(uow=uow, clock=clock, settings=settings, keys=keys)
    scenes = SceneService(uow=uow, clock=clock, settings=settings, bus=bus, requests=requests,
                          vocabulary=vocabulary, franker=franker, logs=logs,
                          message_limiter=message_limiter, safety=safety)

    async def pause_for_safety(account_id: AccountId) -> None:
        await scenes.red(account_id, None, safety=True)

    safety.on_minor.append(pause_for_safety)

    async def leave_scenes_and_logs(persona_id: PersonaId) -> None:
        """A persona being deleted leaves its scenes and withdraws from its logs."""
        await scenes.end_all_for(persona_id)
        for log_id in await logs.logs_of_persona(persona_id):
            await scenes.shredding(log_id, functools.partial(logs.shred, log_id))
        await logs.forget_persona(persona_id)

    personas.persona_erasers.append(leave_scenes_and_logs)
    accounts.persona_erasers.append(leave_scenes_and_logs)
    worker = ImageWorker(Limits(settings.max_image_bytes, settings.max_image_pixels),
                         classifier=settings.image_classifier, workers=settings.image_workers)
    banks = HashBankService(uow=uow, clock=clock, matcher=BankMatcher(),
                            protect_limit=settings.protect_hashes_per_account)
    media = MediaService(
        uow=uow, clock=clock, settings=settings, bus=bus, sequencer=sequencer,
        processor=worker, store=LocalMediaStore(settings.resolved_media_dir()), banks=banks,
        keys=keys, scenes=scenes, message_limiter=message_limiter, safety=safety,
        upload_limiter=RateLimiter(clock, rate=settings.image_uploads_per_hour / 3600,
                                   burst=max(1, int(settings.image_uploads_per_hour // 4)),
                                   what="image uploads"))
    personas.persona_erasers.append(media.forget_persona)
    accounts.persona_erasers.append(media.forget_persona)
    private = PrivateCommands(
        requests=requests,
        conversations=ConversationService(
            uow=uow, clock=clock, settings=settings, bus=bus, sequencer=sequencer,
            boundaries=boundaries, franker=franker, presence=registry,
            message_limiter=message_limiter, safety=safety),
        boundaries=boundaries,
        scenes=SceneCommands(scenes=scenes, logs=logs, franker=franker), media=media)
    address_limiter = RateLimiter(clock, rate=settings.address_rate,
                                  burst=settings.address_burst, what="requests")
    auth_limiter = RateLimiter(clock, rate=settings.auth_rate_per_minute / 60,
                               burst=settings.auth_burst, what="sign-in attempts")
    door = WebSocketDoor(settings=settings, clock=clock, accounts=accounts, personas=personas,
                         rooms=rooms, registry=registry, bus=bus,
                         address_limiter=address_limiter, private=private)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await migrate.upgrade(engine)
        await media.start()
        await safety.refresh()
        log.info("hash banks: %d PDQ entries loaded", await banks.refresh())
        retention = asyncio.create_task(_retention_loop(rooms, private.conversations,
                                                        private.scenes, media, clock,
                                                        settings))
        bank_refresh = asyncio.create_task(_refresh_loop(banks, safety, clock))
        log.info("tryst ready on %s", settings.resolved_database_url().split("@")[-1])
        try:
            yield
        finally:
            # By now uvicorn has sent every WebSocket client a close frame (1012).
            for task in (retention, bank_refresh):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await safety.settle()
            worker.close()
            await engine.dispose()

    ctx = ApiContext(settings=settings, accounts=accounts, personas=personas, rooms=rooms,
                     auth_limiter=auth_limiter, private=private, media=media, banks=banks,
                     reports=ReportService(
                         uow=uow, clock=clock, franker=franker,
                         limiter=RateLimiter(clock, rate=settings.reports_per_hour / 3600,
                                             burst=max(1, int(settings.reports_per_hour // 2)),
                                             what="reports")))
    asgi = create_web_app(ctx, door, address_limiter, lifespan)
    return Tryst(settings=settings, clock=clock, engine=engine, bus=bus, registry=registry,
                 accounts=accounts, personas=personas, rooms=rooms, private=private,
                 media=media, banks=banks,
                 moderation=ModerationService(uow=uow, clock=clock, safety=safety), asgi=asgi)


def server_config(tryst: Tryst) -> Any:
    """The uvicorn configuration Tryst runs with (the command line and tests share it)."""
    import uvicorn

    settings = tryst.settings
    return uvicorn.Config(
        tryst.asgi, host=settings.host, port=settings.port, log_level=settings.log_level,
        ws=TrystWebSocketProtocol, ws_max_size=settings.hard_frame_bytes,
        ws_per_message_deflate=False,  # frames are shared across recipients; keep them raw
        lifespan="on", timeout_graceful_shutdown=10, server_header=False,
        access_log=settings.log_level == "debug")


async def _refresh_loop(banks: HashBankService, safety: SafetyService, clock: Clock) -> None:
    """Pick up changes made by other processes (`tryst banks import` and `tryst mod`
    while the server runs): within 30 seconds."""
    while True:
        await clock.sleep(30.0)
        try:
            await banks.refresh()
            await safety.refresh()
        except Exception:
            log.exception("refreshing hash banks or restrictions failed; will retry")


async def _retention_loop(rooms: RoomService, conversations: ConversationService,
                          scenes: SceneCommands, media: MediaService, clock: Clock,
                          settings: Settings) -> None:
    """Purge room history older than the retention period, a few times per period, and
    expired conversation lines every minute (disappearing messages are filtered out of
    every read the moment they expire; this removes them from disk soon after)."""
    room_every = timedelta(seconds=max(60.0, min(3600.0, settings.retention_days * 86400 / 24)))
    next_rooms = clock.now()
    next_files = clock.now() + timedelta(minutes=5)
    while True:
        try:
            if clock.now() >= next_rooms:
                next_rooms = clock.now() + room_every
                purged = await rooms.purge_expired()
                if purged:
                    log.info("retention: removed %d room events", purged)
            gone = await conversations.purge_expired()
            if gone:
                log.info("retention: removed %d conversation lines", gone)
            shredded = await scenes.logs.purge(
                lambda log_id: scenes.scenes.shredding(
                    log_id, lambda: scenes.logs.shred(log_id)))
            if shredded:
                log.info("retention: shredded %d scene logs past their time", shredded)
            scenes.franker.expire(clock.now())
            idle = await scenes.scenes.expire_idle()
            if idle:
                log.info("scenes: ended %d idle scenes", idle)
            full = clock.now() >= next_files
            if full:
                next_files = clock.now() + timedelta(hours=1)
            images = await media.sweep(full=full)
            if images:
                log.info("retention: removed %d images", images)
        except Exception:
            log.exception("retention purge failed; will retry")
        await clock.sleep(60.0)
