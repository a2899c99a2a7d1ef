"""The Starlette/FastAPI application: API, OpenAPI docs, WebSocket endpoint, client page."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from tryst import __version__
from tryst.domain.errors import RateLimited, TrystError
from tryst.doors.websocket import WebSocketDoor
from tryst.services.ratelimits import RateLimiter
from tryst.web.api import ApiContext, build_api
from tryst.web.middleware import AddressRateLimit, BodyLimit, SecurityHeaders

MAX_BODY_BYTES = 512 * 1024

DESCRIPTION = """
Tryst's HTTP API. Real-time messaging (say, pose, ooc, whisper, resume) uses the
WebSocket endpoint `/ws`, described in docs/protocol.md.

Authenticate with `Authorization: Bearer <token>` (from `POST /api/v1/accounts` or
`POST /api/v1/sessions` with `"session": "token"`), or with the session cookie in a browser.
Errors are `{"error": {"code", "message", "details"}}` with the codes listed in
docs/protocol.md.
"""


def _error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def create_web_app(ctx: ApiContext, door: WebSocketDoor, address_limiter: RateLimiter,
                   lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]]) -> Any:
    app: FastAPI = FastAPIOffline(title="Tryst", version=__version__, description=DESCRIPTION,
                                  lifespan=lifespan, redoc_url=None)

    @app.exception_handler(TrystError)
    async def tryst_error(_: Request, exc: TrystError) -> JSONResponse:
        headers = {}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return JSONResponse(_error_body(exc.code, exc.message, exc.details),
                            status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"field": ".".join(str(p) for p in err["loc"][1:]) or str(err["loc"][0]),
                     "problem": err["msg"]} for err in exc.errors()[:20]]
        return JSONResponse(_error_body("bad_request", "the request is not valid",
                                        {"errors": problems}), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(_error_body(code, str(exc.detail)), status_code=exc.status_code)

    for router in build_api(ctx):
        app.include_router(router)
    app.add_api_websocket_route("/ws", door)

    index = resources.files("tryst").joinpath("data/index.html").read_text(encoding="utf-8")

    @app.get("/", include_in_schema=False)
    async def home() -> HTMLResponse:
        return HTMLResponse(index, headers={"cache-control": "no-cache"})

    # The web client: plain ES modules and CSS shipped in the package, no build step and
    # nothing loaded from another site (the CSP allows only this origin).
    assets = resources.files("tryst").joinpath("data/web")
    app.mount("/assets", StaticFiles(directory=str(assets)), name="assets")

    app.add_middleware(AddressRateLimit, limiter=address_limiter)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES,
                       per_path={"/api/v1/media": ctx.settings.max_image_bytes})
    app.add_middleware(SecurityHeaders)
    return app


