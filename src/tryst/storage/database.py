"""Engine creation, per-dialect connection setup, and the unit of work."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from tryst.storage.accounts import SqlAccounts, SqlAuthSessions
from tryst.storage.audit import SqlAudit
from tryst.storage.boundaries import SqlBoundaries
from tryst.storage.conversations import SqlConversations
from tryst.storage.hashbanks import SqlCases, SqlHashBanks
from tryst.storage.media import SqlMedia
from tryst.storage.personas import SqlPersonas
from tryst.storage.restrictions import SqlRestrictions
from tryst.storage.rooms import SqlRoomEvents, SqlRooms
from tryst.storage.scenelogs import SqlSceneLogs


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str) -> AsyncEngine:
    """Create the engine; for SQLite, make the data directory and set pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30})

    # pysqlite's own transaction handling defers BEGIN until the first write, which makes
    # read-then-write transactions fail with SQLITE_BUSY under concurrency. Take control:
    # BEGIN IMMEDIATE for write units of work (they queue on the write lock), plain BEGIN
    # for read-only ones (WAL lets them run alongside a writer).
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get("tryst_readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


class SqlUnitOfWork:
    """One database transaction. Leaving the block without ``commit()`` rolls back."""

    accounts: SqlAccounts
    sessions: SqlAuthSessions
    personas: SqlPersonas
    rooms: SqlRooms
    events: SqlRoomEvents
    conversations: SqlConversations
    boundaries: SqlBoundaries
    scenelogs: SqlSceneLogs
    media: SqlMedia
    hashbanks: SqlHashBanks
    cases: SqlCases
    restrictions: SqlRestrictions
    audit: SqlAudit

    def __init__(self, engine: AsyncEngine, readonly: bool = False) -> None:
        self._engine = engine
        self._readonly = readonly
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        conn = await self._engine.connect()
        if self._readonly:
            conn = await conn.execution_options(tryst_readonly=True)
        await conn.begin()
        self._conn = conn
        self.accounts = SqlAccounts(conn)
        self.sessions = SqlAuthSessions(conn)
        self.personas = SqlPersonas(conn)
        self.rooms = SqlRooms(conn)
        self.events = SqlRoomEvents(conn)
        self.conversations = SqlConversations(conn)
        self.boundaries = SqlBoundaries(conn)
        self.scenelogs = SqlSceneLogs(conn)
        self.media = SqlMedia(conn)
        self.hashbanks = SqlHashBanks(conn)
        self.cases = SqlCases(conn)
        self.restrictions = SqlRestrictions(conn)
        self.audit = SqlAudit(conn)
        return self

    async def commit(self) -> None:
        assert self._conn is not None
        await self._conn.commit()

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        assert self._conn is not None
        try:
            if self._conn.in_transaction():
                await self._conn.rollback()
        finally:
            await self._conn.close()
            self._conn = None


class UnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def __call__(self, readonly: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, readonly=readonly)
