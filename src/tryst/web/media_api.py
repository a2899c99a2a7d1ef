"""HTTP for images: upload, post, view (signed URL), the bytes behind a signed URL, and
self-protection hashes. Posting and viewing are also WebSocket commands
(docs/protocol.md §13); answers are the same."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from tryst.domain.errors import Forbidden
from tryst.media_presenters import media_view, posted_event
from tryst.services.actor import Actor
from tryst.services.hashbanks import HashBankService
from tryst.services.media import MediaService

ObjectId = Annotated[StrictStr, Field(min_length=1, max_length=64)]
Hex = Annotated[StrictStr, Field(min_length=64, max_length=64)]


class PostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    persona_id: ObjectId
    room: ObjectId | None = None
    conversation: ObjectId | None = None
    scene: ObjectId | None = None
    caption: Annotated[StrictStr, Field(max_length=4000)] | None = None
    view_once: StrictBool = False


class ProtectItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pdq: Hex | None = None
    quality: Annotated[StrictInt, Field(ge=0, le=100)] | None = None
    sha256: Hex | None = None


class ProtectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    images: Annotated[list[ProtectItem], Field(min_length=1, max_length=100)]


def build_media_api(media: MediaService, banks: HashBankService, auth: Any,
                    act_as: Callable[[Any, str], Awaitable[Actor]],
                    account_of: Callable[[Request], Awaitable[str | None]]) -> APIRouter:
    api = APIRouter()

    @api.post("/api/v1/media", tags=["images"], status_code=201,
              summary="Upload an image (the raw bytes as the body, with its Content-Type)",
              openapi_extra={"requestBody": {"required": True, "content": {
                  t: {"schema": {"type": "string", "format": "binary"}}
                  for t in ("image/jpeg", "image/png", "image/webp", "image/gif")}}})
    async def upload(request: Request, who: auth,
                     persona_id: Annotated[str, Query(max_length=64)]) -> dict[str, Any]:
        actor = await act_as(who, persona_id)
        data = await request.body()
        item = await media.upload(actor, data, request.headers.get("content-type"))
        return {"media": {"id": item.id, "mime": item.mime, "width": item.width,
                          "height": item.height, "size": item.size,
                          "explicit": item.explicit,
                          "expires_at": item.expires_at.isoformat()
                          if item.expires_at else None}}

    @api.post("/api/v1/media/{media_id}/post", tags=["images"], status_code=201,
              summary="Post an uploaded image in a room, conversation or scene")
    async def post(media_id: str, body: PostIn, who: auth) -> dict[str, Any]:
        actor = await act_as(who, body.persona_id)
        event = await media.post(actor, media_id, room=body.room,
                                 conversation=body.conversation, scene=body.scene,
                                 caption=body.caption, view_once=body.view_once)
        return posted_event(event)

    @api.get("/api/v1/media/{media_id}/view", tags=["images"],
             summary="A short-lived URL for an image (blurred preview unless revealed)")
    async def view(media_id: str, who: auth, persona_id: Annotated[str, Query(max_length=64)],
                   reveal: bool = False) -> dict[str, Any]:
        actor = await act_as(who, persona_id)
        return media_view(await media.view(actor, media_id, reveal))

    @api.get("/media/{token}", include_in_schema=False)
    async def fetch(token: str, request: Request) -> Response:
        account = await account_of(request)
        data, mime = await media.open(token, account)
        return Response(data, media_type=mime, headers={
            "cache-control": "private, no-store", "content-disposition": "inline",
            "content-security-policy": "default-src 'none'; sandbox"})

    @api.post("/api/v1/protect", tags=["images"], status_code=201,
              summary="Protect my own images: submit only their hashes")
    async def protect(body: ProtectIn, who: auth) -> dict[str, Any]:
        result = await banks.protect(who.account.id, [
            item.model_dump(exclude_none=True) for item in body.images])
        return result.as_dict()

    @api.get("/api/v1/hash-banks", tags=["staff"], summary="Hash banks and their sizes")
    async def list_banks(who: auth) -> dict[str, Any]:
        if not who.account.role.is_staff:
            raise Forbidden("only moderators and operators can see hash banks")
        return {"banks": [{"name": b.name, "description": b.description, "entries": n,
                           "created_at": b.created_at.isoformat()}
                          for b, n in await banks.banks()], **banks.stats()}

    return api
