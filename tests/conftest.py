"""Fixtures: a real PostgreSQL (embedded, or DATABASE_URL's server), a fresh database per test.

Migrations run once into a template database; each test gets a copy of it
and the copies are dropped at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from pglast.parser import fingerprint
from sqlalchemy import event
from sqlalchemy.engine import Engine

from config import Settings
from db import Database, EmbeddedPostgres, create_engine, migrate
from scripts.shard_check import TESTS_OWN, statements_of_log
from tests.callers import SIGN_IN

DEMO_DATE = dt.date(2014, 5, 26)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def server_url() -> str:
    """The URL of a maintenance database on the server the tests use."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    folder = Path(tempfile.mkdtemp(prefix="cab-", dir="/tmp"))
    embedded = EmbeddedPostgres(folder)
    capture = Path(os.environ[STATEMENT_LOG]).resolve() if os.environ.get(STATEMENT_LOG) else None
    try:
        url = embedded.start()
        if capture:
            asyncio.run(_log_every_statement(url))
        yield url
    finally:
        embedded.stop()
        if capture:
            _write_statements(embedded.pgdata / "log", capture)
        shutil.rmtree(folder, ignore_errors=True)


# CABINET_TEST_STATEMENT_LOG=path: every statement the embedded server runs over the session
# is logged by the server itself (so the reads sent on asyncpg directly are caught too) and
# written to `path` at the end, one JSON object a line (the statement and the connection's
# application_name: the app's engine says "cabinet"), for scripts/shard_check.py. Only the
# embedded server is captured: a DATABASE_URL server's settings are not the suite's to change.
STATEMENT_LOG = "CABINET_TEST_STATEMENT_LOG"
# A test's own statements (its setup and its checks, sent on the app's engines from test code)
# are marked with a comment (TESTS_OWN), so that the check counts only what the app runs.
REPOSITORY = Path(__file__).resolve().parent.parent
TESTS = REPOSITORY / "tests"
DB_MODULE = str(REPOSITORY / "db.py")


def _tests_own_statement(conn, cursor, statement, parameters, context, executemany):
    """before_cursor_execute: mark the statement when the nearest code of the repository on
    the stack is a test's (not the app's code a test calls); else note where it came from."""
    import greenlet

    if statement.startswith(TESTS_OWN):
        return statement, parameters  # marked already (by another listener of this kind)
    frame = sys._getframe(1)
    # Async SQLAlchemy runs this in a greenlet; the awaiting coroutines are in its parent's frames.
    parent = greenlet.getcurrent().parent
    frames = [frame, parent.gr_frame if parent is not None else None]
    for frame in frames:
        while frame is not None:
            path = frame.f_code.co_filename
            # db.py is the plumbing: a flush at the end of `db.transaction()` belongs to its caller.
            if path.startswith(f"{REPOSITORY}{os.sep}") and "/.venv/" not in path and path != DB_MODULE:
                if path.startswith(f"{TESTS}{os.sep}"):
                    return TESTS_OWN + statement, parameters
                _ORIGINS.setdefault(statement, set()).add(
                    f"{Path(path).relative_to(REPOSITORY)}:{frame.f_code.co_name}"
                )
                return statement, parameters
            frame = frame.f_back
    return statement, parameters


# Where in the app each statement sent through SQLAlchemy came from (the nearest function of
# the repository on the stack), written beside the capture as <path>.origins.json.
_ORIGINS: dict[str, set[str]] = {}


if os.environ.get(STATEMENT_LOG):
    event.listen(Engine, "before_cursor_execute", _tests_own_statement, retval=True)


async def _log_every_statement(url: str) -> None:
    admin = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await admin.execute("ALTER SYSTEM SET log_statement = 'all'")
        # Not the parameters' values (a stored PDF's bytes, say): the statements are what is checked.
        await admin.execute("ALTER SYSTEM SET log_parameter_max_length = 0")
        await admin.execute("ALTER SYSTEM SET log_line_prefix = '%m [%p] <%a> '")
        await admin.execute("SELECT pg_reload_conf()")
    finally:
        await admin.close()


def _write_statements(server_log: Path, into: Path) -> None:
    into.parent.mkdir(parents=True, exist_ok=True)
    with server_log.open(encoding="utf-8", errors="replace") as lines, into.open("w", encoding="utf-8") as out:
        for application, sql in statements_of_log(lines):
            out.write(json.dumps({"application": application, "sql": sql}, ensure_ascii=False) + "\n")
    origins: dict[str, set[str]] = {}
    for sql, places in _ORIGINS.items():
        with contextlib.suppress(Exception):  # a statement pglast cannot read has no shape
            origins.setdefault(fingerprint(sql), set()).update(places)
    Path(f"{into}.origins.json").write_text(json.dumps({k: sorted(v) for k, v in sorted(origins.items())}, indent=1))


@pytest.fixture(scope="session")
async def template_database(server_url: str) -> AsyncIterator[str]:
    name = f"cabinet_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        await asyncio.to_thread(migrate, _with_database(server_url, name))
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


class _FreshDatabases:
    """Databases copied from the migrated template, one made ahead while a test runs: a
    CREATE DATABASE takes a few hundred milliseconds, most of which then overlaps the test
    before instead of adding to it. One admin connection, its statements taking turns."""

    def __init__(self, admin: asyncpg.Connection, template: str) -> None:
        self.admin = admin
        self.template = template
        self.turn = asyncio.Lock()
        self.ahead: asyncio.Task[str] | None = None

    async def _create(self) -> str:
        name = f"cabinet_t_{uuid.uuid4().hex[:12]}"
        async with self.turn:
            await self.admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}" STRATEGY WAL_LOG')
        return name

    async def take(self) -> str:
        name = await (self.ahead or asyncio.ensure_future(self._create()))
        self.ahead = asyncio.ensure_future(self._create())
        return name

    async def drop(self, name: str) -> None:
        async with self.turn:
            await self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def close(self) -> None:
        if self.ahead is not None:
            with contextlib.suppress(Exception):
                await self.drop(await self.ahead)
        await self.admin.close()


@pytest.fixture(scope="session")
async def fresh_databases(server_url: str, template_database: str) -> AsyncIterator[_FreshDatabases]:
    databases = _FreshDatabases(await asyncpg.connect(_asyncpg_dsn(server_url)), template_database)
    try:
        yield databases
    finally:
        await databases.close()


@pytest.fixture
async def database_url(server_url: str, fresh_databases: _FreshDatabases) -> AsyncIterator[str]:
    """A fresh, migrated database for one test, dropped afterwards."""
    name = await fresh_databases.take()
    try:
        yield _with_database(server_url, name)
    finally:
        await fresh_databases.drop(name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        business_date=DEMO_DATE,
        demo=True,
        public_url="https://cabinet.test",
        throttle_free_failures=5,
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(create_engine(settings.database_url, settings))
    yield database
    await database.dispose()


@pytest.fixture
async def app(settings: Settings):
    from app import create_app

    application = create_app(settings)
    yield application
    await application.state.db.dispose()


class GraphQLClient:
    """Posts GraphQL to the app over ASGI, as a client would over HTTP."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.token: str | None = None

    async def __call__(
        self,
        query: str,
        variables: dict | None = None,
        *,
        token: str | None = None,
        headers: dict | None = None,
    ) -> dict:
        all_headers = {"content-type": "application/json"}
        bearer = token or self.token
        if bearer:
            all_headers["authorization"] = f"Bearer {bearer}"
        all_headers.update(headers or {})
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def token_create(self, login: str, password: str, *, headers: dict | None = None) -> dict:
        """tokenCreate's payload, whatever it is (the one sign-in call of the suite)."""
        result = await self(SIGN_IN, {"l": login, "p": password}, headers=headers)
        assert "errors" not in result, result
        return result["data"]["tokenCreate"]

    async def sign_in(self, login: str, password: str) -> dict:
        """Sign in, which must succeed; later calls carry the access token."""
        payload = await self.token_create(login, password)
        assert payload["__typename"] == "TokenCreateSuccess", payload
        self.token = payload["accessToken"]
        return payload


def pool_timeouts_counted(engine) -> list[str]:
    """The pool timeouts met on this engine from now on, by exception name: each one is a
    wait of db_pool_timeout some request sat through."""
    pool = engine.pool
    checkout, waits = pool._do_get, []

    def counted():
        try:
            return checkout()
        except Exception as error:
            waits.append(type(error).__name__)
            raise

    pool._do_get = counted
    return waits


class StatementCounter:
    """The SQL statements the app's engine runs inside `with statements() as counted:`."""

    def __init__(self, engine) -> None:
        self.engine = engine.sync_engine
        self.statements: list[str] = []

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, *args) -> None:
        self.statements.append(statement)


@pytest.fixture
def statements(app):
    """Count the app's statements: `with statements() as counted: …; len(counted.statements)`."""
    return lambda: StatementCounter(app.state.db.engine)


@pytest.fixture
async def http(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://cabinet.test") as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)
