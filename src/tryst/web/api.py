"""The HTTP API (/api/v1): accounts, sessions, personas, rooms and history.

Routes are built by a factory closing over their services: no globals, nothing read at
import time, and a test can build the API around whatever services it wants."""


from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from tryst import __version__, presenters
from tryst.config import Settings
from tryst.domain.accounts import Account, AgeEvidence
from tryst.domain.errors import Forbidden, InvalidInput, NotAuthenticated
from tryst.domain.personas import PersonaDraft
from tryst.services.accounts import AccountService
from tryst.services.actor import Actor
from tryst.services.hashbanks import HashBankService
from tryst.services.media import MediaService
from tryst.services.personas import PersonaService
from tryst.services.ratelimits import RateLimiter
from tryst.services.reports import ReportService
from tryst.services.rooms import RoomService
from tryst.sessions.private import PrivateCommands
from tryst.web import schemas as s
from tryst.web.auth import COOKIE_NAME, bearer_token, origin_allowed, request_token
from tryst.web.media_api import build_media_api
from tryst.web.private_api import build_private_api
from tryst.web.reports_api import build_reports_api
from tryst.web.scene_api import build_scene_api


@dataclass(frozen=True)
class Caller:
    account: Account
    token_hash: str


@dataclass
class ApiContext:
    settings: Settings
    accounts: AccountService
    personas: PersonaService
    rooms: RoomService
    auth_limiter: RateLimiter
    private: PrivateCommands
    media: MediaService | None = None
    banks: HashBankService | None = None
    reports: ReportService | None = None


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _changes(body: Any, exclude: set[str] | None = None) -> dict[str, Any]:
    """The fields a PATCH sets. An explicit null is refused: none of these fields can be
    empty-by-null, and guessing what null meant would change data nobody asked to."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude=exclude)
    nulls = sorted(k for k, v in changes.items() if v is None)
    if nulls:
        raise InvalidInput("these fields cannot be null: " + ", ".join(nulls),
                           details={"fields": nulls})
    return changes


def build_api(ctx: ApiContext) -> list[APIRouter]:
    api = APIRouter(prefix="/api/v1")

    async def caller(request: Request) -> Caller:
        token = request_token(request)
        if token is None:
            raise NotAuthenticated("log in first")
        # A cookie rides along on cross-site requests; only same-origin pages may use it
        # to change anything.
        if bearer_token(request) is None and request.method not in ("GET", "HEAD") \
                and not origin_allowed(request, ctx.settings):
            raise Forbidden("cross-site request refused")
        account, digest = await ctx.accounts.authenticate(token)
        return Caller(account, digest)

    Auth = Annotated[Caller, Depends(caller)]

    async def act_as(who: Caller, persona_id: str) -> Actor:
        return Actor(who.account, await ctx.personas.owned(who.account, persona_id))

    def session_response(account: Account, token: str, mode: str, status: int) -> JSONResponse:
        body: dict[str, Any] = {"account": presenters.account(account)}
        if mode == "token":
            body["token"] = token
        response = JSONResponse(body, status_code=status)
        if mode == "cookie":
            response.set_cookie(COOKIE_NAME, token, httponly=True, samesite="lax",
                                secure=ctx.settings.secure_cookies, path="/",
                                max_age=int(ctx.settings.session_days * 86400))
        return response

    # ------------------------------------------------------------ service

    @api.get("/health", tags=["service"])
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @api.get("/tags", tags=["service"], summary="The server's tag vocabulary")
    async def tags() -> dict[str, Any]:
        return presenters.vocabulary(ctx.personas.vocabulary)

    # ------------------------------------------------------------ accounts

    @api.post("/accounts", tags=["accounts"], status_code=201,
              summary="Register (18+ confirmation required)")
    async def register(body: s.RegisterIn, request: Request) -> JSONResponse:
        ctx.auth_limiter.check(_address(request))
        account, token = await ctx.accounts.register(
            body.username, body.password,
            AgeEvidence(confirm_adult=body.confirm_adult, extra=dict(body.age_evidence)),
            client="browser" if body.session == "cookie" else "api")
        return session_response(account, token, body.session, 201)

    @api.post("/sessions", tags=["accounts"], summary="Log in")
    async def login(body: s.LoginIn, request: Request) -> JSONResponse:
        ctx.auth_limiter.check(_address(request))
        account, token = await ctx.accounts.login(
            body.username, body.password,
            client="browser" if body.session == "cookie" else "api")
        return session_response(account, token, body.session, 200)

    @api.delete("/sessions/current", tags=["accounts"], status_code=204, summary="Log out")
    async def logout(who: Auth) -> Response:
        await ctx.accounts.logout(who.account, who.token_hash)
        response = Response(status_code=204)
        response.delete_cookie(COOKIE_NAME, path="/")
        return response

    @api.get("/accounts/me", tags=["accounts"])
    async def me(who: Auth) -> dict[str, Any]:
        return presenters.account(who.account)

    @api.post("/accounts/me/password", tags=["accounts"],
              summary="Change password; every other session ends")
    async def change_password(body: s.PasswordChangeIn, who: Auth,
                              request: Request) -> dict[str, Any]:
        ctx.auth_limiter.check(_address(request))
        ended = await ctx.accounts.change_password(who.account, who.token_hash,
                                                   body.current_password, body.new_password)
        return {"other_sessions_ended": ended}

    @api.get("/accounts/me/export", tags=["accounts"],
             summary="Download everything stored about this account (JSON)")
    async def export(who: Auth) -> JSONResponse:
        data = await ctx.accounts.export(who.account)
        filename = f"tryst-export-{who.account.username}.json"
        return JSONResponse(data, headers={
            "Content-Disposition": f'attachment; filename="{filename}"'})

    @api.delete("/accounts/me", tags=["accounts"], status_code=204,
                summary="Erase this account")
    async def delete_account(body: s.DeleteAccountIn, who: Auth,
                             request: Request) -> Response:
        ctx.auth_limiter.check(_address(request))
        await ctx.accounts.delete_account(who.account, body.password)
        response = Response(status_code=204)
        response.delete_cookie(COOKIE_NAME, path="/")
        return response

    # ------------------------------------------------------------ personas

    @api.get("/personas", tags=["personas"], summary="My personas")
    async def my_personas(who: Auth) -> dict[str, Any]:
        return {"personas": [presenters.persona_card(p)
                             for p in await ctx.personas.mine(who.account)]}

    @api.post("/personas", tags=["personas"], status_code=201)
    async def create_persona(body: s.PersonaIn, who: Auth) -> dict[str, Any]:
        persona = await ctx.personas.create(who.account, PersonaDraft(**body.model_dump()))
        return presenters.persona_card(persona)

    @api.get("/personas/by-name/{name}", tags=["personas"], summary="Find a persona by name")
    async def persona_by_name(name: str, who: Auth) -> dict[str, Any]:
        return presenters.persona_card(await ctx.personas.by_name(name))

    @api.get("/personas/{persona_id}", tags=["personas"], summary="A persona's public card")
    async def persona_card(persona_id: str, who: Auth) -> dict[str, Any]:
        return presenters.persona_card(await ctx.personas.card(persona_id))

    @api.patch("/personas/{persona_id}", tags=["personas"])
    async def update_persona(persona_id: str, body: s.PersonaPatch,
                             who: Auth) -> dict[str, Any]:
        persona = await ctx.personas.update(who.account, persona_id, _changes(body))
        return presenters.persona_card(persona)

    @api.delete("/personas/{persona_id}", tags=["personas"], status_code=204)
    async def delete_persona(persona_id: str, who: Auth) -> Response:
        await ctx.personas.delete(who.account, persona_id)
        return Response(status_code=204)

    # ------------------------------------------------------------ rooms

    @api.get("/rooms", tags=["rooms"], summary="List and search public rooms")
    async def list_rooms(who: Auth, q: Annotated[str | None, Query(max_length=100)] = None,
                         limit: Annotated[int, Query(ge=1, le=200)] = 50,
                         offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> dict[str, Any]:
        rooms = await ctx.rooms.list_public(q, limit, offset)
        return {"rooms": [presenters.room(r, n) for r, n in rooms]}

    @api.post("/rooms", tags=["rooms"], status_code=201)
    async def create_room(body: s.RoomIn, who: Auth) -> dict[str, Any]:
        actor = await act_as(who, body.persona_id)
        room = await ctx.rooms.create(actor, name=body.name, topic=body.topic,
                                      description=body.description,
                                      visibility=body.visibility, rating=body.rating,
                                      images=body.images)
        return presenters.room(room)

    @api.get("/rooms/{room_id}", tags=["rooms"])
    async def get_room(room_id: str, persona_id: str, who: Auth) -> dict[str, Any]:
        actor = await act_as(who, persona_id)
        return presenters.room(await ctx.rooms.get(actor, room_id))

    @api.patch("/rooms/{room_id}", tags=["rooms"],
               summary="Change a room (topic: moderators; the rest: owners)")
    async def update_room(room_id: str, body: s.RoomPatch, who: Auth) -> dict[str, Any]:
        actor = await act_as(who, body.persona_id)
        changes = _changes(body, exclude={"persona_id"})
        return presenters.room(await ctx.rooms.update(actor, room_id, changes))

    @api.post("/rooms/{room_id}/join", tags=["rooms"])
    async def join_room(room_id: str, body: s.ActAs, who: Auth) -> dict[str, Any]:
        actor = await act_as(who, body.persona_id)
        room, member, created = await ctx.rooms.join(actor, room_id)
        return {"room": presenters.room(room), "membership": presenters.membership(member),
                "created": created}

    @api.post("/rooms/{room_id}/leave", tags=["rooms"], status_code=204)
    async def leave_room(room_id: str, body: s.ActAs, who: Auth) -> Response:
        await ctx.rooms.leave(await act_as(who, body.persona_id), room_id)
        return Response(status_code=204)

    @api.get("/rooms/{room_id}/members", tags=["rooms"], summary="Who is in the room")
    async def who_is_here(room_id: str, persona_id: str, who: Auth) -> dict[str, Any]:
        actor = await act_as(who, persona_id)
        entries = await ctx.rooms.who(actor, room_id)
        return {"members": [{"persona": presenters.persona_ref(p), "role": role.value,
                             "online": online, "presence": presenters.presence(online, b)}
                            for p, role, online, b in entries]}

    @api.get("/rooms/{room_id}/events", tags=["rooms"],
             summary="History: a page of retained events, oldest first")
    async def history(room_id: str, persona_id: str, who: Auth,
                      before: Annotated[int | None, Query(ge=1, le=2**53)] = None,
                      limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
        actor = await act_as(who, persona_id)
        events, next_before = await ctx.rooms.history_page(actor, room_id, before, limit)
        return {"events": [presenters.room_event(e) for e in events],
                "next_before": next_before}

    @api.post("/rooms/{room_id}/invites", tags=["rooms"], status_code=201)
    async def invite(room_id: str, body: s.TargetIn, who: Auth) -> dict[str, Any]:
        actor = await act_as(who, body.persona_id)
        target = await ctx.rooms.invite(actor, room_id, body.target_persona_id)
        return {"invited": presenters.persona_ref(target)}

    @api.post("/rooms/{room_id}/roles", tags=["rooms"], summary="Set a member's role (owners)")
    async def set_role(room_id: str, body: s.RoleIn, who: Auth) -> dict[str, Any]:
        actor = await act_as(who, body.persona_id)
        await ctx.rooms.set_role(actor, room_id, body.target_persona_id, body.role)
        return {"persona_id": body.target_persona_id, "role": body.role}

    @api.post("/rooms/{room_id}/kick", tags=["rooms"], status_code=204,
              summary="Remove a member (owners and moderators)")
    async def kick(room_id: str, body: s.TargetIn, who: Auth) -> Response:
        await ctx.rooms.kick(await act_as(who, body.persona_id), room_id,
                             body.target_persona_id)
        return Response(status_code=204)

    # ------------------------------------------------------------ staff

    @api.get("/admin/personas/{persona_id}/account", tags=["staff"],
             summary="Which account owns a persona, and its other personas (staff only)")
    async def persona_owner(persona_id: str, who: Auth) -> dict[str, Any]:
        owner, personas = await ctx.personas.account_of(who.account, persona_id)
        return {"account": presenters.account(owner),
                "personas": [presenters.persona_ref(p) for p in personas]}

    async def account_of(request: Request) -> str | None:
        """The signed-in account, or None (images answer "not found" to strangers,
        never "log in first", so nothing is confirmed to exist)."""
        token = request_token(request)
        if token is None:
            return None
        try:
            account, _ = await ctx.accounts.authenticate(token)
        except NotAuthenticated:
            return None
        return account.id

    routers = [api, build_private_api(ctx.private, Auth, act_as),
               build_scene_api(ctx.private, Auth)]
    if ctx.media is not None and ctx.banks is not None:
        routers.append(build_media_api(ctx.media, ctx.banks, Auth, act_as, account_of))
    if ctx.reports is not None:
        routers.append(build_reports_api(ctx.reports, Auth, act_as))
    return routers
