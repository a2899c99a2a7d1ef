"""Images: upload (cleaned, hashed, classified, checked against hash banks), post into a
room, conversation or scene, and view through short-lived signed URLs.

An image lives exactly as long as the line that carries it: room retention, a
conversation's expiry or deletion, a scene's end, a view-once image seen by everyone,
or its uploader's deletion all remove the record and, with the last record using them,
the bytes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tryst.clock import Clock
from tryst.config import Settings
from tryst.domain.accounts import Account
from tryst.domain.conversations import MemberState
from tryst.domain.errors import Forbidden, InvalidInput, NotFound, NotMember
from tryst.domain.events import ConversationEvent, RoomEvent, SceneEvent
from tryst.domain.media import Media, Place, shown_blurred, validate_caption
from tryst.domain.rooms import EventKind, Rating, Visibility
from tryst.domain.safety.verdicts import Place as SafetyPlace
from tryst.ids import (
    AccountId,
    ConversationId,
    PersonaId,
    RoomId,
    conversation_stream,
    room_stream,
)
from tryst.ports import Bus, ImageProcessor, KeyStore, MediaStore, UnitOfWork, UnitOfWorkFactory
from tryst.services import convstreams
from tryst.services.actor import Actor, current_persona
from tryst.services.hashbanks import HashBankService
from tryst.services.ratelimits import RateLimiter
from tryst.services.safety import SafetyService
from tryst.services.scenes import SceneService
from tryst.services.sequencer import StreamSequencer
from tryst.services.streams import append_event

log = logging.getLogger("tryst.media")

URL_KEY = ("media", "urls")
URL_SECONDS = 300  # signed URLs are good for five minutes
UNPOSTED_MINUTES = 60  # an upload nobody posts is deleted after an hour

PostedEvent = RoomEvent | ConversationEvent | SceneEvent
_SAFETY_PLACE = {Place.ROOM: SafetyPlace.ROOM, Place.CONVERSATION: SafetyPlace.CONVERSATION,
                 Place.SCENE: SafetyPlace.SCENE}


@dataclass(frozen=True, slots=True)
class View:
    """What a viewer may fetch: a signed URL for the full image or its blurred preview."""

    url: str
    blurred: bool
    view_once: bool
    expires_at: datetime
    media: Media


def descriptor(media: Media, view_once: bool) -> dict[str, object]:
    """What a line says about its image: never its bytes, never a URL (those are per
    viewer, on request)."""
    return {"id": media.id, "mime": media.mime, "width": media.width,
            "height": media.height, "explicit": media.explicit, "view_once": view_once}


class MediaService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, settings: Settings, bus: Bus,
                 sequencer: StreamSequencer, processor: ImageProcessor, store: MediaStore,
                 banks: HashBankService, keys: KeyStore, scenes: SceneService,
                 upload_limiter: RateLimiter, message_limiter: RateLimiter,
                 safety: SafetyService | None = None) -> None:
        self._uow = uow
        self._safety = safety
        self._clock = clock
        self._settings = settings
        self._bus = bus
        self._seq = sequencer
        self._processor = processor
        self._store = store
        self._banks = banks
        self._key = keys.create(*URL_KEY)
        self._scenes = scenes
        self._uploads = upload_limiter
        self._messages = message_limiter
        scenes.on_end.append(self.scene_ended)

    # ------------------------------------------------------------ upload

    async def upload(self, actor: Actor, data: bytes, declared_mime: str | None) -> Media:
        """Clean, check and store an upload. Nothing is stored for a refused one."""
        if self._safety is not None:
            self._safety.guard(actor.account.id)
        self._uploads.check(actor.account.id)
        processed = await self._processor.process(data, declared_mime)
        await self._banks.check(processed, actor.account.id, actor.persona.id)
        now = self._clock.now()
        media = Media(
            id=f"m_{secrets.token_hex(8)}", account_id=actor.account.id,
            persona_id=actor.persona.id, sha256=hashlib.sha256(processed.image).hexdigest(),
            preview_sha256=hashlib.sha256(processed.preview).hexdigest(),
            mime=processed.mime, width=processed.width, height=processed.height,
            size=len(processed.image), explicit=processed.explicit, created_at=now,
            expires_at=now + timedelta(minutes=UNPOSTED_MINUTES))
        await self._store.put(media.sha256, processed.image)
        await self._store.put(media.preview_sha256, processed.preview)
        try:
            async with self._uow() as uow:
                await current_persona(uow, actor)
                await uow.media.add(media, processed.pdq[0], processed.pdq_quality,
                                    processed.labels)
                await uow.commit()
        except BaseException:
            await self._release([media.sha256, media.preview_sha256])
            raise
        return media

    # ------------------------------------------------------------ post

    async def post(self, actor: Actor, media_id: str, *, room: str | None = None,
                   conversation: str | None = None, scene: str | None = None,
                   caption: str | None = None, view_once: bool = False) -> PostedEvent:
        places = [(p, i) for p, i in ((Place.ROOM, room), (Place.CONVERSATION, conversation),
                                      (Place.SCENE, scene)) if i is not None]
        if len(places) != 1:
            raise InvalidInput("name exactly one of room, conversation or scene")
        place, place_id = places[0]
        if view_once and place is Place.ROOM:
            raise InvalidInput("view-once images can be sent in conversations and scenes",
                               details={"field": "view_once"})
        text = validate_caption(caption)
        self._messages.check(actor.persona.id)
        if self._safety is not None:
            self._safety.guard(actor.account.id)
            if text:  # a caption is a message like any other
                self._safety.screen(actor, text, _SAFETY_PLACE[place], new_contact=False)
        async with self._uow(readonly=True) as uow:
            media = await self._own_upload(uow, actor, media_id)
        deadline = (self._clock.now() + timedelta(hours=self._settings.view_once_hours)
                    if view_once else None)
        data = descriptor(media, view_once)
        if place is Place.ROOM:
            return await self._post_room(actor, media, place_id, text, data)
        if place is Place.CONVERSATION:
            return await self._post_conversation(actor, media, place_id, text, data,
                                                 view_once, deadline)
        return await self._post_scene(actor, media, place_id, text, data, view_once, deadline)

    async def _own_upload(self, uow: UnitOfWork, actor: Actor, media_id: str) -> Media:
        media = await uow.media.get(media_id)
        if media is None or media.persona_id != actor.persona.id or media.place is not None \
                or (media.expires_at is not None and media.expires_at <= self._clock.now()):
            raise NotFound("no such upload: upload the image again")
        return media

    async def _post_room(self, actor: Actor, media: Media, room_id: str, text: str,
                         data: dict[str, object]) -> RoomEvent:
        rid = RoomId(room_id)
        async with self._seq.hold([room_stream(rid)]):
            async with self._uow() as uow:
                room = await uow.rooms.get(rid)
                member = await uow.rooms.membership(rid, actor.persona.id) if room else None
                if room is None or (member is None
                                    and room.visibility is Visibility.INVITE_ONLY):
                    raise NotFound("no such room")
                if member is None:
                    raise NotMember("join the room first")
                if not room.images:
                    raise Forbidden("this room does not allow images")
                persona = await current_persona(uow, actor)
                await self._own_upload(uow, actor, media.id)  # not posted twice meanwhile
                event = await append_event(
                    uow, rid, self._clock.now(), EventKind.IMAGE, persona_id=persona.id,
                    persona_name=persona.name, text=text, data={"media": data},
                    account_id=persona.account_id)
                await uow.media.posted(media.id, Place.ROOM, rid, event.seq, False, None, ())
                await uow.commit()
            self._bus.publish(event)
        return event

    async def _post_conversation(self, actor: Actor, media: Media, conversation_id: str,
                                 text: str, data: dict[str, object], view_once: bool,
                                 deadline: datetime | None) -> ConversationEvent:
        cid = ConversationId(conversation_id)
        async with self._seq.hold([conversation_stream(cid)]):
            async with self._uow() as uow:
                persona = await current_persona(uow, actor)
                conversation, mine, members = await convstreams.membership(
                    uow, conversation_id, persona)
                to = [m.persona_id for m in members
                      if m.persona_id != persona.id and m.state is MemberState.ACTIVE]
                if not to:
                    raise NotMember("nobody else is taking part in this conversation yet")
                await self._own_upload(uow, actor, media.id)
                (event,) = await convstreams.append(
                    uow, conversation, members, self._settings, self._clock.now(),
                    [(EventKind.IMAGE, persona, text, {"media": data})])
                await uow.media.posted(media.id, Place.CONVERSATION, cid, event.seq,
                                       view_once, deadline, to)
                await uow.conversations.put_member(convstreams.read_to(mine, event.seq))
                await uow.commit()
            self._bus.publish(event)
        return event

    async def _post_scene(self, actor: Actor, media: Media, scene_id: str, text: str,
                          data: dict[str, object], view_once: bool,
                          deadline: datetime | None) -> SceneEvent:
        # Who may view is written before the line goes out, so a recipient's first
        # request for it never races the record; viewing also needs their grant then.
        audience = self._scenes.image_audience(scene_id, actor.persona.id)
        async with self._uow() as uow:
            await self._own_upload(uow, actor, media.id)
            await uow.media.posted(media.id, Place.SCENE, scene_id, 0, view_once, deadline,
                                   audience)
            await uow.commit()
        try:
            return await self._scenes.send_image(actor, scene_id, text, data)
        except BaseException:  # not sent (no grant, paused, ended): the upload stays usable
            async with self._uow() as uow:
                await uow.media.unpost(media.id, media.expires_at)
                await uow.commit()
            raise

    # ------------------------------------------------------------ view

    async def view(self, actor: Actor, media_id: str, reveal: bool = False) -> View:
        """A signed URL for this viewer: the blurred preview of an explicit image they have
        not opted in to (or of any view-once image until they reveal it), else the image.
        Anything they may not see is "not found", whether or not it exists."""
        async with self._uow(readonly=True) as uow:
            media = await uow.media.get(media_id)
            viewer = await current_persona(uow, actor)
            if media is None:
                raise NotFound("no such image")
            own = media.account_id == actor.account.id
            blurred = False
            if not own:
                await self._check_may_view(uow, media, actor)
                room_adult = False
                if media.place is Place.ROOM and media.place_id:
                    room = await uow.rooms.get(RoomId(media.place_id))
                    room_adult = room is not None and room.rating is Rating.ADULT
                assert media.place is not None
                blurred = shown_blurred(media.explicit, media.place,
                                        adult_opt_in=viewer.adult_content,
                                        room_is_adult=room_adult)
                if media.view_once:
                    seen = await uow.media.recipient(media.id, viewer.id)
                    if seen is None or seen[1] is not None:
                        raise NotFound("this view-once image has already been viewed")
                    blurred = True  # until revealed: the reveal is the one view
        variant = "preview" if blurred and not reveal else "full"
        expires = self._clock.now() + timedelta(seconds=URL_SECONDS)
        token = self._sign(media.id, variant, viewer.id, expires)
        return View(url=f"/media/{token}", blurred=variant == "preview",
                    view_once=media.view_once, expires_at=expires, media=media)

    async def _check_may_view(self, uow: UnitOfWork, media: Media, actor: Actor) -> None:
        hidden = NotFound("no such image")
        if media.place is None or media.place_id is None:
            raise hidden  # an upload not yet posted is its owner's alone
        if await uow.boundaries.blocked_between(actor.account.id, [media.account_id]):
            raise hidden
        pid = actor.persona.id
        if media.place is Place.ROOM:
            if await uow.rooms.membership(RoomId(media.place_id), pid) is None:
                raise hidden
            return
        if await uow.media.recipient(media.id, pid) is None:
            raise hidden
        if media.place is Place.CONVERSATION:
            member = await uow.conversations.member(ConversationId(media.place_id), pid)
            if member is None or member.state is not MemberState.ACTIVE:
                raise hidden
        elif not self._scenes.may_view(media.place_id, pid):
            raise hidden

    def _mac(self, body: bytes) -> str:
        digest = hmac.new(self._key, body, hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(digest).decode()

    def _sign(self, media_id: str, variant: str, persona_id: str, expires: datetime) -> str:
        body = f"{media_id}.{variant}.{persona_id}.{int(expires.timestamp())}"
        return f"{body}.{self._mac(body.encode())}"

    async def open(self, token: str, account_id: str | None) -> tuple[bytes, str]:
        """The bytes behind a signed URL, for the account it was made for. Every failure
        (bad or expired signature, another account, an image gone or already viewed once)
        is the same "not found"."""
        gone = NotFound("not found")
        parts = token.split(".")
        if len(parts) != 5 or account_id is None:
            raise gone
        media_id, variant, persona_id, expires, mac = parts
        body = ".".join(parts[:4]).encode()
        if not hmac.compare_digest(mac, self._mac(body)) or not expires.isdigit() \
                or int(expires) < self._clock.now().timestamp():
            raise gone
        async with self._uow(readonly=True) as uow:
            media = await uow.media.get(media_id)
            persona = await uow.personas.get(PersonaId(persona_id))
            if media is None or persona is None or persona.account_id != account_id:
                raise gone
            own = media.account_id == account_id
            if not own:
                # Checked again now: a block, leaving, or a revoked scene grant since the
                # URL was made closes it at once.
                await self._check_may_view(uow, media, Actor(
                    await self._account(uow, account_id), persona))
        finish = False
        if variant == "full" and media.view_once and not own:
            async with self._uow() as uow:
                if not await uow.media.mark_viewed(media.id, persona.id, self._clock.now()):
                    raise gone
                finish = await uow.media.all_viewed(media.id)
                await uow.commit()
        data = await self._store.get(media.sha256 if variant == "full"
                                     else media.preview_sha256)
        if finish:  # the last recipient has seen it: it is gone for good
            await self._forget([media])
        if data is None:
            raise gone
        return data, media.mime if variant == "full" else "image/jpeg"

    @staticmethod
    async def _account(uow: UnitOfWork, account_id: str) -> Account:
        account = await uow.accounts.get(AccountId(account_id))
        if account is None:
            raise NotFound("not found")
        return account

    # ------------------------------------------------------------ forgetting

    async def _forget(self, items: Iterable[Media]) -> int:
        gone = list(items)
        if not gone:
            return 0
        async with self._uow() as uow:
            await uow.media.delete([m.id for m in gone])
            await uow.commit()
        await self._release([sha for m in gone for sha in (m.sha256, m.preview_sha256)])
        return len(gone)

    async def _release(self, shas: Iterable[str]) -> None:
        """Delete bytes no remaining record uses (the same image can be posted twice)."""
        wanted = set(shas)
        async with self._uow(readonly=True) as uow:
            still = await uow.media.referenced(wanted)
        for sha in wanted - still:
            await self._store.delete(sha)

    async def scene_ended(self, scene_id: str) -> None:
        async with self._uow(readonly=True) as uow:
            items = await uow.media.in_place(Place.SCENE, scene_id)
        await self._forget(items)

    async def forget_persona(self, persona_id: PersonaId) -> None:
        async with self._uow(readonly=True) as uow:
            items = await uow.media.of_persona(persona_id)
        await self._forget(items)

    async def sweep(self, *, full: bool = False) -> int:
        """Delete what has had its time: uploads never posted, view-once images past their
        deadline, images whose line is gone. ``full`` also removes stray files no record
        uses (after a crash between writing a file and its record)."""
        async with self._uow(readonly=True) as uow:
            due = await uow.media.due(self._clock.now())
            orphans = await uow.media.orphaned(1000)
        removed = await self._forget({m.id: m for m in [*due, *orphans]}.values())
        if full:
            async with self._uow(readonly=True) as uow:
                used = await uow.media.all_referenced()
            for sha in await self._store.all() - used:
                await self._store.delete(sha)
        return removed

    async def start(self) -> None:
        """No scene survives a restart, so neither do scene images."""
        async with self._uow(readonly=True) as uow:
            stale = await uow.media.in_place(Place.SCENE, None)
        await self._forget(stale)
