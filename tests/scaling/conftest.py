"""Fixtures for the deployment beyond one server: PostgreSQL servers of the tests' own (a
primary, a streaming replica, PgBouncer in front) and the cabinet's database on them.

These tests start their servers from the binaries on the machine (tests/cluster.py); they
skip, saying why, only where those are missing. CABINET_CLUSTER_TESTS=0 leaves them out
(CI runs them in its first pass only: they bring their own servers, whatever DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import asyncpg
import pytest

from db import migrate
from tests import cluster


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    mine = [item for item in items if str(item.path).startswith(here + os.sep)]
    if os.environ.get("CABINET_CLUSTER_TESTS") == "0":
        skip = pytest.mark.skip(reason="cluster tests are off: CABINET_CLUSTER_TESTS=0 (CI runs them in one pass)")
    elif cluster.binaries() is None:
        skip = pytest.mark.skip(reason="no PostgreSQL server binaries with pg_basebackup on this machine")
    else:
        return
    for item in mine:
        item.add_marker(skip)


DATABASE = "cabinet"


@dataclass
class Replicated:
    primary: cluster.PostgresNode
    replica: cluster.PostgresNode

    @property
    def primary_url(self) -> str:
        return self.primary.url_of(DATABASE)

    @property
    def replica_url(self) -> str:
        return self.replica.url_of(DATABASE)


async def database_create(node: cluster.PostgresNode, name: str = DATABASE) -> str:
    """A migrated database on `node`; its URL."""
    admin = await asyncpg.connect(node.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = node.url_of(name)
    await asyncio.to_thread(migrate, url)
    return url


@pytest.fixture(scope="module")
def replicated_servers() -> Iterator[tuple[cluster.PostgresNode, cluster.PostgresNode]]:
    with cluster.primary_with_replica() as (primary, [replica]):
        yield primary, replica


@pytest.fixture(scope="module")
async def replicated(replicated_servers) -> AsyncIterator[Replicated]:
    """A primary with one streaming replica and the cabinet's migrated database on it."""
    primary, replica = replicated_servers
    await database_create(primary)
    yield Replicated(primary=primary, replica=replica)


@dataclass
class World:
    """What the load runs on: lysenko's metered personal accounts (48200 kWh on 27.04.2014)
    and zakharov's one account with a history (the main screen)."""

    metered: list[int]
    screen: int


async def world_make(url: str, *, metered: int) -> World:
    """The demo basics, tariffs, `metered` personal accounts for lysenko, one for zakharov."""
    import datetime as dt

    from config import Settings
    from db import database_for
    from services.demo import demo_basics
    from tests.builders import history_make, metered_account_make, personal_account_make, tariffs_make

    settings = Settings(database_url=url, business_date=dt.date(2014, 5, 26), demo=True)
    db = database_for(settings)
    try:
        await demo_basics(db, settings)
        async with db.transaction() as s:
            await tariffs_make(s)
            accounts = [
                await metered_account_make(
                    s,
                    number=f"{7100000 + n}",
                    login="lysenko",
                    zones=["TOTAL"],
                    last_values=[48200],
                    last_taken_on=dt.date(2014, 4, 27),
                )
                for n in range(metered)
            ]
            screen = await personal_account_make(s, number="8200001", login="zakharov")
            await history_make(s, personal_account_id=screen, bills=6, start_number=72_000_000)
    finally:
        await db.dispose()
    return World(metered=accounts, screen=screen)


SIGN_IN = """mutation($l: String!, $p: String!) { tokenCreate(login: $l, password: $p) {
  ... on TokenCreateSuccess { accessToken } ... on Error { code } } }"""


def sign_in(base_url: str, login: str) -> str:
    """An access token for a demo login, over HTTP."""
    import httpx

    from services.demo import DEMO_PASSWORD

    answer = httpx.post(
        f"{base_url}/graphql", json={"query": SIGN_IN, "variables": {"l": login, "p": DEMO_PASSWORD}}, timeout=30
    )
    return answer.json()["data"]["tokenCreate"]["accessToken"]
