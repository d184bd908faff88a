"""`make bench`: a set of documents (bench/world.py's DOCUMENTS), each against its floor and a
peer, side by side, in one run.

    .venv/bin/python -m bench.run [--sizes 10000,200000] [--workers 2] [--seconds 8] [--seconds-others 4]
                                  [--documents main-screen,mobile] [--no-peer] [--no-documents] [--only writes]

1. Data sets made inside PostgreSQL (bench/datagen.py), kept in var/bench between runs.
2. In process, per size and document: the app's answers against the floor's JSON (equal), and
   every statement the app runs EXPLAINed (bench/answers.py).
3. For the largest size, on the same server and settings, each contender started as production
   would start it (2 worker processes) and driven by wrk on the same machine: the app with the
   general executor, the floor (one SQL
   statement per document, bench/floor.py) and PostGraphile v4. Per document: the closed-loop
   maximum, the highest fixed rate whose p95 stays under 50 ms, p50/p95/p99 at three fixed
   rates shared by all, SQL statements and CPU per request; PostGraphile's figures checked.
4. The app's writes and documents: meterReadingSubmit (exactly once checked afterwards),
   tokenCreate, paymentStart and the bank's LiqPay callback (one payment per personal account, one
   credit per confirmed payment, checked afterwards), cached PDF serving, and bench/documents.py's
   in-process figures. `--only writes`: the writes alone, on the largest size.
5. Growth: each document's median at every size at one fixed rate, with its plans.
The tables are printed and saved to var/bench/report.md (bench/report.py); the raw figures to
var/bench/report.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if os.environ.get("BENCH_APP_FROM"):  # --app-from: measure another copy of the app (see main)
    sys.path.insert(0, os.environ["BENCH_APP_FROM"])

from bench import world  # noqa: E402
from bench.answers import peer_check, plans_and_answers  # noqa: E402
from bench.datagen import BENCH_PASSWORD, BUSINESS_DATE, bytes_per_account_estimate, dataset_ensure  # noqa: E402
from bench.load import Result, Server, node_server, uvicorn_server, wrk  # noqa: E402
from bench.pg import BenchServer, database_of, dsn, free_disk_bytes, with_database  # noqa: E402
from bench.report import dump, report  # noqa: E402

DATA = ROOT / "var" / "bench"
NODE_DIR = ROOT / "bench" / ".node"
PEER_DIR = ROOT / "bench" / "postgraphile"
DOCUMENT_SECRET = "bench-document-link-secret-not-for-production"
P95_TARGET_MS = 50.0
PORTS = {"app": 8101, "floor": 8102, "peer": 8103}
LIQPAY_PUBLIC_KEY, LIQPAY_PRIVATE_KEY = "bench_public_key", "bench_private_key"


def log(message: str) -> None:
    print(message, flush=True)


def label(n: int) -> str:
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def nice(rate: float) -> int:
    """A round rate for the shared fixed-rate runs."""
    for step in (1000, 500, 100, 50, 10, 5):
        if rate >= 4 * step:
            return int(rate // step * step)
    return max(1, int(rate))


# --- preparing a data set for a run ---------------------------------------------------------


class Prepared:
    def __init__(self, size: int, url: str) -> None:
        self.size = size
        self.url = url
        self.files: dict[tuple[str, str], Path] = {}  # (contender, document slug) -> request lines
        self.extra_files: dict[str, Path] = {}
        self.logins: list[world.Login] = []
        self.api_key = ""
        self.submit_ids: list[int] = []
        self.pdf_bill_ids: list[int] = []
        self.pay_ids: list[int] = []


async def prepare(server: BenchServer, size: int, url: str, sample: int, documents: list[world.Document]) -> Prepared:
    prepared = Prepared(size, url)
    name = database_of(url)
    folder = DATA / "requests" / name
    folder.mkdir(parents=True, exist_ok=True)
    conn = await server.connect(name)
    try:
        await world.reset(conn, size)
        await conn.execute((PEER_DIR / "schema.sql").read_text())
        ids = await world.sample(conn, min(sample, size), "screen")
        prepared.logins = await world.logins_of(conn, await world.sign_in(conn, ids))
        submit_ids = await world.sample(conn, min(3000, size), "submit")
        prepared.submit_ids = submit_ids
        submit_tokens = await world.sign_in(conn, submit_ids)
        login_ids = await world.sample(conn, min(2000, size), "login")
        prepared.pay_ids = await world.indebted(conn, await world.sample(conn, min(3000, size), "pay"))
        pay_tokens = await world.sign_in(conn, prepared.pay_ids)
        prepared.pdf_bill_ids = [
            r["id"]
            for r in await conn.fetch(
                "SELECT max(id) AS id FROM bill WHERE personal_account_id = ANY($1::bigint[]) GROUP BY personal_account_id",
                ids[:20],
            )
        ]
        # The PDFs are rendered on their first GET: forget earlier runs' copies.
        await conn.execute(
            "DELETE FROM document WHERE key LIKE 'bill:%' AND split_part(key, ':', 2)::bigint = ANY($1::bigint[])",
            prepared.pdf_bill_ids,
        )
        prepared.extra_files = {
            "submit": world.write_lines(folder / "submit.txt", await world.submit_lines(conn, submit_tokens)),
            "token": world.write_lines(
                folder / "token-create.txt", world.token_create_lines(login_ids, BENCH_PASSWORD)
            ),
            "payment_start": world.write_lines(folder / "payment-start.txt", world.payment_start_lines(pay_tokens)),
        }
    finally:
        await conn.close()
    prepared.api_key = await world.aggregator_key(url)
    for doc in documents:
        for contender_name, lines in (
            ("app", world.app_lines(doc, prepared.logins, prepared.api_key)),
            ("floor", world.floor_lines(doc, prepared.logins, prepared.api_key)),
            ("peer", world.peer_lines(doc, prepared.logins)),
        ):
            if lines is not None:
                prepared.files[(contender_name, doc.slug)] = world.write_lines(
                    folder / f"{contender_name}-{doc.slug}.txt", lines
                )
    return prepared


# --- servers --------------------------------------------------------------------------------


def app_env(url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        # An older app (--app-from) had an exact-text fast path for the main screen: off.
        "CABINET_FAST_PATHS": "0",
        "CABINET_BUSINESS_DATE": BUSINESS_DATE.isoformat(),
        "CABINET_DOCUMENT_LINK_SECRET": DOCUMENT_SECRET,
        "CABINET_DOCUMENT_LINK_TTL": "PT2H",
        "CABINET_DATA_DIR": str(DATA / "app"),
        "CABINET_RUN_WORKERS": "0",
        "CABINET_PRODUCTION": "1",
        # Production refuses the sandbox's published keys; the bench signs its callbacks with these.
        "CABINET_LIQPAY_PUBLIC_KEY": LIQPAY_PUBLIC_KEY,
        "CABINET_LIQPAY_PRIVATE_KEY": LIQPAY_PRIVATE_KEY,
        "CABINET_LIQPAY_CHECKOUT_URL": "http://127.0.0.1:9/checkout",
        "CABINET_LIQPAY_API_URL": "http://127.0.0.1:9/request",
    }


async def end_leftovers(server: BenchServer, database: str) -> int:
    """End what an earlier server left running in the database (a query outlives the client
    that gave up on it), so that it does not load the next contender's runs."""
    conn = await server.connect()
    try:
        return len(
            await conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                database,
            )
        )
    finally:
        await conn.close()


def contender(name: str, url: str, workers: int) -> Server:
    """app: the general executor."""
    if name == "app":
        env = app_env(url)
        return uvicorn_server(name, "bench.serve_app:create", PORTS[name], env, workers, "/healthz")
    if name == "floor":
        return uvicorn_server("floor", "bench.floor:create", PORTS["floor"], app_env(url), workers, "/mobile", b"{}")
    return node_server(
        "peer", PEER_DIR / "server.js", NODE_DIR / "node_modules", PORTS["peer"], {"DATABASE_URL": dsn(url)}, workers
    )


def contender_base(name: str) -> str:
    """Where wrk and the checks send a contender's requests (each line carries its path)."""
    return f"http://127.0.0.1:{PORTS[name]}"


def send_lines(base: str, file: Path, count: int) -> list[bytes]:
    """`count` requests from the file, one after another (for counting, not timing)."""
    lines = [l for l in file.read_text(encoding="utf-8").splitlines() if l][:count]
    answers = []
    for line in lines:
        path, auth, body = line.split("\t", 2)
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = auth
        request = urllib.request.Request(base + path, data=body.encode() if body else None, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            answers.append(response.read())
    return answers


async def count_statements(server: BenchServer, database: str, base: str, file: Path, count: int = 40) -> float | None:
    """Statements PostgreSQL ran per request (log_statement = all, read back from its log)."""
    log_file = server.log_file()
    if log_file is None or not log_file.exists():
        return None
    conn = await server.connect()
    try:
        await conn.execute("ALTER SYSTEM SET log_statement = 'all'")
        await conn.execute("SELECT pg_reload_conf()")
        await asyncio.sleep(0.5)
        start = log_file.stat().st_size
        await asyncio.to_thread(send_lines, base, file, count)
        await asyncio.sleep(0.5)
        end = log_file.stat().st_size
        await conn.execute("ALTER SYSTEM SET log_statement = 'none'")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()
    with log_file.open("rb") as stream:
        stream.seek(start)
        text = stream.read(end - start).decode("utf-8", "replace")
    marker = f" {database} "
    statements = sum(
        1 for line in text.splitlines() if marker in line and ("LOG:  statement: " in line or "LOG:  execute " in line)
    )
    return statements / count


# --- measuring one contender ----------------------------------------------------------------


def search_rate(
    url: str, file: Path, seconds: float, db_pid, cpu_of, ceiling: float
) -> tuple[float, Result | None, list]:
    """The highest fixed rate (open loop) whose p95 stays under 50 ms, within ~10%."""
    tried = []
    passed: tuple[float, Result] | None = None
    failed_above = None
    if ceiling < 1:  # it answered nothing in the closed loop: nothing to search
        return 0.0, None, tried
    for fraction in (0.9, 0.75, 0.6, 0.45, 0.3, 0.15, 0.05):
        rate = max(1.0, ceiling * fraction)
        result = wrk(
            url, file, seconds=seconds, connections=fixed_connections(rate), rate=rate, cpu_of=cpu_of, db_pid=db_pid
        )
        ok = result.p95 < P95_TARGET_MS and not result.saturated and result.errors == 0
        tried.append((rate, result.p95, ok))
        if ok:
            passed = (rate, result)
            break
        failed_above = rate
    if passed and failed_above is None:
        # It held at the first try: go up until it does not.
        for fraction in (1.05, 1.2, 1.4, 1.7, 2.0, 2.5, 3.0, 4.0, 5.0):
            rate = ceiling * fraction
            result = wrk(
                url, file, seconds=seconds, connections=fixed_connections(rate), rate=rate, cpu_of=cpu_of, db_pid=db_pid
            )
            ok = result.p95 < P95_TARGET_MS and not result.saturated and result.errors == 0
            tried.append((rate, result.p95, ok))
            if not ok:
                break
            passed = (rate, result)
    elif passed and failed_above:
        rate = (passed[0] + failed_above) / 2
        result = wrk(
            url, file, seconds=seconds, connections=fixed_connections(rate), rate=rate, cpu_of=cpu_of, db_pid=db_pid
        )
        ok = result.p95 < P95_TARGET_MS and not result.saturated and result.errors == 0
        tried.append((rate, result.p95, ok))
        if ok:
            passed = (rate, result)
    if passed is None:
        return 0.0, None, tried
    return passed[0], passed[1], tried


def fixed_connections(rate: float) -> int:
    """Connections for a fixed rate: enough to stay open-loop, few enough that none sits idle
    past the servers' keep-alive timeout (5 s in uvicorn and node) between its requests."""
    return int(min(64, max(8, rate / 2)))


def fixed_seconds(rate: float, seconds: float) -> float:
    """At low rates run longer (up to 3x), so that p95 and p99 rest on ~200 requests or more."""
    return min(max(seconds, 200 / rate), 3 * seconds)


def seconds_of(doc: world.Document, args) -> float:
    """The main screen runs --seconds a step; the other documents --seconds-others, to keep the run short."""
    return args.seconds if doc.main else args.seconds_others


def measure(name: str, srv: Server, file: Path, seconds: float, db_pid, server: BenchServer, database: str) -> dict:
    """One contender on one document: statements, the closed loop and the rate at p95 < 50 ms."""
    base = contender_base(name)
    out: dict = {"load_before": os.getloadavg()[0]}
    wrk(base, file, seconds=max(2.0, seconds / 2), connections=8)  # warm-up: connections, caches, prepared statements
    out["statements"] = asyncio.run(count_statements(server, database, base, file))
    sample = send_lines(base, file, 1)[0]
    out["bytes"] = len(sample)
    out["errors_in_answer"] = b'"errors"' in sample or b'"UNAUTHENTICATED"' in sample
    probe = wrk(base, file, seconds=seconds, connections=16, cpu_of=srv.cpu, db_pid=db_pid)
    out["closed"] = probe
    log(
        f"    {name}: closed loop (16 connections) {probe.rate:.0f}/s, p50 {probe.p50:.1f} ms, p95 {probe.p95:.1f} ms"
        + (" — ERRORS IN THE ANSWER" if out["errors_in_answer"] else "")
    )
    rate, at_rate, tried = search_rate(base, file, seconds, db_pid, srv.cpu, probe.rate)
    out["rate_p95"] = rate
    out["rate_p95_result"] = at_rate
    out["rate_tries"] = tried
    log(
        f"    {name}: {rate:.0f}/s at p95 < 50 ms (tried {', '.join(f'{r:.0f}/s p95 {p:.0f} ms' for r, p, _ in tried) or 'none'})"
    )
    out["load_after"] = os.getloadavg()[0]
    out["fixed"] = {}
    return out


def fixed_runs(name: str, srv: Server, file: Path, seconds: float, rates: list[int], db_pid, into: dict) -> None:
    for r in rates:
        result = wrk(
            contender_base(name),
            file,
            seconds=fixed_seconds(r, seconds),
            connections=fixed_connections(r),
            rate=r,
            cpu_of=srv.cpu,
            db_pid=db_pid,
        )
        into[r] = result
        log(
            f"    {name}: {r}/s -> p50 {result.p50:.1f} p95 {result.p95:.1f} p99 {result.p99:.1f} ms"
            f"{' (saturated)' if result.saturated else ''}"
        )


# --- the app's writes and documents ---------------------------------------------------------


async def _submit_state(server: BenchServer, database: str) -> dict:
    conn = await server.connect(database)
    try:
        row = await conn.fetchrow(
            """SELECT
                 (SELECT count(*) FROM meter_reading WHERE source = 'CABINET') AS readings,
                 (SELECT count(DISTINCT personal_account_id) FROM meter_reading WHERE source = 'CABINET') AS accounts,
                 (SELECT count(*) FROM bill WHERE source = 'CABINET') AS bills,
                 (SELECT count(*) FROM bill b JOIN meter_reading r ON r.id = b.reading_id
                   WHERE b.source = 'CABINET' AND r.source = 'CABINET') AS bills_of_readings,
                 (SELECT count(*) FROM meter_reading r WHERE r.source = 'CABINET'
                   AND NOT EXISTS (SELECT 1 FROM bill b WHERE b.reading_id = r.id)) AS readings_without_bill,
                 (SELECT min(number) FROM bill WHERE source = 'CABINET') AS first_number,
                 (SELECT max(number) FROM bill WHERE source = 'CABINET') AS last_number,
                 (SELECT count(DISTINCT number) FROM bill WHERE source = 'CABINET') AS distinct_numbers,
                 (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM bill_number_seq) AS counter,
                 (SELECT count(*) FROM outbox_message) AS mail"""
        )
        stored = {
            r["personal_account_id"]: r["number"]
            for r in await conn.fetch(
                """SELECT r.personal_account_id, b.number FROM meter_reading r JOIN bill b ON b.reading_id = r.id
               WHERE r.source = 'CABINET' ORDER BY r.personal_account_id LIMIT 50"""
            )
        }
    finally:
        await conn.close()
    return {"row": dict(row), "stored": stored}


def submit_check(
    server: BenchServer, database: str, base: str, file: Path, result: Result, before: int, connections: int
) -> dict:
    """Exactly once: one reading and one bill per account and date, unique numbers, and a
    second submit of stored readings answered as a replay with the stored bill."""
    from resolvers.ids import pk_of

    time.sleep(3)  # requests wrk left in flight at its deadline finish on the server
    state = asyncio.run(_submit_state(server, database))
    row = state["row"]
    new, replayed, op_errors, val_errors, top_errors = (result.checks + [0] * 5)[:5]
    # Replay the stored ones: each must come back `replayed: true` with the same bill.
    lines = {}
    for line in file.read_text(encoding="utf-8").splitlines():
        body = json.loads(line.split("\t", 2)[2])
        lines[pk_of(body["variables"]["input"]["personalAccountId"], "PersonalAccount")] = line
    replays_ok = 0
    for pa, number in state["stored"].items():
        path, auth, body = lines[pa].split("\t", 2)
        request = urllib.request.Request(
            base + path, data=body.encode(), headers={"Content-Type": "application/json", "Authorization": auth}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())["data"]["meterReadingSubmit"]
        if answer.get("replayed") is True and answer["bill"]["number"] == str(number):
            replays_ok += 1
    after = asyncio.run(_submit_state(server, database))["row"]
    checks = {
        "one reading per account and date": row["readings"] == row["accounts"],
        "each new reading formed exactly one bill": row["bills"] == row["readings"] == row["bills_of_readings"]
        and row["readings_without_bill"] == 0,
        # wrk stops at its deadline: up to one request per connection was stored but not counted.
        "readings stored = answers 'new' (+ requests in flight at the end)": new
        <= row["readings"]
        <= new + connections,
        "every other answer a replay": new + replayed == result.requests,
        # DESIGN §3 Bills: unique, from the sequence past the imported ones; a rolled-back
        # submit may leave a gap, so the numbers need not be consecutive.
        "bill numbers unique, after the imported ones, from the sequence": row["readings"] == 0
        or (
            row["distinct_numbers"] == row["bills"]
            and row["first_number"] > before
            and row["counter"] >= row["last_number"]
        ),
        "one 'bill formed' mail per bill": row["mail"] == row["bills"],
        "a second submit of stored readings is a replay with the same bill": replays_ok == len(state["stored"]),
        "the second submits stored nothing": after["readings"] == row["readings"] and after["bills"] == row["bills"],
        "no errors": op_errors == 0 and val_errors == 0 and top_errors == 0 and result.errors == 0,
    }
    return {
        "row": row,
        "new": new,
        "replayed": replayed,
        "stored": row["readings"],
        "replays_checked": len(state["stored"]),
        "checks": checks,
        "ok": all(checks.values()),
    }


async def _payments_state(server: BenchServer, database: str, after_id: int) -> dict:
    """The card payments the run started (ids past the generated ones) and their credits."""
    conn = await server.connect(database)
    try:
        row = await conn.fetchrow(
            """SELECT
                 (SELECT count(*) FROM internet_payment WHERE id > $1) AS started,
                 (SELECT count(*) FROM (SELECT 1 FROM internet_payment WHERE id > $1
                   GROUP BY personal_account_id HAVING count(*) > 1) d) AS accounts_with_two,
                 (SELECT count(*) FROM internet_payment WHERE id > $1 AND status = 'PROCESSED') AS processed,
                 (SELECT count(*) FROM payment WHERE internet_payment_id > $1) AS credits,
                 (SELECT count(DISTINCT internet_payment_id) FROM payment WHERE internet_payment_id > $1) AS credited,
                 (SELECT count(*) FROM internet_payment i WHERE i.id > $1 AND i.status = 'PROCESSED'
                   AND NOT EXISTS (SELECT 1 FROM payment x WHERE x.internet_payment_id = i.id
                                   AND x.amount = i.amount)) AS processed_without_credit,
                 (SELECT count(*) FROM bank_callback) AS callbacks_kept,
                 (SELECT count(*) FROM outbox_message WHERE kind = 'payment_processed') AS mail""",
            after_id,
        )
        started = [
            (r["number"], str(r["amount"]))
            for r in await conn.fetch(
                "SELECT number, amount FROM internet_payment WHERE id > $1 AND status = 'CREATED' ORDER BY id", after_id
            )
        ]
        processed = [
            (r["number"], str(r["amount"]))
            for r in await conn.fetch(
                "SELECT number, amount FROM internet_payment WHERE id > $1 AND status = 'PROCESSED' ORDER BY id",
                after_id,
            )
        ]
    finally:
        await conn.close()
    return {"row": dict(row), "started": started, "processed": processed}


def payment_start_check(before: dict, after: dict, result: Result) -> dict:
    """Each personal account got one payment however often its start was sent (a retry is the
    same payment), and every answer was a success."""
    started_new = after["row"]["started"] - before["row"]["started"]
    success, resumed, errors = (result.checks + [0] * 3)[:3]
    checks = {
        "one payment per personal account, retries the same one": after["row"]["accounts_with_two"] == 0,
        "payments stored ≤ answers (+ requests in flight at the end)": started_new <= success + 8,
        "every answer a success": success == result.requests and errors == 0 and result.errors == 0,
    }
    return {"started": started_new, "resumed": resumed, "checks": checks, "ok": all(checks.values())}


def callback_check(server: BenchServer, database: str, base: str, after_id: int, result: Result) -> dict:
    """Exactly once: one credit per payment the bank confirmed, however many times its callback
    came; sending the callbacks of the credited ones again changes nothing."""
    time.sleep(3)  # requests wrk left in flight at its deadline finish on the server
    state = asyncio.run(_payments_state(server, database, after_id))
    row = state["row"]
    credited_answers, duplicates = (result.checks + [0] * 2)[:2]
    again_file = world.write_lines(
        DATA / "requests" / database / "callback-again.txt",
        world.callback_lines(state["processed"], LIQPAY_PUBLIC_KEY, LIQPAY_PRIVATE_KEY),
    )
    answers = send_lines(base, again_file, len(state["processed"]))
    again = asyncio.run(_payments_state(server, database, after_id))["row"]
    checks = {
        "one credit per confirmed payment": row["credits"] == row["credited"] == row["processed"]
        and row["processed_without_credit"] == 0,
        "credits = answers 'credited' (+ requests in flight at the end)": credited_answers
        <= row["credits"]
        <= credited_answers + 8,
        "every other answer a duplicate": credited_answers + duplicates == result.requests and result.errors == 0,
        "one 'payment processed' mail per credit": row["mail"] == row["credits"],
        "a repeated callback is a duplicate and credits nothing": all(b'"duplicate success"' in a for a in answers)
        and again["credits"] == row["credits"]
        and again["mail"] == row["mail"],
    }
    return {"row": row, "resent": len(answers), "checks": checks, "ok": all(checks.values())}


def measure_payments(srv: Server, prepared: Prepared, args, db_pid, server: BenchServer) -> dict:
    """paymentStart for indebted personal accounts, then the bank's signed "success" callback
    for each payment started, both driven by wrk (8 connections), each checked afterwards."""
    base = f"http://127.0.0.1:{PORTS['app']}"
    database = database_of(prepared.url)
    after_id = 24 * prepared.size + prepared.size // 40  # the generated payments' ids (bench/world.reset)
    out: dict = {}
    before = asyncio.run(_payments_state(server, database, after_id))
    start = wrk(
        base + "/graphql",
        prepared.extra_files["payment_start"],
        seconds=args.seconds,
        connections=8,
        checks=['"__typename":"PaymentStartSuccess"', '"resumed":true', '"code":'],
        cpu_of=srv.cpu,
        db_pid=db_pid,
    )
    time.sleep(3)
    started = asyncio.run(_payments_state(server, database, after_id))
    out["payment_start"] = start
    out["payment_start_check"] = payment_start_check(before, started, start)
    log(
        f"    paymentStart: {start.rate:.0f}/s, p50 {start.p50:.1f} ms; {out['payment_start_check']['started']} "
        f"payments; {'ok' if out['payment_start_check']['ok'] else 'FAILED ' + str(out['payment_start_check']['checks'])}"
    )
    callback_file = world.write_lines(
        DATA / "requests" / database / "callback.txt",
        world.callback_lines(started["started"], LIQPAY_PUBLIC_KEY, LIQPAY_PRIVATE_KEY),
    )
    callback = wrk(
        base + "/payments",
        callback_file,
        seconds=args.seconds,
        connections=8,
        checks=['"result":"credited', '"result":"duplicate success"'],
        cpu_of=srv.cpu,
        db_pid=db_pid,
    )
    out["callback"] = callback
    out["callback_payments"] = len(started["started"])
    out["callback_check"] = callback_check(server, database, base, after_id, callback)
    log(
        f"    LiqPay callback: {callback.rate:.0f}/s, p50 {callback.p50:.1f} ms; exactly once: "
        f"{'ok' if out['callback_check']['ok'] else 'FAILED ' + str(out['callback_check']['checks'])}"
    )
    return out


def pdf_links(prepared: Prepared) -> list[str]:
    from urllib.parse import urlsplit

    from config import Settings
    from services.documents import BILL, document_link

    settings = Settings(
        document_link_secret=DOCUMENT_SECRET, document_link_ttl=dt.timedelta(hours=2), public_url="http://127.0.0.1"
    )
    now = dt.datetime.now(dt.UTC)
    out = []
    for pk in prepared.pdf_bill_ids:
        link = urlsplit(document_link(settings=settings, kind=BILL, pk=pk, now=now))
        out.append(f"{link.path}?{link.query}")
    return out


def measure_app_extras(srv: Server, prepared: Prepared, args, db_pid, server: BenchServer) -> dict:
    base = f"http://127.0.0.1:{PORTS['app']}"
    database = database_of(prepared.url)
    out: dict = {}

    async def counter() -> int:
        conn = await server.connect(database)
        try:
            return await conn.fetchval(
                "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM bill_number_seq"
            )
        finally:
            await conn.close()

    before = asyncio.run(counter())
    submit = wrk(
        base + "/graphql",
        prepared.extra_files["submit"],
        seconds=args.seconds,
        connections=8,
        checks=[
            '"replayed":false',
            '"replayed":true',
            '"__typename":"OperationError"',
            '"__typename":"ValidationError"',
            '"errors":[',
        ],
        cpu_of=srv.cpu,
        db_pid=db_pid,
    )
    out["submit"] = submit
    out["submit_check"] = submit_check(server, database, base, prepared.extra_files["submit"], submit, before, 8)
    log(
        f"    meterReadingSubmit: {submit.rate:.0f}/s, p50 {submit.p50:.1f} ms; exactly once: "
        f"{'ok' if out['submit_check']['ok'] else 'FAILED ' + str(out['submit_check']['checks'])}"
    )
    token = wrk(
        base + "/graphql",
        prepared.extra_files["token"],
        seconds=args.seconds,
        connections=4,
        checks=['"TokenCreateSuccess"', '"code":'],
        cpu_of=srv.cpu,
        db_pid=db_pid,
    )
    out["token"] = token
    log(f"    tokenCreate: {token.rate:.0f}/s, p50 {token.p50:.1f} ms, successes {token.checks[0]}/{token.requests}")
    out.update(measure_payments(srv, prepared, args, db_pid, server))
    if args.only == "writes":
        return out
    links = pdf_links(prepared)
    first = []
    for link in links:
        started = time.perf_counter()
        with urllib.request.urlopen(base + link, timeout=60) as response:
            response.read()
        first.append(time.perf_counter() - started)
    out["pdf_first"] = first
    folder = prepared.extra_files["submit"].parent
    pdf_file = world.write_lines(folder / "pdf.txt", [f"{link}\t\t" for link in links])
    pdf = wrk(base + "/documents", pdf_file, seconds=args.seconds, connections=8, cpu_of=srv.cpu, db_pid=db_pid)
    out["pdf"] = pdf
    log(
        f"    cached PDF: {pdf.rate:.0f}/s, p50 {pdf.p50:.1f} ms (first render over HTTP: median "
        f"{statistics.median(first) * 1000:.0f} ms)"
    )
    return out


# --- documents.py ---------------------------------------------------------------------------


async def documents_figures(server: BenchServer) -> dict:
    import asyncpg

    from bench.documents import bench_documents
    from db import migrate

    name = "bench_documents"
    admin = await server.connect()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(server.url, name)
    try:
        await asyncio.to_thread(migrate, url)
        results = await bench_documents(url, bills=10, requests=200)
    finally:
        admin = await asyncpg.connect(dsn(server.url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
    return results


# --- the report -----------------------------------------------------------------------------


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} × {cpu}, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"


def app_source() -> str:
    """Which app was measured: the working tree at its commit (and whether it had
    uncommitted changes), or the --app-from folder."""
    import app

    where = Path(app.__file__).resolve().parent
    if where != ROOT:
        return f"the app from {where} (--app-from)"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", ".", ":!bench", ":!tests", ":!docs"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "the working tree"
    return f"the working tree at {commit}" + (" with uncommitted changes" if dirty else "")


# --- main -----------------------------------------------------------------------------------


def node_ready() -> None:
    if (
        (NODE_DIR / "node_modules" / "postgraphile").exists()
        and (NODE_DIR / "package.json").exists()
        and (NODE_DIR / "package.json").read_bytes() == (PEER_DIR / "package.json").read_bytes()
    ):
        return
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed for the PostGraphile peer (or run with --no-peer)")
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copy(PEER_DIR / "package.json", NODE_DIR / "package.json")
    log("  npm install postgraphile@4 into bench/.node")
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR, check=True)


def _stop_on_sigterm() -> None:
    """SIGTERM ends the run like Ctrl-C: the servers it started are stopped on the way out."""
    import signal

    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def measure_size(
    size: int,
    prepared: Prepared,
    documents: list[world.Document],
    contenders: list[str],
    args,
    db_pid,
    server: BenchServer,
    log_dir: Path,
    ctx: dict,
) -> dict:
    """The largest size: every contender on every document (the app first: its rate sets each
    document's fixed rates), the app's writes and documents, PostGraphile's figures checked."""
    results: dict = {d.slug: {} for d in documents}
    database = database_of(prepared.url)
    for name in contenders:
        asyncio.run(end_leftovers(server, database))
        srv = contender(name, prepared.url, args.workers)
        srv.start(log_dir)
        try:
            for doc in documents:
                if (name, doc.slug) not in prepared.files:
                    continue
                log(f"  {doc.title} — {name}")
                file = prepared.files[(name, doc.slug)]
                seconds = seconds_of(doc, args)
                out = measure(name, srv, file, seconds, db_pid, server, database)
                if name == "app":
                    base = out["rate_p95"] or out["closed"].rate * 0.5
                    ctx["fixed_rates"][doc.slug] = sorted({nice(base * f) for f in (0.25, 0.5, 0.9)})
                fixed_runs(name, srv, file, seconds, ctx["fixed_rates"].get(doc.slug, []), db_pid, out["fixed"])
                results[doc.slug][name] = out
            if name == "app":
                log("  writes and documents (app)")
                ctx["extras"] = measure_app_extras(srv, prepared, args, db_pid, server)
            if name == "peer":
                ctx["peer_check"] = {}
                for doc in documents:
                    check = peer_check(
                        doc,
                        ctx["plans"][size][doc.slug]["app"]["answers"],
                        prepared.logins,
                        set(prepared.submit_ids),
                        contender_base("peer"),
                    )
                    ctx["peer_check"][doc.slug] = check
                    log(
                        f"    {doc.slug}: PostGraphile's figures match the app's for {check[0]}/{check[1]} {check[2][:3]}"
                    )
        finally:
            srv.stop()
    return results


def growth_at(
    size: int,
    prepared: Prepared,
    documents: list[world.Document],
    contenders: list[str],
    args,
    db_pid,
    server: BenchServer,
    log_dir: Path,
    rates: dict[str, int],
) -> dict:
    """A smaller size: every contender on every document at that document's growth rate."""
    out: dict = {d.slug: {} for d in documents}
    for name in contenders:
        asyncio.run(end_leftovers(server, database_of(prepared.url)))
        srv = contender(name, prepared.url, args.workers)
        srv.start(log_dir)
        try:
            for doc in documents:
                if (name, doc.slug) not in prepared.files or doc.slug not in rates:
                    continue
                file, rate = prepared.files[(name, doc.slug)], rates[doc.slug]
                wrk(contender_base(name), file, seconds=2, connections=8)
                result = wrk(
                    contender_base(name),
                    file,
                    seconds=fixed_seconds(rate, seconds_of(doc, args)),
                    connections=fixed_connections(rate),
                    rate=rate,
                    cpu_of=srv.cpu,
                    db_pid=db_pid,
                )
                out[doc.slug][name] = result
                log(f"    {doc.slug} — {name}: p50 {result.p50:.1f} ms at {rate}/s")
        finally:
            srv.stop()
    return out


def main() -> None:
    _stop_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,200000", help="personal accounts per data set (comma-separated)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of each contender")
    parser.add_argument("--seconds", type=float, default=8, help="length of each wrk run for the main screen")
    parser.add_argument(
        "--seconds-others", type=float, default=4, help="length of each wrk run for the other documents"
    )
    parser.add_argument("--sample", type=int, default=20000, help="signed-in logins the requests pick from")
    parser.add_argument(
        "--documents",
        help="only these documents (slugs, comma-separated: " + ",".join(d.slug for d in world.DOCUMENTS) + ")",
    )
    parser.add_argument(
        "--only",
        choices=["writes"],
        help="writes: only the app's writes (meterReadingSubmit, tokenCreate, paymentStart, the LiqPay "
        "callback), each checked afterwards; no documents, no PostGraphile, no growth",
    )
    parser.add_argument("--no-peer", action="store_true", help="leave PostGraphile out")
    parser.add_argument("--no-documents", action="store_true", help="leave bench/documents.py out")
    parser.add_argument(
        "--app-from", metavar="DIR", help="run the app from this folder (e.g. `git archive <commit> | tar -x -C DIR`)"
    )
    args = parser.parse_args()
    if args.app_from and os.environ.get("BENCH_APP_FROM") != str(Path(args.app_from).resolve()):
        if not (Path(args.app_from) / "app.py").exists():
            raise SystemExit(f"no app.py in {args.app_from}")
        os.environ["BENCH_APP_FROM"] = str(Path(args.app_from).resolve())
        os.execv(sys.executable, [sys.executable, "-m", "bench.run", *sys.argv[1:]])
    sizes = sorted(int(s) for s in args.sizes.split(","))
    wanted = set(args.documents.split(",")) if args.documents else {d.slug for d in world.DOCUMENTS}
    unknown = wanted - {d.slug for d in world.DOCUMENTS}
    if unknown:
        raise SystemExit(f"unknown documents: {', '.join(sorted(unknown))}")
    documents = [d for d in world.DOCUMENTS if d.slug in wanted]
    if args.only == "writes":
        documents, args.no_peer, args.no_documents = [], True, True
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk (make bench does it)")
    started = time.perf_counter()
    DATA.mkdir(parents=True, exist_ok=True)
    if max(sizes) > 200_000:
        need = sum(bytes_per_account_estimate() * n for n in sizes if n > 200_000)
        free = free_disk_bytes(DATA)
        if need * 1.3 > free:
            raise SystemExit(
                f"not enough disk for {max(sizes):,} accounts: ~{need / 2**30:.0f} GiB needed, "
                f"{free / 2**30:.0f} GiB free in {DATA}"
            )
        log(f"disk: ~{need / 2**30:.0f} GiB needed, {free / 2**30:.0f} GiB free")
    if not args.no_peer:
        node_ready()
    ctx: dict = {
        "started": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "app_source": app_source(),
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "workers": args.workers,
        "seconds": args.seconds,
        "seconds_others": args.seconds_others,
        "sample": args.sample,
        "documents": [{"slug": d.slug, "title": d.title, "paged": d.paged} for d in documents],
        "fixed_rates": {},
    }
    server = BenchServer(DATA, os.environ.get("DATABASE_URL") or None)
    server.start()
    log_dir = DATA / "logs"
    log_dir.mkdir(exist_ok=True)
    try:
        asyncio.run(server.tune())
        log("data sets:")
        urls = {n: asyncio.run(dataset_ensure(server, f"bench_{label(n)}", n, log)) for n in sizes}

        async def pg_info():
            conn = await server.connect()
            try:
                version = await conn.fetchval("SHOW server_version")
                settings = {
                    k: await conn.fetchval(f"SHOW {k}")
                    for k in ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost", "jit")
                }
                return version, settings
            finally:
                await conn.close()

        ctx["pg_version"], ctx["pg_settings"] = asyncio.run(pg_info())
        ctx["pg_where"] = "external, DATABASE_URL" if server.external_url else "embedded, var/bench"
        db_pid = server.postmaster_pid()  # None on an external server: its CPU is not counted
        log("preparing: clean slate, sign-ins, an API key, request files")
        prepared = {n: asyncio.run(prepare(server, n, urls[n], args.sample, documents)) for n in sizes}
        log("plans and answers (in process)")
        ctx["plans"] = {n: asyncio.run(plans_and_answers(prepared[n], documents)) for n in sizes} if documents else {}
        for n in sizes:
            with (DATA / f"plans-{label(n)}.txt").open("w", encoding="utf-8") as stream:
                for slug, variants in ctx["plans"].get(n, {}).items():
                    for variant, p in variants.items():
                        stream.write(f"==== {slug} (general executor)\n\n")
                        stream.write("\n\n".join(f"-- {x['sql']}\n{x['plan']}" for x in p["plans"]))
                        stream.write(f"\n\n-- the floor's statement\n{p['floor_plan']}\n\n")
                        log(
                            f"  {label(n)} {slug} ({variant}): {p['statements']:g} statements, index access only: "
                            f"{p['index_only']} (floor: {p['floor_index_only']}); floor = app for "
                            f"{p['floor_matches'][0]}/{p['floor_matches'][1]}"
                            + (f"; cursors differ: {p['cursors_wrong']}" if p["cursors_wrong"] else "")
                        )
        big = max(sizes)
        ctx["main_size"] = big
        contenders = ["app"] if args.only == "writes" else ["app", "floor"] + ([] if args.no_peer else ["peer"])
        log(f"the documents at {big:,} accounts")
        ctx["main"] = measure_size(big, prepared[big], documents, contenders, args, db_pid, server, log_dir, ctx)
        ctx["growth_rate"] = {slug: rates[len(rates) // 2] for slug, rates in ctx["fixed_rates"].items() if rates}
        ctx["growth"] = {
            big: {
                slug: {
                    name: r["fixed"][ctx["growth_rate"][slug]]
                    for name, r in by.items()
                    if ctx["growth_rate"].get(slug) in r["fixed"]
                }
                for slug, by in ctx["main"].items()
            }
        }
        for n in sizes:
            if n != big and documents:
                log(f"growth: {n:,} accounts, each document at its middle fixed rate")
                ctx["growth"][n] = growth_at(
                    n, prepared[n], documents, contenders, args, db_pid, server, log_dir, ctx["growth_rate"]
                )
        if not args.no_documents:
            log("documents (bench/documents.py)")
            try:
                ctx["pdf_documents"] = asyncio.run(documents_figures(server))
            except Exception as e:  # the main figures stand without it
                ctx["documents_error"] = f"{type(e).__name__}: {e}"
                log(f"  documents failed: {ctx['documents_error']}")
    finally:
        server.stop()
    ctx["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    ctx["took"] = time.perf_counter() - started
    text = report(ctx)
    (DATA / "report.md").write_text(text, encoding="utf-8")
    (DATA / "report.json").write_text(json.dumps(dump(ctx), indent=1, default=str), encoding="utf-8")
    print()
    print(text)


if __name__ == "__main__":
    main()
