"""PgBouncer (Debian's) in transaction mode in front of a PostgreSQL of 20 connections, and
four API processes whose pools add up to far more, served through it.

With CABINET_DB_PGBOUNCER=1 every statement is prepared unnamed inside its transaction
(PgBouncer before 1.21 keeps no prepared statements); live payment status LISTENs on a
direct connection (CABINET_DATABASE_LISTEN_URL), since a transaction pooler cannot hold one.
"""

from __future__ import annotations

import asyncio
import json
import subprocess

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from websockets.asyncio.client import connect

from bench.read_side_documents import MAIN_SCREEN
from config import Settings
from resolvers.ids import global_id
from tests import cluster
from tests.payments.test_card_payments import START, bank_message, callback, form_params, start_input
from tests.payments.test_live_status import SUBSCRIBE, _messages, _text
from tests.scaling.conftest import database_create, sign_in, world_make
from tests.scaling.processes import ApiProcess, environment, stopped_at_the_end
from tests.test_readings import SUBMIT, reading

MAX_CONNECTIONS = 20
BOUNCER_POOL = 10
PROCESSES = 4
POOL_SIZE, MAX_OVERFLOW = 10, 5  # 4 × 15 = 60 connections asked for, PostgreSQL has 20


pytestmark = pytest.mark.skipif(
    cluster.pgbouncer_binary() is None, reason="pgbouncer is not installed (apt-get install pgbouncer)"
)


@pytest.fixture(scope="module")
async def bounced(tmp_path_factory):
    with cluster.primary_with_replica(replicas=0, max_connections=str(MAX_CONNECTIONS)) as (primary, _):
        bouncer = cluster.PgBouncer(primary.folder, server_port=primary.port, pool_size=BOUNCER_POOL).start()
        try:
            await database_create(primary)
            world = await world_make(primary.url_of("cabinet"), metered=40)
            data = tmp_path_factory.mktemp("bounced")
            env = environment(
                DATABASE_URL=bouncer.url_of("cabinet"),
                CABINET_DB_PGBOUNCER="1",
                CABINET_DATABASE_LISTEN_URL=primary.url_of("cabinet"),
                CABINET_DB_POOL_SIZE=str(POOL_SIZE),
                CABINET_DB_MAX_OVERFLOW=str(MAX_OVERFLOW),
                CABINET_BUSINESS_DATE="2014-05-26",
                CABINET_DATA_DIR=str(data),
            )
            with stopped_at_the_end() as processes:
                processes += [ApiProcess(env, data / f"api-{n}.log") for n in range(PROCESSES)]
                for process in processes:
                    process.ready()
                yield primary, bouncer, processes, world
        finally:
            bouncer.stop()


def pgbouncer_clients(bouncer: cluster.PgBouncer, primary: cluster.PostgresNode) -> int:
    """Client connections PgBouncer holds for the cabinet's database (its admin console)."""
    shown = subprocess.run(
        [
            str(primary.bin_dir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(bouncer.port),
            "-U",
            "postgres",
            "-At",
            "-F",
            "|",
            "-c",
            "SHOW CLIENTS",
            "pgbouncer",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    return sum(1 for line in shown.splitlines() if line.split("|")[2:3] == ["cabinet"])


async def test_four_processes_beyond_max_connections_work_through_pgbouncer(bounced):
    primary, bouncer, processes, world = bounced
    tokens = {login: sign_in(processes[0].url, login) for login in ("lysenko", "zakharov")}
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as http:

        async def post(n: int, document: str, variables: dict, login: str) -> dict:
            base = processes[n % PROCESSES].url
            answer = await http.post(
                f"{base}/graphql",
                json={"query": document, "variables": variables},
                headers={"authorization": f"Bearer {tokens[login]}"},
            )
            assert answer.status_code == 200, answer.text
            return answer.json()

        submits = [
            post(n, SUBMIT, reading(global_id("PersonalAccount", pa), "2014-05-26", TOTAL=48500), "lysenko")
            for n, pa in enumerate(world.metered)
        ]
        screens = [post(n, MAIN_SCREEN, {}, "zakharov") for n in range(80)]
        answers = await asyncio.gather(*submits, *screens)

    submitted, shown = answers[: len(submits)], answers[len(submits) :]
    assert all(a["data"]["meterReadingSubmit"]["__typename"] == "MeterReadingSubmitSuccess" for a in submitted), (
        submitted
    )
    assert len({a["data"]["meterReadingSubmit"]["bill"]["number"] for a in submitted}) == len(submits)
    assert all("errors" not in a and a["data"]["viewer"]["personalAccounts"][0]["number"] == "8200001" for a in shown)

    server = await asyncpg.connect(primary.url)
    try:
        assert int(await server.fetchval("SHOW max_connections")) == MAX_CONNECTIONS
        serving = await server.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = 'cabinet'")
    finally:
        await server.close()
    # The processes hold more connections than PostgreSQL has; PgBouncer gives them ≤ 10.
    assert pgbouncer_clients(bouncer, primary) > MAX_CONNECTIONS
    assert serving <= BOUNCER_POOL


async def test_aggregators_keys_and_lookups_work_through_pgbouncer(bounced):
    # An API key's check runs on asyncpg itself outside the query's snapshot; behind PgBouncer
    # it too runs inside a transaction (db.Database.read_driver), as every statement there must
    # for its unnamed prepared statement to stay on one server connection. Many at once, over
    # all four processes, with refusals among them.
    from bench.read_side_documents import DEBT_LOOKUP
    from db import Database, create_engine
    from services.api_clients import api_client_create

    primary, bouncer, processes, world = bounced
    url = primary.url_of("cabinet")
    database = Database(create_engine(url, Settings(database_url=url)))
    try:
        async with database.transaction() as s:
            _, key = await api_client_create(session=s, name="bounced kassa", scopes=["debt:read"])
            code, number = (
                await s.execute(
                    text(
                        "SELECT r.code, p.number FROM personal_account p JOIN res r ON r.id = p.res_id "
                        "ORDER BY p.id LIMIT 1"
                    )
                )
            ).one()
    finally:
        await database.dispose()
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as http:

        async def lookup(n: int, api_key: str) -> dict:
            answer = await http.post(
                f"{processes[n % PROCESSES].url}/graphql",
                json={"query": DEBT_LOOKUP, "variables": {"resCode": code, "number": number}},
                headers={"authorization": f"ApiKey {api_key}"},
            )
            assert answer.status_code == 200, answer.text
            return answer.json()

        found = await asyncio.gather(*(lookup(n, key) for n in range(120)))
        refused = await asyncio.gather(*(lookup(n, "not-a-key") for n in range(8)))
    assert all("errors" not in a and a["data"]["debtLookup"]["debt"]["total"] for a in found), found[:3]
    assert all(a["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED" for a in refused), refused[:3]


async def test_live_payment_status_listens_on_a_direct_connection(bounced):
    primary, bouncer, processes, world = bounced
    token = sign_in(processes[0].url, "zakharov")
    async with httpx.AsyncClient(base_url=processes[0].url, timeout=30) as http:
        started = (
            await http.post(
                "/graphql",
                json={
                    "query": START,
                    "variables": start_input(global_id("PersonalAccount", world.screen), key="bounced-1"),
                },
                headers={"authorization": f"Bearer {token}"},
            )
        ).json()["data"]["paymentStart"]
        assert started["__typename"] == "PaymentStartSuccess", started
        form = form_params(started["checkout"])
        websocket = processes[1].url.replace("http://", "ws://") + "/graphql"
        async with connect(websocket, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
            assert (await _text(ws))["type"] == "connection_ack"
            await ws.send(
                json.dumps(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": SUBSCRIBE, "variables": {"id": started["payment"]["id"]}},
                    }
                )
            )
            [first] = await _messages(ws, 1)
            assert first["payload"]["data"]["internetPaymentUpdated"]["status"] == "CREATED"
            # The bank's callback reaches another process; only PostgreSQL's NOTIFY joins them.
            assert (await callback(http, Settings(), bank_message(form, "success"))).status_code == 200
            processed, complete = await _messages(ws, 2)
    assert processed["payload"]["data"]["internetPaymentUpdated"]["status"] == "PROCESSED"
    assert complete["type"] == "complete"

    server = await asyncpg.connect(primary.url)
    try:
        listening = await server.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = 'cabinet' AND query ILIKE 'LISTEN%'"
        )
    finally:
        await server.close()
    assert listening >= 1  # the listener's own session, straight to PostgreSQL
