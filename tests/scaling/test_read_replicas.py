"""Query snapshots on a real streaming replica (pg_basebackup -R, a second postgres).

Which server answered is told by the data itself: with the replica's replay paused, a row
changed on the primary is missing on the replica, so the main screen shows the old value
when the replica served it and the new one when the primary did.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from bench.read_side_documents import MAIN_SCREEN
from config import Settings
from db import ReplicaLost, database_for
from resolvers.ids import global_id
from services.demo import DEMO_PASSWORD, demo_basics
from tests.builders import metered_account_make, tariffs_make
from tests.conftest import DEMO_DATE, GraphQLClient, pool_timeouts_counted
from tests.test_readings import SUBMIT, reading

# A second screen beside the main screen: another selection, read by its resolvers on one snapshot.
SCREEN_GENERAL = """query { terms { version } viewer { login personalAccounts { number address
  lastReading { takenOn values { value } } debt { total }
  bills(first: 5) { totalCount edges { node { number amount status } } } } } }"""


def settings_for(replicated, tmp_path, **updates) -> Settings:
    return Settings(
        **{
            "database_url": replicated.primary_url,
            "database_replica_urls": replicated.replica_url,
            # Replay is paused on purpose below: a generous bound unless a test is about it.
            "database_replica_max_lag": 120.0,
            "database_replica_check_interval": 0.05,
            "data_dir": tmp_path,
            "business_date": DEMO_DATE,
            "demo": True,
            "public_url": "https://cabinet.test",
            **updates,
        }
    )


@contextlib.asynccontextmanager
async def app_running(settings: Settings) -> AsyncIterator[tuple[object, GraphQLClient]]:
    from app import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://cabinet.test") as http:
            yield application, GraphQLClient(http)


@pytest.fixture(scope="module")
async def customer(replicated, tmp_path_factory):
    """lysenko with a metered personal account (48200 kWh on 27.04.2014), on the primary."""
    settings = settings_for(replicated, tmp_path_factory.mktemp("data"))
    db = database_for(settings.model_copy(update={"database_replica_urls": ""}))
    try:
        await demo_basics(db, settings)
        async with db.transaction() as s:
            await tariffs_make(s)
            pa = await metered_account_make(
                s,
                number="7000001",
                login="lysenko",
                zones=["TOTAL"],
                last_values=[48200],
                last_taken_on=dt.date(2014, 4, 27),
            )
    finally:
        await db.dispose()
    return pa


@contextlib.asynccontextmanager
async def replay_paused(replicated) -> AsyncIterator[None]:
    connection = await asyncpg.connect(replicated.replica_url)
    try:
        await connection.execute("SELECT pg_wal_replay_pause()")
        yield
    finally:
        await connection.execute("SELECT pg_wal_replay_resume()")
        await connection.close()


async def primary_execute(replicated, sql: str, *args) -> None:
    connection = await asyncpg.connect(replicated.primary_url)
    try:
        await connection.execute(sql, *args)
    finally:
        await connection.close()


async def replica_caught_up(application, replicated) -> None:
    """Until the app's last check saw the replica at the primary's current WAL position."""
    connection = await asyncpg.connect(replicated.primary_url)
    try:
        target = await connection.fetchval("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint")
    finally:
        await connection.close()
    replica = application.state.db.replicas.replicas[0]
    for _ in range(400):
        if replica.state == "ok" and replica.replayed >= target:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the replica did not catch up: {replica}")


async def address_shown(gql: GraphQLClient, document: str = MAIN_SCREEN) -> str:
    result = await gql(document)
    assert "errors" not in result, result
    [account] = result["data"]["viewer"]["personalAccounts"]
    return account["address"]


async def test_the_main_screen_is_read_on_the_replica(replicated, customer, tmp_path):
    settings = settings_for(replicated, tmp_path)
    async with app_running(settings) as (application, gql):
        await gql.sign_in("lysenko", DEMO_PASSWORD)
        await replica_caught_up(application, replicated)
        before = await address_shown(gql)
        async with replay_paused(replicated):
            await primary_execute(
                replicated, "UPDATE personal_account SET address = 'на первинному' WHERE id = $1", customer
            )
            # The replica has not replayed the change: both paths answer from it.
            assert await address_shown(gql) == before
            assert await address_shown(gql, SCREEN_GENERAL) == before
            ready = (await gql.http.get("/readyz")).json()
            assert ready == {"status": "ok", "reads": "replicas", "replicas": [ready["replicas"][0]]}
            assert ready["replicas"][0]["state"] == "ok"
        await replica_caught_up(application, replicated)
        assert await address_shown(gql) == "на первинному"


async def test_a_submitted_reading_is_in_its_answer_and_in_the_next_reads(replicated, customer, tmp_path):
    settings = settings_for(replicated, tmp_path)
    pa_id = global_id("PersonalAccount", customer)
    async with app_running(settings) as (application, gql):
        await gql.sign_in("lysenko", DEMO_PASSWORD)
        await replica_caught_up(application, replicated)
        async with replay_paused(replicated):
            submitted = (await gql(SUBMIT, reading(pa_id, "2014-05-26", TOTAL=48500)))["data"]["meterReadingSubmit"]
            assert submitted["__typename"] == "MeterReadingSubmitSuccess", submitted
            assert submitted["personalAccount"]["lastReading"]["values"] == [{"value": 48500}]
            assert submitted["bill"]["amount"] == "97.51"
            # The replica lacks the reading (replay is paused), yet the person's next reads have it:
            # after their own write they read on the primary.
            for document in (MAIN_SCREEN, SCREEN_GENERAL):
                result = await gql(document)
                [account] = result["data"]["viewer"]["personalAccounts"]
                assert account["lastReading"]["values"][0]["value"] == 48500, result
            # Someone else's (anonymous) read still goes to the replica, which has no such bill.
            terms = await gql("{ terms { version } }", token=None)
            assert terms["data"]["terms"]["version"]
        # Once the replica has the write, the person's reads are back on it: a change the
        # replica has not replayed is not seen.
        await replica_caught_up(application, replicated)
        async with replay_paused(replicated):
            await primary_execute(
                replicated, "UPDATE personal_account SET address = 'ще не на репліці' WHERE id = $1", customer
            )
            assert await address_shown(gql) != "ще не на репліці"


async def test_a_lagging_replica_is_skipped_and_readyz_says_so(replicated, customer, tmp_path):
    settings = settings_for(replicated, tmp_path, database_replica_max_lag=0.3)
    async with app_running(settings) as (application, gql):
        await gql.sign_in("lysenko", DEMO_PASSWORD)
        await replica_caught_up(application, replicated)
        replica = application.state.db.replicas.replicas[0]
        async with replay_paused(replicated):
            await primary_execute(
                replicated, "UPDATE personal_account SET address = 'поки репліка стоїть' WHERE id = $1", customer
            )
            for _ in range(200):
                if replica.state == "lagging":
                    break
                await asyncio.sleep(0.05)
            ready = (await gql.http.get("/readyz")).json()
            assert ready["status"] == "ok" and ready["reads"] == "primary"
            assert ready["replicas"][0]["state"] == "lagging" and ready["replicas"][0]["lagSeconds"] > 0.3
            assert await address_shown(gql) == "поки репліка стоїть"  # from the primary
        await replica_caught_up(application, replicated)
        assert (await gql.http.get("/readyz")).json()["replicas"][0]["state"] == "ok"


async def test_a_snapshot_that_loses_its_replica_midway_says_so(replicated, customer, tmp_path):
    """The unit under the view's retry: a replica failing after the first read poisons the
    snapshot (ReplicaLost), so no answer mixes a replica's moment with the primary's."""
    settings = settings_for(replicated, tmp_path)
    db = database_for(settings)
    try:
        await db.replicas.check()
        replica = db.replicas.replicas[0]
        assert replica.state == "ok"

        async def chosen():
            return replica

        snapshot = db.read_snapshot(replica=chosen)
        server = lambda s: s.execute(text("SELECT pg_is_in_recovery(), pg_backend_pid()"))  # noqa: E731
        in_recovery, pid = (await snapshot.run(server)).one()
        assert in_recovery is True and snapshot.replica is replica
        await replica_backend_terminate(replicated, pid)
        with pytest.raises(ReplicaLost):
            await snapshot.run(server)
        with pytest.raises(ReplicaLost):
            await snapshot.run(server)  # and every later read of this snapshot
        assert snapshot.lost
        await snapshot.close()

        # A fresh snapshot whose replica connection is dead before the first read: the read
        # is simply served by the primary.
        snapshot = db.read_snapshot(replica=chosen)
        in_recovery, pid = (await snapshot.run(server)).one()
        await snapshot.close()
        await replica_backend_terminate(replicated, pid)  # that pooled connection is now dead
        snapshot = db.read_snapshot(replica=chosen)
        in_recovery, _ = (await snapshot.run(server)).one()
        assert in_recovery is False and snapshot.replica is None and not snapshot.lost
        await snapshot.close()
    finally:
        await db.dispose()


async def replica_backend_terminate(replicated, pid: int) -> None:
    connection = await asyncpg.connect(replicated.replica_url)
    try:
        assert await connection.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
    finally:
        await connection.close()


async def test_the_replica_stopped_under_load_fails_no_request(replicated, customer, tmp_path):
    settings = settings_for(replicated, tmp_path)
    answers: list[dict] = []
    stopped = asyncio.Event()
    async with app_running(settings) as (application, gql):
        await gql.sign_in("lysenko", DEMO_PASSWORD)
        await replica_caught_up(application, replicated)

        async def reader(document: str) -> None:
            # Bounded: until shortly after the replica is gone.
            for _ in range(400):
                result = await gql.http.post(
                    "/graphql",
                    json={"query": document},
                    headers={"authorization": f"Bearer {gql.token}"},
                )
                answers.append({"status": result.status_code, **result.json()})
                if stopped.is_set() and len(answers) > 60:
                    return

        async def stop_replica() -> None:
            while len(answers) < 30:
                await asyncio.sleep(0.01)
            await asyncio.to_thread(replicated.replica.stop, "immediate")
            stopped.set()

        try:
            await asyncio.gather(*(reader(d) for d in (MAIN_SCREEN, SCREEN_GENERAL) * 4), stop_replica())
            failed = [a for a in answers if a["status"] != 200 or "errors" in a]
            assert not failed, failed[:3]
            assert all(a["data"]["viewer"]["personalAccounts"][0]["number"] == "7000001" for a in answers)
            ready = (await gql.http.get("/readyz")).json()
            assert ready["status"] == "ok" and ready["reads"] == "primary"
            assert ready["replicas"][0]["state"] == "down"
        finally:
            await asyncio.to_thread(replicated.replica.start)
        await replica_caught_up(application, replicated)
        assert (await gql.http.get("/readyz")).json()["reads"] == "replicas"


async def test_a_token_ended_on_the_primary_is_refused_while_the_replica_lags(replicated, customer, tmp_path):
    # Reads go to the replica, but who the caller is comes from the primary: a session revoked
    # (or a login blocked) there is refused at once, even though the replica has not replayed it.
    settings = settings_for(replicated, tmp_path)
    async with app_running(settings) as (application, gql):
        await gql.sign_in("lysenko", DEMO_PASSWORD)
        await replica_caught_up(application, replicated)
        async with replay_paused(replicated):
            revoked = await gql("mutation { tokenRevoke { __typename ... on TokenRevokeSuccess { revoked } } }")
            assert revoked["data"]["tokenRevoke"] == {"__typename": "TokenRevokeSuccess", "revoked": True}
            for document in (MAIN_SCREEN, SCREEN_GENERAL):
                result = await gql(document)
                assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", result
                assert not result.get("data") or result["data"].get("viewer") is None, result

        await gql.sign_in("lysenko", DEMO_PASSWORD)
        await replica_caught_up(application, replicated)
        assert "errors" not in await gql(MAIN_SCREEN)
        try:
            async with replay_paused(replicated):
                await primary_execute(replicated, "UPDATE account SET status = 'BLOCKED' WHERE login = $1", "lysenko")
                for document in (MAIN_SCREEN, SCREEN_GENERAL):
                    result = await gql(document)
                    assert "errors" in result and not (result.get("data") or {}).get("viewer"), result
        finally:
            await primary_execute(replicated, "UPDATE account SET status = 'ACTIVE' WHERE login = $1", "lysenko")


async def test_requests_holding_every_connection_do_not_make_the_replica_look_down(replicated, customer, tmp_path):
    # The checks have a connection of their own on each server: with the requests' pools all
    # busy (no overflow), a check waiting for one would time out and take the replica for dead.
    settings = settings_for(replicated, tmp_path, db_pool_size=2, db_pool_timeout=0.2)
    db = database_for(settings)
    try:
        await db.replicas.check()
        replica = db.replicas.replicas[0]
        assert replica.state == "ok"
        async with contextlib.AsyncExitStack() as held:
            for engine in (db.engine, replica.engine):
                for _ in range(2):
                    connection = await held.enter_async_context(engine.connect())
                    await connection.execute(text("SELECT 1"))
            before = replica.replayed
            await primary_execute(replicated, "UPDATE personal_account SET address = address WHERE id = $1", customer)
            for _ in range(100):
                await db.replicas.check()
                if replica.replayed > before:
                    break
                await asyncio.sleep(0.05)
            assert replica.state == "ok" and replica.replayed > before, replica.report()
    finally:
        await db.dispose()


async def test_every_primary_connection_busy_is_waited_for_once_with_replicas(replicated, customer, tmp_path):
    # With replicas the token is checked on the primary. When all its pooled connections are
    # busy, the request waits one pool timeout and is told to retry; the other fields asking
    # who the caller is are told at once, not after a wait each.
    settings = settings_for(replicated, tmp_path, db_pool_size=1, db_pool_timeout=0.2)
    async with app_running(settings) as (application, gql):
        await gql.sign_in("lysenko", DEMO_PASSWORD)
        await replica_caught_up(application, replicated)
        waits = pool_timeouts_counted(application.state.db.engine)
        async with application.state.db.engine.connect() as held:  # the primary pool's only connection
            await held.execute(text("SELECT 1"))
            busy = await gql("{ a: viewer { login } b: viewer { login } c: viewer { email } }")
            # The main screen reads ahead, where the token check meets the busy pool first.
            screen = await gql(MAIN_SCREEN)
        assert waits == ["TimeoutError"] * 2, waits
        for answer in (busy, screen):
            codes = {e.get("extensions", {}).get("code") for e in answer["errors"]}
            assert codes == {"SERVICE_UNAVAILABLE"}, answer
        again = await gql("{ a: viewer { login } b: viewer { login } }")
        assert again["data"] == {"a": {"login": "lysenko"}, "b": {"login": "lysenko"}}, again
