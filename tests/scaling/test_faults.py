"""Faults under load, and nothing lost: an API process killed (-9) amid 200 reading submits,
the mail worker killed (-9) amid 100 letters, PostgreSQL restarted under load, and a
graceful stop (SIGTERM) under load.

Every server here is the test's own (PostgreSQL from the machine's binaries, the API and
the worker as OS processes, aiosmtpd) on 127.0.0.1; each loop is bounded.
"""

from __future__ import annotations

import asyncio
import email
import json
import uuid
from collections import Counter
from email import policy

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.read_side_documents import MAIN_SCREEN
from mail.outbox import mail_enqueue
from resolvers.ids import global_id
from tests import cluster
from tests.payments.test_card_payments import START, start_input
from tests.payments.test_live_status import SUBSCRIBE, _messages, _text
from tests.scaling.conftest import sign_in, world_make
from tests.scaling.processes import ApiProcess, WorkerProcess, environment, stopped_at_the_end
from tests.test_readings import SUBMIT, reading

TEMPLATE = "cabinet_template"


@pytest.fixture(scope="module")
async def server():
    """A PostgreSQL of the tests' own (it is restarted below) with a migrated template."""
    from tests.scaling.conftest import database_create

    with cluster.primary_with_replica(replicas=0) as (primary, _):
        await database_create(primary, TEMPLATE)
        yield primary


@pytest.fixture
async def database(server) -> str:
    name = f"cabinet_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    finally:
        await admin.close()
    return server.url_of(name)


def api_environment(url: str, folder, **more: str) -> dict[str, str]:
    return environment(DATABASE_URL=url, CABINET_BUSINESS_DATE="2014-05-26", CABINET_DATA_DIR=str(folder), **more)


async def ledger_of_today(url: str) -> dict[int, dict]:
    """Per personal account: today's readings and the bills formed from them, with lines."""
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            """SELECT r.personal_account_id, r.id AS reading_id, b.number, b.amount,
                      (SELECT count(*) FROM bill_line l WHERE l.bill_id = b.id) AS lines,
                      (SELECT coalesce(sum(l.amount), 0) FROM bill_line l WHERE l.bill_id = b.id) AS lines_total,
                      (SELECT count(*) FROM outbox_message m WHERE m.kind = 'bill_formed'
                         AND m.subject ~ ('(^|[^0-9])' || b.number::text || '([^0-9]|$)')) AS mails
               FROM meter_reading r LEFT JOIN bill b ON b.reading_id = r.id
               WHERE r.taken_on = '2014-05-26'"""
        )
        orphans = await connection.fetchval(
            "SELECT count(*) FROM bill b WHERE b.issued_on = '2014-05-26' AND b.reading_id IS NULL"
        )
    finally:
        await connection.close()
    assert orphans == 0
    ledger: dict[int, dict] = {}
    for row in rows:
        assert row["personal_account_id"] not in ledger, "two readings of one day"
        ledger[row["personal_account_id"]] = dict(row)
    return ledger


def assert_whole(entry: dict) -> None:
    """A reading with its bill, the bill with its lines adding up, and the bill's mail."""
    assert entry["number"] is not None, entry
    assert entry["lines"] >= 1 and entry["lines_total"] == entry["amount"], entry
    assert entry["mails"] == 1, entry


async def test_an_api_process_killed_amid_200_submits_loses_nothing(database, tmp_path):
    world = await world_make(database, metered=200)
    env = api_environment(database, tmp_path)
    with stopped_at_the_end() as processes:
        victim, survivor = ApiProcess(env, tmp_path / "a.log"), ApiProcess(env, tmp_path / "b.log")
        processes += [victim, survivor]
        victim.ready(), survivor.ready()
        token = sign_in(survivor.url, "lysenko")
        headers = {"authorization": f"Bearer {token}"}
        answered_by_victim = 0
        killed = asyncio.Event()

        async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=400)) as http:

            async def submit(n: int, pa: int, base: str) -> tuple[int, dict | None]:
                nonlocal answered_by_victim
                variables = reading(global_id("PersonalAccount", pa), "2014-05-26", TOTAL=48500)
                try:
                    answer = await http.post(
                        f"{base}/graphql", json={"query": SUBMIT, "variables": variables}, headers=headers
                    )
                except httpx.TransportError:
                    return pa, None  # the process died with the request in it
                assert answer.status_code == 200, answer.text
                if base == victim.url:
                    answered_by_victim += 1
                    if answered_by_victim == 10:
                        # Killed here and now, on the loop that reads the answers: with the
                        # rest of its share still in flight (a poll, on a busy machine, could
                        # wake only after the victim had answered them all).
                        victim.kill()
                        killed.set()
                return pa, answer.json()["data"]["meterReadingSubmit"]

            async def kill_when_busy() -> None:
                for _ in range(3000):
                    if killed.is_set():
                        return
                    await asyncio.sleep(0.01)
                await asyncio.to_thread(victim.kill)  # it never answered ten: the assertions say so
                killed.set()

            outcomes = await asyncio.gather(
                *(submit(n, pa, (victim, survivor)[n % 2].url) for n, pa in enumerate(world.metered)),
                kill_when_busy(),
            )
            outcomes = outcomes[:-1]
            assert killed.is_set()
            answered = {pa: result for pa, result in outcomes if result is not None}
            lost = [pa for pa, result in outcomes if result is None]
            assert lost, "the kill found no submit in flight"
            assert all(r["__typename"] == "MeterReadingSubmitSuccess" for r in answered.values()), answered

            # Every answered submit has its reading and a whole bill; nothing else is partial.
            ledger = await ledger_of_today(database)
            for pa, result in answered.items():
                assert_whole(ledger[pa])
                assert str(ledger[pa]["number"]) == result["bill"]["number"]
            for entry in ledger.values():
                assert_whole(entry)

            # The client retries what got no answer: a submit that had committed replays it.
            for pa in lost + list(answered)[:5]:
                had = ledger.get(pa)
                variables = reading(global_id("PersonalAccount", pa), "2014-05-26", TOTAL=48500)
                again = (
                    await http.post(
                        f"{survivor.url}/graphql", json={"query": SUBMIT, "variables": variables}, headers=headers
                    )
                ).json()
                result = again["data"]["meterReadingSubmit"]
                assert result["__typename"] == "MeterReadingSubmitSuccess", again
                assert result["replayed"] is (had is not None)
                if had is not None:
                    assert result["bill"]["number"] == str(had["number"])

    ledger = await ledger_of_today(database)
    assert set(ledger) == set(world.metered)
    for entry in ledger.values():
        assert_whole(entry)


class Sink:
    """aiosmtpd handler keeping every accepted letter; a little slow, as a relay is."""

    def __init__(self) -> None:
        self.letters: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.02)
        self.letters.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 2.0.0 Accepted"


async def test_the_mail_worker_killed_amid_100_letters_sends_each_after_restart(database, tmp_path):
    from config import Settings
    from db import database_for

    db = database_for(Settings(database_url=database))
    try:
        async with db.transaction() as session:
            for n in range(100):
                await mail_enqueue(
                    session=session,
                    kind="password_reset",
                    to=f"person{n}@example.com",
                    language="uk",
                    account_id=None,
                    full_name=f"Особа {n}",
                    login=f"person{n}",
                    link=f"https://cabinet.test/reset#{n}",
                )
    finally:
        await db.dispose()

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=cluster.free_port())
    controller.start()
    try:
        env = api_environment(
            database,
            tmp_path,
            CABINET_SMTP_HOST="127.0.0.1",
            CABINET_SMTP_PORT=str(controller.port),
            CABINET_MAIL_POLL_INTERVAL="0.2",
        )
        with stopped_at_the_end() as processes:
            first = WorkerProcess(env, tmp_path / "worker-1.log")
            processes.append(first)
            for _ in range(3000):
                if len(sink.letters) >= 20 or first.process.poll() is not None:
                    break
                await asyncio.sleep(0.01)
            first.kill()
            before_restart = len(sink.letters)
            assert 20 <= before_restart < 100, before_restart  # killed mid-run

            second = WorkerProcess(env, tmp_path / "worker-2.log")
            processes.append(second)
            connection = await asyncpg.connect(database)
            try:
                for _ in range(600):
                    pending = await connection.fetchval("SELECT count(*) FROM outbox_message WHERE status <> 'SENT'")
                    if pending == 0:
                        break
                    await asyncio.sleep(0.1)
                rows = await connection.fetch("SELECT id, to_address, attempts FROM outbox_message")
            finally:
                await connection.close()
            assert pending == 0, second.output()[-2000:]
    finally:
        controller.stop()

    received = Counter(letter["Message-ID"] for letter in sink.letters)
    addressed = Counter(letter["To"] for letter in sink.letters)
    assert len(received) == len(rows) == 100
    assert set(addressed) == {row["to_address"] for row in rows}
    # At least once: only the letter in the worker's hands when it died can come twice, and
    # then with the same Message-ID (a receiver recognises it).
    twice = [mid for mid, count in received.items() if count > 1]
    assert len(twice) <= 1 and all(count <= 2 for count in received.values()), received.most_common(3)
    assert sum(addressed.values()) == len(sink.letters)


async def test_postgresql_restarted_under_load_fails_only_in_flight_requests_and_retryably(server, database, tmp_path):
    world = await world_make(database, metered=70)
    env = api_environment(database, tmp_path)
    with stopped_at_the_end() as processes:
        processes += [ApiProcess(env, tmp_path / f"api-{n}.log") for n in range(3)]
        for process in processes:
            process.ready()
        tokens = {login: sign_in(processes[0].url, login) for login in ("lysenko", "zakharov")}
        # The third process is busy before the restart and idle through it: its pool then holds
        # connections the restart killed, which it only finds out about when it uses them.
        idle, spare = processes[2], world.metered[60:]
        world.metered = world.metered[:60]
        async with httpx.AsyncClient(timeout=60) as http:
            warm = await asyncio.gather(
                *(
                    http.post(
                        f"{idle.url}/graphql",
                        json={"query": MAIN_SCREEN},
                        headers={"authorization": f"Bearer {tokens['zakharov']}"},
                    )
                    for _ in range(10)
                )
            )
            assert all(a.status_code == 200 and "errors" not in a.json() for a in warm)
        answers: list[tuple[str, bool, dict]] = []  # (what, sent after recovery, answer)
        recovered = False
        restarted = asyncio.Event()
        submits = iter(world.metered)

        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=100)) as http:

            async def ask(n: int, document: str, variables: dict, login: str) -> dict:
                after = recovered
                answer = await http.post(
                    f"{processes[n % 2].url}/graphql",
                    json={"query": document, "variables": variables},
                    headers={"authorization": f"Bearer {tokens[login]}"},
                )
                body = answer.json()
                # Either an answer or SERVICE_UNAVAILABLE (503 before the executor ran).
                assert answer.status_code in (200, 503), answer.text
                if answer.status_code == 503:
                    assert (
                        answer.headers["retry-after"]
                        and body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
                    )
                answers.append((document, after, body))
                return body

            async def client(n: int) -> None:
                for _ in range(400):
                    if recovered and sum(1 for _, after, _ in answers if after) >= 150:
                        return
                    if n % 4 == 0:
                        pa = next(submits, None)
                        if pa is not None:
                            await ask(
                                n,
                                SUBMIT,
                                reading(global_id("PersonalAccount", pa), "2014-05-26", TOTAL=48500),
                                "lysenko",
                            )
                            continue
                    await ask(n, MAIN_SCREEN, {}, "zakharov")

            async def restart() -> None:
                nonlocal recovered
                while len(answers) < 40:
                    await asyncio.sleep(0.01)
                await asyncio.to_thread(server.restart, "fast")
                recovered = True
                restarted.set()

            await asyncio.gather(*(client(n) for n in range(12)), restart())
        assert restarted.is_set()

        def codes(body: dict) -> set[str]:
            return {e.get("extensions", {}).get("code") for e in body.get("errors") or []}

        during = [body for _, after, body in answers if not after]
        after = [body for _, after, body in answers if after]
        failed = [body for body in during if codes(body)]
        assert failed, "the restart caught no request in flight"
        assert all(codes(body) == {"SERVICE_UNAVAILABLE"} for body in failed), failed[:3]
        assert all(body["errors"][0]["extensions"]["retryAfter"] >= 1 for body in failed)
        assert len(after) >= 150 and not [body for body in after if codes(body)], [b for b in after if codes(b)][:3]

        # The idle process: its first requests after the restart find dead pooled connections,
        # take fresh ones, and succeed (queries and mutations alike).
        async with httpx.AsyncClient(timeout=60) as http:
            first = await asyncio.gather(
                *(
                    http.post(
                        f"{idle.url}/graphql",
                        json={"query": MAIN_SCREEN},
                        headers={"authorization": f"Bearer {tokens['zakharov']}"},
                    )
                    for _ in range(10)
                ),
                *(
                    http.post(
                        f"{idle.url}/graphql",
                        json={
                            "query": SUBMIT,
                            "variables": reading(global_id("PersonalAccount", pa), "2014-05-26", TOTAL=48500),
                        },
                        headers={"authorization": f"Bearer {tokens['lysenko']}"},
                    )
                    for pa in spare
                ),
            )
        assert all(a.status_code == 200 and "errors" not in a.json() for a in first), [
            a.text for a in first if a.status_code != 200 or "errors" in a.json()
        ][:3]
        assert all(
            a.json()["data"]["meterReadingSubmit"]["__typename"] == "MeterReadingSubmitSuccess" for a in first[10:]
        )

        # Submits that got SERVICE_UNAVAILABLE are retried: each lands exactly once.
        ledger = await ledger_of_today(database)
        retried = [pa for pa in world.metered if pa not in ledger]
        async with httpx.AsyncClient(timeout=60) as http:
            for pa in world.metered:
                variables = reading(global_id("PersonalAccount", pa), "2014-05-26", TOTAL=48500)
                body = (
                    await http.post(
                        f"{processes[1].url}/graphql",
                        json={"query": SUBMIT, "variables": variables},
                        headers={"authorization": f"Bearer {tokens['lysenko']}"},
                    )
                ).json()
                result = body["data"]["meterReadingSubmit"]
                assert result["__typename"] == "MeterReadingSubmitSuccess", body
                assert result["replayed"] is (pa not in retried)
    ledger = await ledger_of_today(database)
    assert set(ledger) == set(world.metered) | set(spare)
    for entry in ledger.values():
        assert_whole(entry)


async def test_sigterm_under_load_drains_then_finishes_requests_in_flight(database, tmp_path):
    world = await world_make(database, metered=1)
    env = api_environment(database, tmp_path, CABINET_SHUTDOWN_DRAIN="1.5")
    with stopped_at_the_end() as processes:
        api = ApiProcess(env, tmp_path / "api.log")
        processes.append(api)
        api.ready()
        tokens = {login: sign_in(api.url, login) for login in ("lysenko", "zakharov")}
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_keepalive_connections=0)) as http:
            started = (
                await http.post(
                    f"{api.url}/graphql",
                    json={
                        "query": START,
                        "variables": start_input(global_id("PersonalAccount", world.screen), key="drain-1"),
                    },
                    headers={"authorization": f"Bearer {tokens['zakharov']}"},
                )
            ).json()["data"]["paymentStart"]
            assert started["__typename"] == "PaymentStartSuccess", started

            # A submit held in flight: its personal account is locked by another session.
            holder = await asyncpg.connect(database)
            await holder.execute("BEGIN")
            await holder.execute("SELECT 1 FROM personal_account WHERE id = $1 FOR UPDATE", world.metered[0])
            variables = reading(global_id("PersonalAccount", world.metered[0]), "2014-05-26", TOTAL=48500)
            held = asyncio.create_task(
                http.post(
                    f"{api.url}/graphql",
                    json={"query": SUBMIT, "variables": variables},
                    headers={"authorization": f"Bearer {tokens['lysenko']}"},
                )
            )
            for _ in range(400):
                waiting = await holder.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
                if waiting:
                    break
                await asyncio.sleep(0.05)
            assert waiting == 1

            ws = await connect(api.url.replace("http://", "ws://") + "/graphql", subprotocols=["graphql-transport-ws"])
            await ws.send(
                json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {tokens['zakharov']}"}})
            )
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

            # Load, as a balancer sends it: until /readyz says 503.
            drained = asyncio.Event()
            screens: list[int] = []

            async def load() -> None:
                for _ in range(2000):
                    if drained.is_set():
                        return
                    answer = await http.post(
                        f"{api.url}/graphql",
                        json={"query": MAIN_SCREEN},
                        headers={"authorization": f"Bearer {tokens['zakharov']}"},
                    )
                    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
                    screens.append(answer.status_code)

            async def balancer() -> None:
                while len(screens) < 10:
                    await asyncio.sleep(0.01)
                api.terminate()
                for _ in range(400):
                    if (await http.get(f"{api.url}/readyz")).status_code == 503:
                        break
                    await asyncio.sleep(0.02)
                served_when_unready = len(screens)
                # Still serving while it says 503: the balancer's time to take it out.
                assert (
                    await http.post(
                        f"{api.url}/graphql",
                        json={"query": MAIN_SCREEN},
                        headers={"authorization": f"Bearer {tokens['zakharov']}"},
                    )
                ).status_code == 200
                drained.set()
                assert served_when_unready >= 10

            await asyncio.gather(*(load() for _ in range(6)), balancer())

            # After the drain the server stops accepting; the WebSocket gets its close frame.
            with pytest.raises(ConnectionClosed):
                for _ in range(100):
                    await asyncio.wait_for(ws.recv(), timeout=30)
            assert ws.close_code == 1012
            for _ in range(400):
                try:
                    await http.get(f"{api.url}/readyz")
                except httpx.ConnectError:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the server kept accepting")

            # The held submit is still in flight; released, it finishes and is answered.
            assert not held.done()
            await holder.execute("COMMIT")
            await holder.close()
            answer = await asyncio.wait_for(held, timeout=30)
            assert answer.status_code == 200
            assert answer.json()["data"]["meterReadingSubmit"]["__typename"] == "MeterReadingSubmitSuccess"
        assert api.wait(timeout=30) in (0, -15)  # uvicorn ends by re-raising the SIGTERM it handled
    ledger = await ledger_of_today(database)
    assert_whole(ledger[world.metered[0]])
