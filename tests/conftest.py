"""Shared fixtures: a real Tryst server on an ephemeral port, on SQLite and (when
TRYST_TEST_DATABASE_URL is set) on PostgreSQL, with real HTTP and WebSocket clients."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import secrets
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy.engine import make_url

from tests.client import Api, register
from tests.fakes.clock import FakeClock
from tryst.app import Tryst, build, server_config
from tryst.config import Settings

PG_URL = os.environ.get("TRYST_TEST_DATABASE_URL")
PG_SKIP = ("PostgreSQL tests need TRYST_TEST_DATABASE_URL, e.g. "
           "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres (.ci/run sets it)")

# Fast, still real, password hashing and generous limits unless a test asks otherwise.
TEST_SETTINGS = dict(argon2_time_cost=1, argon2_memory_kib=8192, address_rate=1000.0,
                     address_burst=10_000, auth_rate_per_minute=6000.0, auth_burst=1000,
                     message_rate=1000.0, message_burst=1000, log_level="warning")


async def _pg_admin(sql: str) -> None:
    import asyncpg

    assert PG_URL is not None
    url = make_url(PG_URL).set(drivername="postgresql")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    assert PG_URL is not None
    name = f"tryst_test_{secrets.token_hex(6)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'tryst.db'}"
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    with pg_database() as url:
        yield url


@dataclass
class Running:
    base: str
    tryst: Tryst
    clock: Any

    async def user(self, username: str | None = None) -> Api:
        return await register(self.base, username or f"u{secrets.token_hex(4)}")


@contextlib.asynccontextmanager
async def run_server(settings: Settings, clock: Any = None) -> AsyncIterator[Running]:
    """Serve Tryst in this event loop on a real socket bound to an ephemeral port."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets created with it,
    # and without it every second small write waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    tryst = build(replace(settings, port=port), clock=clock)
    server = uvicorn.Server(server_config(tryst))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("server stopped during start-up")
            await asyncio.sleep(0.01)
        yield Running(f"http://127.0.0.1:{port}", tryst, clock)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
        sock.close()


@contextlib.contextmanager
def threaded_server(settings: Settings) -> Iterator[Running]:
    """Run the server on its own event loop in a thread, for synchronous tests (such as
    hypothesis) whose clients use their own event loops."""
    ready: queue.Queue[Running | BaseException] = queue.Queue()
    stop: list[asyncio.AbstractEventLoop | asyncio.Event] = []

    async def main() -> None:
        stopping = asyncio.Event()
        stop.extend([asyncio.get_running_loop(), stopping])
        try:
            async with run_server(settings) as srv:
                ready.put(srv)
                await stopping.wait()
        except BaseException as exc:
            ready.put(exc)
            raise

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    got = ready.get(timeout=60)
    if isinstance(got, BaseException):
        raise got
    try:
        yield got
    finally:
        loop, stopping = stop
        assert isinstance(loop, asyncio.AbstractEventLoop)
        assert isinstance(stopping, asyncio.Event)
        loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout=60)


ServerFactory = Callable[..., contextlib.AbstractAsyncContextManager[Running]]


@pytest.fixture
def server_factory(database_url: str, tmp_path: Path) -> ServerFactory:
    """``async with server_factory(**settings) as srv`` runs a server with those settings."""

    def factory(clock: Any = None, **overrides: Any) -> Any:
        settings = Settings(data_dir=tmp_path, database_url=database_url,
                            **{**TEST_SETTINGS, **overrides})
        return run_server(settings, clock)

    return factory


@pytest.fixture
async def server(server_factory: ServerFactory) -> AsyncIterator[Running]:
    async with server_factory() as srv:
        yield srv


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()
