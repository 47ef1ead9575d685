"""The database connection: opening and migrating, write transactions, and helpers every part shares.

SQLite runs in WAL mode with a busy timeout; all writes of the process go through one connection
and start with ``BEGIN IMMEDIATE``, so a reader that later writes cannot fail at once with
SQLITE_BUSY. A briefly locked database is retried with backoff; nothing is lost.

PostgreSQL serves several instances at once: write transactions use the pool (no process-wide
lock), and a deadlock or serialization failure is retried like a locked SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import zlib
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Table, event, inspect, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
T = TypeVar("T")

_WRITE_RETRIES = 8
# PostgreSQL conditions that mean "try the same transaction again": deadlock, serialization failure.
_RETRYABLE_SQLSTATES = {"40P01", "40001"}
_MIGRATION_LOCK = "acasa:migrate"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def lock_key(name: str) -> int:
    """A stable 32-bit key for a PostgreSQL advisory lock."""
    return zlib.crc32(name.encode()) - 2**31


def insert_ignoring(conn: AsyncConnection, table: Table) -> Any:
    """``INSERT … ON CONFLICT`` for the connection's dialect (both spell it the same way)."""
    return (postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


async def try_singleton(conn: AsyncConnection, name: str) -> bool:
    """True if no other instance holds ``name`` for the rest of this transaction (PostgreSQL);
    always True on SQLite, which one process serves. For periodic jobs that one instance is enough
    to run (retention, hand-off checks)."""
    if conn.dialect.name != "postgresql":
        return True
    result = await conn.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": lock_key(name)})
    return bool(result.scalar_one())


def _sqlite_setup(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "busy_timeout=5000", "synchronous=NORMAL", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = "IMMEDIATE" if connection.get_execution_options().get("write") else "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")


def _head_revision() -> str:
    """The newest migration: revisions are numbered in order (0001_initial.py, 0002_...)."""
    versions = resources.files("bot.store") / "migrations" / "versions"
    return max(p.name.split("_", 1)[0] for p in versions.iterdir() if p.name[:4].isdigit() and p.name.endswith(".py"))


def _at_head(connection: Connection) -> bool:
    """Whether the schema is current, asked without loading alembic (most starts change nothing)."""
    if not inspect(connection).has_table("alembic_version"):
        return False
    found = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return found == [_head_revision()]


def _alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("bot.store") / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    return config


def _upgrade(connection: Connection, url: str) -> None:
    if connection.dialect.name == "postgresql":  # instances starting together migrate one at a time
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(_MIGRATION_LOCK)})
    if _at_head(connection):
        return
    # Alembic logs its plugins, its preamble and a line per migration: one summary line instead.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    config = _alembic_config(url)
    config.attributes["connection"] = connection
    before = MigrationContext.configure(connection).get_current_revision()
    command.upgrade(config, "head")
    after = MigrationContext.configure(connection).get_current_revision()
    if after != before:
        log.info("database schema upgraded from %s to %s", before or "empty", after)


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, OperationalError) and ("locked" in str(exc).lower() or "busy" in str(exc).lower()):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:  # the server went away meanwhile
        return True
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return sqlstate in _RETRYABLE_SQLSTATES
    return False


class Database:
    """An engine plus the one way to write: ``await db.write(work)``."""

    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._write_lock = asyncio.Lock()
        self._write_connection: AsyncConnection | None = None

    @staticmethod
    async def create_engine(url: str) -> AsyncEngine:
        kwargs: dict[str, Any] = {"hide_parameters": True}  # errors never carry people's words into logs
        if url.startswith("postgresql"):
            # No ping before each use (a round trip per query): a connection the server dropped is
            # noticed by the query that fails, discarded, and the write retried (see _retryable).
            kwargs.update(pool_size=10, max_overflow=20, pool_recycle=1800)
        engine = create_async_engine(url, **kwargs)
        if engine.dialect.name == "sqlite":
            _sqlite_setup(engine)
        return engine

    async def migrate(self) -> None:
        url = self.engine.url.render_as_string(hide_password=False)
        async with self.engine.connect() as connection:
            conn = await connection.execution_options(write=True)
            await conn.run_sync(_upgrade, url)
            await conn.commit()

    async def close(self) -> None:
        await self._drop_writer()
        await self.engine.dispose()  # aiosqlite threads are not daemons: always dispose

    async def _writer(self) -> AsyncConnection:
        """SQLite: the connection all writes of this process go through (one writer: no lock
        contention inside the process, no pool round trip per transaction)."""
        if self._write_connection is None or self._write_connection.closed:
            connection = await self.engine.connect()
            self._write_connection = await connection.execution_options(write=True)
        return self._write_connection

    async def write(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``work`` in one write transaction, retrying while the database is briefly locked
        (SQLite) or the transaction lost a deadlock (PostgreSQL)."""
        delay = 0.05
        for attempt in range(_WRITE_RETRIES):
            try:
                if self.is_sqlite:
                    async with self._write_lock:
                        try:
                            conn = await self._writer()
                            async with conn.begin():
                                return await work(conn)
                        except BaseException:
                            await self._drop_writer()
                            raise
                async with self.engine.connect() as conn, conn.begin():
                    return await work(conn)
            except Exception as exc:
                if not _retryable(exc) or attempt == _WRITE_RETRIES - 1:
                    raise
                log.warning("database busy (%s); retrying in %.2f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    def read(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """A connection for reading (``async with db.read() as conn``)."""
        return self.engine.connect()

    async def _drop_writer(self) -> None:
        if self._write_connection is not None:
            with contextlib.suppress(Exception):
                await self._write_connection.close()
            self._write_connection = None


class AlreadyServed(RuntimeError):
    """Another process serves this SQLite file."""


def hold_sqlite_file(url: str) -> Any:
    """Make sure this is the only ``acasa serve`` on a SQLite file: returns an open, locked file
    (keep it for the life of the process), or raises ``AlreadyServed`` with what to do instead."""
    import fcntl
    import os
    from pathlib import Path

    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    path = Path(database).resolve()
    handle = open(f"{path}.lock", "a+")  # noqa: SIM115 - held open for the life of the process
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise AlreadyServed(
            f"{path.name} is already served by {holder}. A SQLite file serves one process only; "
            "to run several instances, use PostgreSQL (DATABASE_URL=postgresql+asyncpg://...)."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"process {os.getpid()}\n")
    handle.flush()
    return handle
