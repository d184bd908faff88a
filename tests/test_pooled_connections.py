"""A pooled connection is handed out only when it is outside any transaction (db.create_engine)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from app import create_app
from db import Database, create_engine, retryable
from i18n import message, pick_language
from schema import execution
from services.demo import DEMO_PASSWORD, demo_basics
from tests.conftest import GraphQLClient, pool_timeouts_counted


async def test_a_connection_whose_begin_was_interrupted_is_not_handed_out_again(settings, monkeypatch):
    # A request cancelled while its snapshot's BEGIN is on the wire (the client went away, or
    # a sibling field's failure cancelled it): asyncpg has already marked the transaction, and
    # SQLAlchemy forgets one that failed to start. Handed out again, that connection would take
    # every later BEGIN for a SAVEPOINT ("SAVEPOINT can only be used in transaction blocks").
    settings.db_pool_size, settings.db_max_overflow = 1, 0  # one connection: the same one comes back
    database = Database(create_engine(settings.database_url, settings))
    try:
        assert await database.read(lambda s: s.scalar(text("SELECT 1"))) == 1
        execute = asyncpg.Connection.execute

        async def begin_cancelled(self, query, *args, **kwargs):
            if query.startswith("BEGIN"):
                raise asyncio.CancelledError()
            return await execute(self, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.Connection, "execute", begin_cancelled)
        interrupted = database.read_snapshot()
        with pytest.raises(asyncio.CancelledError):  # the read ahead's path: BEGIN sent by db.driver_of
            await interrupted.run_driver(lambda connection, seen: connection.fetchval("SELECT 1"))
        await interrupted.close()
        monkeypatch.setattr(asyncpg.Connection, "execute", execute)

        for _ in range(2):
            snapshot = database.read_snapshot()
            try:
                assert await snapshot.run(lambda s: s.scalar(text("SELECT 2"))) == 2
            finally:
                await snapshot.close()
        async with database.transaction() as s:
            assert await s.scalar(text("SELECT 3")) == 3
    finally:
        await database.dispose()


async def test_a_snapshot_whose_begin_was_interrupted_reads_on_a_fresh_connection(settings, monkeypatch):
    # The same within one request: graphql-core cancels a failed field's siblings, and the next
    # read on the request's snapshot must not meet the interrupted BEGIN (nothing was read yet).
    settings.db_pool_size, settings.db_max_overflow = 1, 0
    database = Database(create_engine(settings.database_url, settings))
    try:
        assert await database.read(lambda s: s.scalar(text("SELECT 1"))) == 1  # connected
        execute = asyncpg.Connection.execute

        async def begin_cancelled(self, query, *args, **kwargs):
            if query.startswith("BEGIN"):
                monkeypatch.setattr(asyncpg.Connection, "execute", execute)  # once
                raise asyncio.CancelledError()
            return await execute(self, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.Connection, "execute", begin_cancelled)
        snapshot = database.read_snapshot()
        try:
            with pytest.raises(asyncio.CancelledError):
                await snapshot.run_driver(lambda connection, seen: connection.fetchval("SELECT 1"))
            assert await snapshot.run(lambda s: s.scalar(text("SELECT 2"))) == 2
            assert await snapshot.run_driver(lambda connection, seen: connection.fetchval("SELECT 3")) == 3
        finally:
            await snapshot.close()
    finally:
        await database.dispose()


async def test_reads_cancelled_midway_leave_no_connection_behind_that_fails_the_next(settings):
    # A read on asyncpg itself (an API key's check, the read ahead) or on a request's snapshot,
    # cancelled while its statement runs: the next reads, on the pool and on that snapshot, work.
    settings.db_pool_size, settings.db_max_overflow = 1, 0
    database = Database(create_engine(settings.database_url, settings))
    try:
        snapshot = database.read_snapshot()
        assert await snapshot.run(lambda s: s.scalar(text("SELECT 0"))) == 0
        for read in (
            lambda: database.read_driver(lambda connection, seen: connection.fetchval("SELECT pg_sleep(5)")),
            lambda: snapshot.run_driver(lambda connection, seen: connection.fetchval("SELECT pg_sleep(5)")),
        ):
            task = asyncio.ensure_future(read())
            await asyncio.sleep(0.5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert await snapshot.run(lambda s: s.scalar(text("SELECT 1"))) == 1
        await snapshot.close()
        for _ in range(20):
            assert await database.read_driver(lambda connection, seen: connection.fetchval("SELECT 2")) == 2
            again = database.read_snapshot()
            try:
                assert await again.run(lambda s: s.scalar(text("SELECT 3"))) == 3
            finally:
                await again.close()
    finally:
        await database.dispose()


async def test_a_read_cancelled_while_it_waits_for_a_connection_takes_none_away(settings):
    # The pool's wait runs in a task of its own (db.OwnTaskWaitPool). A caller cancelled while
    # it waits, at any point of the hand-over (before the freed connection reaches it, or just
    # after), leaves the connection in the pool for the next one.
    settings.db_pool_size, settings.db_max_overflow, settings.db_pool_timeout = 1, 0, 5.0
    database = Database(create_engine(settings.database_url, settings))
    pool = database.engine.pool
    try:
        for turns in range(12):
            held = await database.engine.connect()  # the pool's only connection
            await held.execute(text("SELECT 1"))
            waiting = asyncio.ensure_future(database.read_driver(lambda c, seen: c.fetchval("SELECT 1")))
            await asyncio.sleep(0.05)
            await held.close()  # back to the pool: on its way to the waiting read
            for _ in range(turns):
                await asyncio.sleep(0)
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiting
            for _ in range(20):  # a connection given back by a callback is back within a turn or two
                await asyncio.sleep(0)
            assert (pool.checkedout(), pool.checkedin()) == (0, 1), (turns, pool.status())
        assert await database.read_driver(lambda c, seen: c.fetchval("SELECT 2")) == 2
    finally:
        await database.dispose()


async def test_a_read_cancelled_as_its_connection_goes_back_leaves_the_pool_whole(settings):
    # db._driver_once gives the connection back itself. When that waits (the pool has no room
    # for an overflow connection, which is closed), a cancel arriving meanwhile is raised once
    # the connection is closed, and the server keeps exactly the connections the pool holds.
    settings.db_pool_size, settings.db_max_overflow = 1, 1
    database = Database(create_engine(settings.database_url, settings))
    pool = database.engine.pool
    probe = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))

    async def server_connections() -> int:
        # A closed connection's backend leaves pg_stat_activity as it exits, a moment after its
        # socket closed: waited for, up to a few seconds.
        for _ in range(100):
            count = await probe.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cabinet'"
                " AND datname = current_database() AND pid <> pg_backend_pid()"
            )
            if count <= 1:
                return count
            await asyncio.sleep(0.05)
        return count

    async def read_then_cancelled(held) -> None:
        reader = asyncio.current_task()
        assert reader is not None

        async def read(connection, seen):
            value = await connection.fetchval("SELECT 1")
            await held.close()  # the pool is full again: the read's connection will be closed
            asyncio.get_running_loop().call_soon(reader.cancel)  # as that close begins
            return value

        await database.read_driver(read)

    try:
        for _ in range(3):
            held = await database.engine.connect()  # the pool's own connection: the read takes an overflow one
            await held.execute(text("SELECT 1"))
            with pytest.raises(asyncio.CancelledError):
                await asyncio.ensure_future(read_then_cancelled(held))
            assert (pool.checkedout(), pool.checkedin(), pool.overflow()) == (0, 1, 0), pool.status()
            assert await server_connections() == 1
        assert await database.read_driver(lambda c, seen: c.fetchval("SELECT 2")) == 2
    finally:
        await probe.close()
        await database.dispose()


async def test_a_read_in_a_transaction_cancelled_as_it_rolls_back_leaves_the_pool_whole(settings):
    # Behind PgBouncer a read on asyncpg runs in a transaction, rolled back as the connection goes
    # back: a cancel arriving during that ROLLBACK ends the connection (it may still be in the
    # transaction), the pool gets its slot back, and the next read gets a clean connection.
    settings.db_pool_size, settings.db_max_overflow = 1, 0
    database = Database(create_engine(settings.database_url, settings), pgbouncer=True)
    pool = database.engine.pool

    async def read_then_cancelled() -> None:
        reader = asyncio.current_task()
        assert reader is not None

        async def read(connection, seen):
            assert connection.is_in_transaction()
            value = await connection.fetchval("SELECT 1")
            asyncio.get_running_loop().call_soon(reader.cancel)  # as the ROLLBACK begins
            return value

        await database.read_driver(read)

    try:
        for _ in range(3):
            with pytest.raises(asyncio.CancelledError):
                await asyncio.ensure_future(read_then_cancelled())
            assert (pool.checkedout(), pool.checkedin()) == (0, 1), pool.status()

            async def clean(connection, seen):
                assert connection.is_in_transaction()  # its own BEGIN, not one left over
                return await connection.fetchval("SELECT txid_current_if_assigned() IS NULL")

            assert await database.read_driver(clean) is True
    finally:
        await database.dispose()


@contextlib.asynccontextmanager
async def proxy_to(url: str) -> AsyncIterator[dict]:
    """A TCP proxy on 127.0.0.1 to the database of `url`: {"url": the same URL through it,
    "silent": False}; set "silent" and new connections are accepted but never answered (a
    server that hangs). It stops with the block."""
    parts = urlsplit(url)
    state: dict = {"silent": False}

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if state["silent"]:
            await reader.read()  # until the client gives up
            writer.close()
            return
        if socket_folder:  # the embedded server listens on a Unix socket
            up = asyncio.open_unix_connection(f"{socket_folder}/.s.PGSQL.{parts.port or 5432}")
        else:
            up = asyncio.open_connection(parts.hostname, parts.port or 5432)
        up_reader, up_writer = await up
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    query = parse_qs(parts.query)
    socket_folder = query.pop("host", [None])[0]
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    netloc = f"{parts.username}@127.0.0.1:{port}" if parts.username else f"127.0.0.1:{port}"
    state["url"] = urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, doseq=True)))
    try:
        yield state
    finally:
        server.close()


async def test_a_connect_that_times_out_in_a_resolver_moved_to_its_own_task_fails_only_its_read(settings):
    # The walk starts a resolver in the request's task and hands it to a task of its own once
    # it waits (schema/execution.py). A connect begun there (a pooled connection found
    # invalidated connects again) used to have its timeout cancel the request's task; the
    # connect runs in a task of its own (db._in_own_task), so only the read fails, retryably.
    settings.db_pool_timeout = 0.5
    async with proxy_to(settings.database_url) as proxy:
        database = Database(create_engine(proxy["url"], settings, connect_timeout=0.3, pool_size=1))
        try:
            assert await database.read_driver(lambda c, seen: c.fetchval("SELECT 1")) == 1
            proxy["silent"] = True  # the server hangs from now on
            async with database.engine.connect() as connection:
                await connection.invalidate()  # its pooled connection: connects again when next taken
            reads = [execution._started(database.read_driver(lambda c, seen: c.fetchval("SELECT 2"))) for _ in range(2)]
            with pytest.raises(Exception) as failed:  # noqa: PT011 - which one depends on the order
                await execution._together(reads)
            assert retryable(failed.value), repr(failed.value)
            current = asyncio.current_task()
            assert current is not None and current.cancelling() == 0
        finally:
            await database.dispose()


async def test_a_request_that_finds_every_connection_busy_gets_a_retryable_error(db, settings):
    # The pool keeps its connections and opens no extra ones (an overflow connection is closed
    # as it comes back: under load each request past the pool would open its own). A request
    # that finds them all busy waits db_pool_timeout, then is told to retry, not masked as a 500.
    await demo_basics(db, settings)
    settings.db_pool_size, settings.db_max_overflow, settings.db_pool_timeout = 1, 0, 0.2
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://cabinet.test") as http:
            gql = GraphQLClient(http)
            await gql.sign_in("lysenko", DEMO_PASSWORD)
            query = "{ viewer { login personalAccounts { number debt { total } } } }"
            waits = pool_timeouts_counted(app.state.db.engine)
            async with app.state.db.engine.connect() as held:  # the pool's only connection
                await held.execute(text("SELECT 1"))
                busy = await gql(query)
                # The read ahead met the timeout; the resolvers and graphql-core's run after
                # the walk fail at once with it instead of waiting again.
                assert waits == ["TimeoutError"], waits
                # Sibling fields: the first one's wait began in the request's task and ended in
                # its own (the walk's eager start); its timeout must not cancel the request.
                siblings = await gql("{ a: viewer { login } b: viewer { login } }")
                assert waits == ["TimeoutError"] * 2, waits
                # Readiness does not wait for a connection the requests hold: it is ready.
                ready = await http.get("/readyz")
                assert ready.status_code == 200 and len(waits) == 2, (ready.text, waits)
                # Outside GraphQL too (the bank's callback opens its transaction first): a
                # retryable 503, not Starlette's bare 500.
                callback = await http.post("/payments/liqpay/callback", data={"data": "e30=", "signature": "x"})
                assert callback.status_code == 503 and callback.headers["retry-after"] == "1", callback.text
                assert callback.text == message("SERVICE_UNAVAILABLE", pick_language(None)), callback.text
            assert [e["extensions"]["code"] for e in busy["errors"]] == ["SERVICE_UNAVAILABLE"], busy
            assert {e["extensions"]["code"] for e in siblings["errors"]} == {"SERVICE_UNAVAILABLE"}, siblings
            assert busy["errors"][0]["extensions"]["retryAfter"] == 1
            refused = await http.post("/payments/liqpay/callback", data={"data": "e30=", "signature": "x"})
            assert 400 <= refused.status_code < 500, refused.text  # the same bad callback, pool free
            again = await gql(query)
            assert again["data"]["viewer"]["login"] == "lysenko", again
            assert app.state.db.engine.pool.checkedin() == 1  # the one connection, kept
    finally:
        await app.state.db.dispose()
