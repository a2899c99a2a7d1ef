"""Where a request's session token comes from, and cross-site request checks."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from tryst.config import Settings

COOKIE_NAME = "tryst_session"


def bearer_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def request_token(conn: HTTPConnection) -> str | None:
    """A bearer token wins over the cookie: API clients say explicitly who they are."""
    return bearer_token(conn) or conn.cookies.get(COOKIE_NAME) or None


def origin_allowed(conn: HTTPConnection, settings: Settings) -> bool:
    """Browsers send Origin on WebSocket handshakes and unsafe requests. A page on another
    site must not be able to act with a user's cookie, so the origin must be this
    server's own (same host and port) or one the operator listed."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True  # not a browser: it cannot be carrying a victim's cookie
    if origin in settings.allowed_origins:
        return True
    host = conn.headers.get("host", "")
    return bool(host) and urlsplit(origin).netloc.lower() == host.lower()
