"""`make bench`: the main screen against its floor and a peer, side by side, in one run.

    .venv/bin/python -m bench.run [--sizes 10000,200000] [--workers 2] [--seconds 8] [--no-peer] [--no-documents]

1. Data sets made inside PostgreSQL (bench/datagen.py), kept in var/bench between runs.
2. For the largest size, three contenders on the same server and settings, each started as
   production would start it (2 worker processes) and driven by wrk on the same machine:
   the app (GraphQL), the floor (one SQL statement, bench/floor.py) and PostGraphile v4.
   For each: the closed-loop maximum, the highest fixed rate whose p95 stays under 50 ms,
   p50/p95/p99 at three fixed rates shared by all, SQL statements and CPU per request.
3. The app's writes and documents: meterReadingSubmit (exactly once checked afterwards),
   tokenCreate, cached PDF serving, and bench/documents.py's in-process figures.
4. Growth: medians at every size at one fixed rate, and the plans of every statement the
   main screen runs (index access only).
The table is printed and saved to var/bench/report.md; the raw figures to var/bench/report.json.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
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
from bench.datagen import BENCH_PASSWORD, BUSINESS_DATE, bytes_per_account_estimate, dataset_ensure  # noqa: E402
from bench.load import Result, Server, node_server, uvicorn_server, wrk  # noqa: E402
from bench.pg import BenchServer, database_of, dsn, free_disk_bytes, with_database  # noqa: E402

DATA = ROOT / "var" / "bench"
NODE_DIR = ROOT / "bench" / ".node"
PEER_DIR = ROOT / "bench" / "postgraphile"
DOCUMENT_SECRET = "bench-document-link-secret-not-for-production"
P95_TARGET_MS = 50.0
PORTS = {"app": 8101, "floor": 8102, "peer": 8103}
SMALL_TABLES = {"res", "oblast", "tariff", "tariff_block", "terms", "bill_number_counter", "api_client"}


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
        self.files: dict[str, Path] = {}
        self.screen_ids: list[int] = []
        self.tokens: dict[int, str] = {}
        self.submit_ids: list[int] = []
        self.pdf_bill_ids: list[int] = []


async def prepare(server: BenchServer, size: int, url: str, sample: int) -> Prepared:
    prepared = Prepared(size, url)
    name = database_of(url)
    folder = DATA / "requests" / name
    folder.mkdir(parents=True, exist_ok=True)
    conn = await server.connect(name)
    try:
        await world.reset(conn, size)
        await conn.execute((PEER_DIR / "schema.sql").read_text())
        ids = await world.sample(conn, min(sample, size), "screen")
        prepared.screen_ids = ids
        prepared.tokens = await world.sign_in(conn, ids)
        submit_ids = await world.sample(conn, min(3000, size), "submit")
        prepared.submit_ids = submit_ids
        submit_tokens = await world.sign_in(conn, submit_ids)
        login_ids = await world.sample(conn, min(2000, size), "login")
        prepared.pdf_bill_ids = [
            r["id"] for r in await conn.fetch(
                "SELECT max(id) AS id FROM bill WHERE personal_account_id = ANY($1::bigint[]) GROUP BY personal_account_id",
                ids[:20])
        ]
        # The PDFs are rendered on their first GET: forget earlier runs' copies.
        await conn.execute("DELETE FROM document WHERE key = ANY($1::text[])",
                           [f"bill:{pk}" for pk in prepared.pdf_bill_ids])
        prepared.files = {
            "app": world.write_lines(folder / "main-screen.txt", world.main_screen_lines(prepared.tokens)),
            "floor": world.write_lines(folder / "floor.txt", world.floor_lines(prepared.tokens)),
            "peer": world.write_lines(folder / "peer.txt", world.peer_lines(ids)),
            "submit": world.write_lines(folder / "submit.txt", await world.submit_lines(conn, submit_tokens)),
            "token": world.write_lines(folder / "token-create.txt", world.token_create_lines(login_ids, BENCH_PASSWORD)),
        }
    finally:
        await conn.close()
    return prepared


# --- servers --------------------------------------------------------------------------------

def app_env(url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "CABINET_BUSINESS_DATE": BUSINESS_DATE.isoformat(),
        "CABINET_DOCUMENT_LINK_SECRET": DOCUMENT_SECRET,
        "CABINET_DOCUMENT_LINK_TTL": "PT2H",
        "CABINET_DATA_DIR": str(DATA / "app"),
        "CABINET_RUN_WORKERS": "0",
        "CABINET_PRODUCTION": "1",
        # Production refuses the sandbox's published keys; the bench posts no callbacks.
        "CABINET_LIQPAY_PUBLIC_KEY": "bench_public_key",
        "CABINET_LIQPAY_PRIVATE_KEY": "bench_private_key",
        "CABINET_LIQPAY_CHECKOUT_URL": "http://127.0.0.1:9/checkout",
        "CABINET_LIQPAY_API_URL": "http://127.0.0.1:9/request",
    }


async def end_leftovers(server: BenchServer, database: str) -> int:
    """End what an earlier server left running in the database (a query outlives the client
    that gave up on it), so that it does not load the next contender's runs."""
    conn = await server.connect()
    try:
        return len(await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database))
    finally:
        await conn.close()


def contender(name: str, url: str, workers: int) -> Server:
    env = app_env(url)
    if name == "app":
        return uvicorn_server("app", "bench.serve_app:create", PORTS["app"], env, workers, "/healthz")
    if name == "floor":
        return uvicorn_server("floor", "bench.floor:create", PORTS["floor"], env, workers, "/screen", b"{}")
    return node_server("peer", PEER_DIR / "server.js", NODE_DIR / "node_modules", PORTS["peer"],
                       {"DATABASE_URL": dsn(url)}, workers)


def contender_url(name: str) -> str:
    return f"http://127.0.0.1:{PORTS[name]}" + ("/screen" if name == "floor" else "/graphql")


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
        1 for line in text.splitlines()
        if marker in line and ("LOG:  statement: " in line or "LOG:  execute " in line)
    )
    return statements / count


# --- measuring one contender ----------------------------------------------------------------

def search_rate(url: str, file: Path, seconds: float, db_pid, cpu_of, ceiling: float) -> tuple[float, Result | None, list]:
    """The highest fixed rate (open loop) whose p95 stays under 50 ms, within ~10%."""
    tried = []
    passed: tuple[float, Result] | None = None
    failed_above = None
    if ceiling < 1:  # it answered nothing in the closed loop: nothing to search
        return 0.0, None, tried
    for fraction in (0.9, 0.75, 0.6, 0.45, 0.3, 0.15, 0.05):
        rate = max(1.0, ceiling * fraction)
        result = wrk(url, file, seconds=seconds, connections=fixed_connections(rate), rate=rate, cpu_of=cpu_of, db_pid=db_pid)
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
            result = wrk(url, file, seconds=seconds, connections=fixed_connections(rate), rate=rate, cpu_of=cpu_of, db_pid=db_pid)
            ok = result.p95 < P95_TARGET_MS and not result.saturated and result.errors == 0
            tried.append((rate, result.p95, ok))
            if not ok:
                break
            passed = (rate, result)
    elif passed and failed_above:
        rate = (passed[0] + failed_above) / 2
        result = wrk(url, file, seconds=seconds, connections=fixed_connections(rate), rate=rate, cpu_of=cpu_of, db_pid=db_pid)
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


def measure_main(name: str, srv: Server, prepared: Prepared, args, db_pid, fixed_rates: list[int] | None,
                 server: BenchServer) -> dict:
    url = contender_url(name)
    file = prepared.files[name]
    database = database_of(prepared.url)
    out: dict = {"load_before": os.getloadavg()[0]}
    wrk(url, file, seconds=4, connections=8)  # warm-up: connections, caches, prepared statements
    out["statements"] = asyncio.run(count_statements(server, database, url.rsplit("/", 1)[0], file))
    sample = send_lines(url.rsplit("/", 1)[0], file, 1)[0]
    out["bytes"] = len(sample)
    out["errors_in_answer"] = b'"errors"' in sample
    probe = wrk(url, file, seconds=args.seconds, connections=16, cpu_of=srv.cpu, db_pid=db_pid)
    out["closed"] = probe
    log(f"    {name}: closed loop (16 connections) {probe.rate:.0f}/s, p50 {probe.p50:.1f} ms, p95 {probe.p95:.1f} ms")
    rate, at_rate, tried = search_rate(url, file, args.seconds, db_pid, srv.cpu, probe.rate)
    out["rate_p95"] = rate
    out["rate_p95_result"] = at_rate
    out["rate_tries"] = tried
    log(f"    {name}: {rate:.0f}/s at p95 < 50 ms (tried {', '.join(f'{r:.0f}/s p95 {p:.0f} ms' for r, p, _ in tried) or 'none'})")
    out["load_after"] = os.getloadavg()[0]
    out["fixed"] = {}
    for r in fixed_rates or []:
        result = wrk(url, file, seconds=fixed_seconds(r, args.seconds), connections=fixed_connections(r), rate=r, cpu_of=srv.cpu,
                     db_pid=db_pid)
        out["fixed"][r] = result
        log(f"    {name}: {r}/s -> p50 {result.p50:.1f} p95 {result.p95:.1f} p99 {result.p99:.1f} ms"
            f"{' (saturated)' if result.saturated else ''}")
    return out


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
                 (SELECT last_number FROM bill_number_counter WHERE id = 1) AS counter,
                 (SELECT count(*) FROM outbox_message) AS mail"""
        )
        stored = {r["personal_account_id"]: r["number"] for r in await conn.fetch(
            """SELECT r.personal_account_id, b.number FROM meter_reading r JOIN bill b ON b.reading_id = r.id
               WHERE r.source = 'CABINET' ORDER BY r.personal_account_id LIMIT 50""")}
    finally:
        await conn.close()
    return {"row": dict(row), "stored": stored}


def submit_check(server: BenchServer, database: str, base: str, file: Path, result: Result, before: int,
                 connections: int) -> dict:
    """Exactly once: one reading and one bill per account and date, gap-free numbers, and a
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
        request = urllib.request.Request(base + path, data=body.encode(),
                                         headers={"Content-Type": "application/json", "Authorization": auth})
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
        "readings stored = answers 'new' (+ requests in flight at the end)": new <= row["readings"] <= new + connections,
        "every other answer a replay": new + replayed == result.requests,
        "bill numbers gap-free, after the imported ones": row["readings"] == 0
        or (row["last_number"] - row["first_number"] + 1 == row["bills"] and row["first_number"] == before + 1
            and row["counter"] == row["last_number"]),
        "one 'bill formed' mail per bill": row["mail"] == row["bills"],
        "a second submit of stored readings is a replay with the same bill": replays_ok == len(state["stored"]),
        "the second submits stored nothing": after["readings"] == row["readings"] and after["bills"] == row["bills"],
        "no errors": op_errors == 0 and val_errors == 0 and top_errors == 0 and result.errors == 0,
    }
    return {"row": row, "new": new, "replayed": replayed, "stored": row["readings"], "replays_checked": len(state["stored"]),
            "checks": checks, "ok": all(checks.values())}


def pdf_links(prepared: Prepared) -> list[str]:
    from urllib.parse import urlsplit

    from config import Settings
    from services.documents import BILL, document_link

    settings = Settings(document_link_secret=DOCUMENT_SECRET, document_link_ttl=dt.timedelta(hours=2),
                        public_url="http://127.0.0.1")
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
            return await conn.fetchval("SELECT last_number FROM bill_number_counter WHERE id = 1")
        finally:
            await conn.close()

    before = asyncio.run(counter())
    submit = wrk(base + "/graphql", prepared.files["submit"], seconds=args.seconds, connections=8,
                 checks=['"replayed":false', '"replayed":true', '"__typename":"OperationError"',
                         '"__typename":"ValidationError"', '"errors":['],
                 cpu_of=srv.cpu, db_pid=db_pid)
    out["submit"] = submit
    out["submit_check"] = submit_check(server, database, base, prepared.files["submit"], submit, before, 8)
    log(f"    meterReadingSubmit: {submit.rate:.0f}/s, p50 {submit.p50:.1f} ms; exactly once: "
        f"{'ok' if out['submit_check']['ok'] else 'FAILED ' + str(out['submit_check']['checks'])}")
    token = wrk(base + "/graphql", prepared.files["token"], seconds=args.seconds, connections=4,
                checks=['"TokenCreateSuccess"', '"code":'], cpu_of=srv.cpu, db_pid=db_pid)
    out["token"] = token
    log(f"    tokenCreate: {token.rate:.0f}/s, p50 {token.p50:.1f} ms, successes {token.checks[0]}/{token.requests}")
    links = pdf_links(prepared)
    first = []
    for link in links:
        started = time.perf_counter()
        with urllib.request.urlopen(base + link, timeout=60) as response:
            response.read()
        first.append(time.perf_counter() - started)
    out["pdf_first"] = first
    folder = prepared.files["app"].parent
    pdf_file = world.write_lines(folder / "pdf.txt", [f"{link}\t\t" for link in links])
    pdf = wrk(base + "/documents", pdf_file, seconds=args.seconds, connections=8, cpu_of=srv.cpu, db_pid=db_pid)
    out["pdf"] = pdf
    log(f"    cached PDF: {pdf.rate:.0f}/s, p50 {pdf.p50:.1f} ms (first render over HTTP: median "
        f"{statistics.median(first) * 1000:.0f} ms)")
    return out


# --- plans and answers (in process) ---------------------------------------------------------

def _scans(plan: str) -> list[str]:
    out = []
    for line in plan.splitlines():
        text = line.strip().lstrip("->").strip()
        for kind in ("Index Only Scan", "Index Scan", "Bitmap Index Scan", "Seq Scan", "Bitmap Heap Scan"):
            if text.startswith(kind):
                out.append(text.split("  (")[0])
                break
    return out


async def plans_and_answers(prepared: Prepared, compare: int = 20) -> dict:
    """Run the main screen in process, capture its statements, EXPLAIN ANALYZE each; compare the
    app's answers with the floor's for `compare` accounts."""
    import asyncpg
    import httpx
    from sqlalchemy import event

    from app import create_app
    from config import Settings
    from services.periods import year_before

    from bench.floor import SCREEN_SQL

    settings = Settings(database_url=prepared.url, business_date=BUSINESS_DATE)
    app = create_app(settings)
    captured: list[tuple[str, tuple]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, tuple(parameters or ())))

    answers: dict[int, dict] = {}
    mismatches: list[str] = []
    conn = await asyncpg.connect(dsn(prepared.url), server_settings={"timezone": "UTC"})
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
            ids = prepared.screen_ids[:compare]
            for i, pa in enumerate(ids):
                token = prepared.tokens[pa]
                if i == 0:
                    event.listen(app.state.db.engine.sync_engine, "before_cursor_execute", record)
                response = await http.post("/graphql", json={"query": world.MAIN_SCREEN},
                                           headers={"Authorization": f"Bearer {token}"})
                if i == 0:
                    event.remove(app.state.db.engine.sync_engine, "before_cursor_execute", record)
                answer = response.json()
                answers[pa] = answer
                floor = json.loads(await conn.fetchval(
                    SCREEN_SQL, hashlib.sha256(token.encode()).digest(), BUSINESS_DATE, year_before(BUSINESS_DATE)))
                if floor != answer:
                    mismatches.append(str(pa))
        plans = []
        for statement, params in captured:
            head = statement.lstrip().split(None, 1)[0].upper()
            if head not in ("SELECT", "WITH"):
                plans.append({"sql": statement, "plan": "(not a query)", "scans": []})
                continue
            rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) " + statement, *params)
            text = "\n".join(r[0] for r in rows)
            plans.append({"sql": statement, "plan": text, "scans": _scans(text)})
        token = prepared.tokens[prepared.screen_ids[0]]
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) " + SCREEN_SQL,
                                hashlib.sha256(token.encode()).digest(), BUSINESS_DATE, year_before(BUSINESS_DATE))
        floor_plan = "\n".join(r[0] for r in rows)
    finally:
        await conn.close()
        await app.state.db.dispose()
    def seq_scans(scans):
        return [s for s in scans if s.startswith("Seq Scan") and s.split(" on ")[1].split()[0] not in SMALL_TABLES]

    return {
        "statements": len(captured),
        "plans": plans,
        "floor_plan": floor_plan,
        "index_only": all(not seq_scans(p["scans"]) for p in plans) and not seq_scans(_scans(floor_plan)),
        "seq_scans": sorted({s for p in plans for s in seq_scans(p["scans"])} | set(seq_scans(_scans(floor_plan)))),
        "answers": answers,
        "floor_matches": (len(answers) - len(mismatches), len(answers)),
        "mismatches": mismatches,
    }


def peer_check(answers: dict[int, dict], changed: set[int], count: int = 10) -> tuple[int, int, list[str]]:
    """The peer's figures for the same accounts against the app's: debt, bill count and sum,
    bill statuses and amounts due, payments and card payments. Accounts whose data the
    meterReadingSubmit run changed after the app answered are left out."""
    ok, problems = 0, []
    chosen = [(pa, a) for pa, a in answers.items() if pa not in changed][:count]
    for pa, app_answer in chosen:
        # The app's default period may reach back past the year (an old unpaid bill): ask for the same.
        start = app_answer["data"]["viewer"]["personalAccounts"][0]["bills"]["period"]["from"]
        body = json.dumps({"query": world.PEER_SCREEN, "variables": {
            "id": str(pa), "from": start, "to": BUSINESS_DATE.isoformat()}}).encode()
        request = urllib.request.Request(contender_url("peer"), data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            peer = json.loads(response.read())
        if "errors" in peer:
            problems.append(f"{pa}: {peer['errors'][0].get('message')}")
            continue
        p = peer["data"]["personalAccountById"]
        a = app_answer["data"]["viewer"]["personalAccounts"][0]
        same = (
            float(p["debtTotal"]) == float(a["debt"]["total"])
            and p["bills"]["totalCount"] == a["bills"]["totalCount"]
            and float(p["bills"]["aggregates"]["sum"]["amount"] or 0) == float(a["bills"]["totalAmount"])
            and [(e["node"]["allocation"]["status"], float(e["node"]["allocation"]["amountDue"])) for e in p["bills"]["edges"]]
            == [(e["node"]["status"], float(e["node"]["amountDue"])) for e in a["bills"]["edges"]]
            and p["payments"]["totalCount"] == a["payments"]["totalCount"]
            and p["internetPayments"]["totalCount"] == a["internetPayments"]["totalCount"]
            and sum(len(e["node"]["lines"]["nodes"]) for e in p["bills"]["edges"])
            == sum(len(e["node"]["lines"]) for e in a["bills"]["edges"])
        )
        if same:
            ok += 1
        else:
            problems.append(f"{pa}: figures differ")
    return ok, len(chosen), problems


# --- documents.py ---------------------------------------------------------------------------

async def documents_figures(server: BenchServer) -> dict:
    import asyncpg

    from db import migrate

    from bench.documents import bench_documents

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
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", ".", ":!bench", ":!tests", ":!docs"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "the working tree"
    return f"the working tree at {commit}" + (" with uncommitted changes" if dirty else "")


def fmt_lat(r: Result | None) -> str:
    if r is None:
        return "—"
    if r.requests == 0:
        return "no answer within 10 s"
    text = f"{r.p50:.1f} / {r.p95:.1f} / {r.p99:.1f}"
    return text + (" (saturated)" if r.saturated else "")


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if a and b else "—"


def report(ctx: dict) -> str:
    main = ctx["main"]
    names = [n for n in ("app", "floor", "peer") if n in main]
    title = {"app": "app (GraphQL)", "floor": "floor (1 SQL)", "peer": "PostGraphile v4"}
    L = []
    L.append(f"# Benchmark {ctx['started']}")
    L.append("")
    L.append(f"Machine: {ctx['machine']}; load average before the run {ctx['load_before']}, after {ctx['load_after']}.")
    L.append(f"PostgreSQL {ctx['pg_version']} ({ctx['pg_where']}), the same settings for all: "
             + ", ".join(f"{k}={v}" for k, v in ctx["pg_settings"].items()) + ".")
    L.append(f"The app: {ctx['app_source']}, started by uvicorn through the production entry point "
             "(asgi:app_factory).")
    L.append(f"Each contender: {ctx['workers']} worker processes; load from wrk on the same machine "
             f"(1 thread; {ctx['seconds']:.0f} s a run, fixed rates up to 3× longer; fixed rates open loop on 8-64 connections; "
             f"\"saturated\" = the rate was not held); "
             f"requests pick one of {ctx['sample']:,} signed-in logins at random.")
    L.append("")
    big = ctx["main_size"]
    L.append(f"## Main screen, {big:,} personal accounts")
    L.append("")
    L.append("| | " + " | ".join(title[n] for n in names) + " |")
    L.append("|---|" + "---|" * len(names))
    L.append("| requests/s at p95 < 50 ms (fixed rate) | " + " | ".join(f"{main[n]['rate_p95']:.0f}" for n in names) + " |")
    app_rate = main["app"]["rate_p95"]
    L.append("| app ÷ contender | " + " | ".join("1.00" if n == "app" else ratio(app_rate, main[n]["rate_p95"]) for n in names) + " |")
    L.append("| closed loop, 16 connections: requests/s | " + " | ".join(f"{main[n]['closed'].rate:.0f}" for n in names) + " |")
    L.append("| closed loop: p50 / p95 / p99 ms | " + " | ".join(fmt_lat(main[n]["closed"]) for n in names) + " |")
    for r in ctx["fixed_rates"]:
        L.append(f"| at {r}/s: p50 / p95 / p99 ms | " + " | ".join(fmt_lat(main[n]["fixed"].get(r)) for n in names) + " |")
    L.append("| SQL statements per request (server log) | " + " | ".join(
        f"{main[n]['statements']:.1f}" if main[n]["statements"] is not None else "n/a" for n in names) + " |")
    cpu_src = {n: main[n]["rate_p95_result"] or main[n]["closed"] for n in names}
    def per(r: Result, which: str) -> str:
        return f"{r.per_request_ms(which):.2f}" if r.requests else "—"

    L.append("| CPU per request, server processes (ms) | " + " | ".join(per(cpu_src[n], "app") for n in names) + " |")
    L.append("| CPU per request, PostgreSQL (ms) | " + " | ".join(per(cpu_src[n], "db") for n in names) + " |")
    L.append("| other processes' CPU on the machine during those runs (cores of 2) | " + " | ".join(
        f"{cpu_src[n].other_cores:.2f}" for n in names) + " |")
    L.append("| answer size (bytes) | " + " | ".join(f"{main[n]['bytes']:,}" for n in names) + " |")
    L.append("")
    plans = ctx["plans"]
    pm = plans[big]
    L.append(f"Answers: the floor's JSON equals the app's for {pm['floor_matches'][0]}/{pm['floor_matches'][1]} accounts; "
             + (f"PostGraphile's figures (debt, bills, statuses, amounts due, lines, payments) equal the app's for "
                f"{ctx['peer_check'][0]}/{ctx['peer_check'][1]}." if ctx.get("peer_check") else "PostGraphile not run."))
    L.append(f"The app runs {pm['statements']} {'query' if pm['statements'] == 1 else 'queries'} for one main screen (counted in the app; the server log "
             "adds its BEGIN and ROLLBACK). PostGraphile checks no token (it is given the personal account's id); "
             "the app and the floor do.")
    L.append("")
    L.append("## Growth: main screen median (p50 ms) at " + f"{ctx['growth_rate']}/s")
    L.append("")
    sizes = sorted(ctx["growth"])
    L.append("| personal accounts | " + " | ".join(title[n] for n in names) + " | statements (app) | index access only |")
    L.append("|---|" + "---|" * (len(names) + 2))
    for size in sizes:
        g = ctx["growth"][size]
        p = plans[size]
        L.append(f"| {size:,} | " + " | ".join((f"{g[n].p50:.1f}" if g[n].requests else "no answer") if n in g else "—"
                                               for n in names)
                 + f" | {p['statements']} | {'yes' if p['index_only'] else 'NO: ' + ', '.join(p['seq_scans'])} |")
    L.append("")
    L.append("Plans of every statement: var/bench/plans-<size>.txt.")
    L.append("")
    ex = ctx["extras"]
    L.append(f"## Writes and documents (app, {big:,} accounts)")
    L.append("")
    L.append("| | requests/s | p50 / p95 / p99 ms | CPU/request app + PostgreSQL (ms) | notes |")
    L.append("|---|---|---|---|---|")
    s = ex["submit"]
    sc = ex["submit_check"]
    L.append(f"| meterReadingSubmit (8 connections) | {s.rate:.0f} | {fmt_lat(s)} | "
             f"{s.per_request_ms('app'):.1f} + {s.per_request_ms('db'):.1f} | {sc['stored']} readings and bills stored, "
             f"{sc['replayed']} answers were replays, {sc['replays_checked']} stored ones re-sent; exactly once: "
             f"{'ok' if sc['ok'] else 'FAILED: ' + '; '.join(k for k, v in sc['checks'].items() if not v)} |")
    t = ex["token"]
    L.append(f"| tokenCreate (4 connections) | {t.rate:.0f} | {fmt_lat(t)} | "
             f"{t.per_request_ms('app'):.1f} + {t.per_request_ms('db'):.1f} | Argon2id m=19 MiB, t=2; "
             f"{t.checks[0]}/{t.requests} signed in |")
    p = ex["pdf"]
    L.append(f"| cached bill PDF, GET (8 connections) | {p.rate:.0f} | {fmt_lat(p)} | "
             f"{p.per_request_ms('app'):.2f} + {p.per_request_ms('db'):.2f} | first render over HTTP: median "
             f"{statistics.median(ex['pdf_first']) * 1000:.0f} ms |")
    if ctx.get("documents_error"):
        L.append("")
        L.append(f"bench/documents.py failed: {ctx['documents_error']}")
    if ctx.get("documents"):
        L.append("")
        L.append("bench/documents.py (one process, ASGI, no network):")
        L.append("")
        L.append("| | median | p95 | rate |")
        L.append("|---|---|---|---|")
        for name, value in ctx["documents"].items():
            if isinstance(value, float):
                L.append(f"| {name} | {value * 1000:.0f} ms | | |")
            else:
                v = sorted(value)
                p95 = v[min(len(v) - 1, int(len(v) * 0.95))]
                L.append(f"| {name} | {statistics.median(v) * 1000:.1f} ms | {p95 * 1000:.1f} ms | {len(v) / sum(v):.1f}/s |")
    L.append("")
    L.append(f"Run took {ctx['took']:.0f} s.")
    return "\n".join(L) + "\n"


def dump(ctx: dict) -> dict:
    def conv(v):
        if isinstance(v, Result):
            return {k: getattr(v, k) for k in ("requests", "seconds", "rate", "p50", "p90", "p95", "p99", "max",
                                                "errors", "late", "sends", "target", "checks", "app_cpu", "db_cpu", "wrk_cpu", "other_cpu")}
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items() if k not in ("answers", "plans")}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        return v

    return conv(ctx)


# --- main -----------------------------------------------------------------------------------

def node_ready() -> None:
    if (NODE_DIR / "node_modules" / "postgraphile").exists() and (NODE_DIR / "package.json").exists() \
            and (NODE_DIR / "package.json").read_bytes() == (PEER_DIR / "package.json").read_bytes():
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


def main() -> None:
    _stop_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,200000", help="personal accounts per data set (comma-separated)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of each contender")
    parser.add_argument("--seconds", type=float, default=8, help="length of each wrk run")
    parser.add_argument("--sample", type=int, default=20000, help="signed-in logins the requests pick from")
    parser.add_argument("--no-peer", action="store_true", help="leave PostGraphile out")
    parser.add_argument("--no-documents", action="store_true", help="leave bench/documents.py out")
    parser.add_argument("--app-from", metavar="DIR",
                        help="run the app from this folder (e.g. `git archive <commit> | tar -x -C DIR`)")
    args = parser.parse_args()
    if args.app_from and os.environ.get("BENCH_APP_FROM") != str(Path(args.app_from).resolve()):
        if not (Path(args.app_from) / "app.py").exists():
            raise SystemExit(f"no app.py in {args.app_from}")
        os.environ["BENCH_APP_FROM"] = str(Path(args.app_from).resolve())
        os.execv(sys.executable, [sys.executable, "-m", "bench.run", *sys.argv[1:]])
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk (make bench does it)")
    started = time.perf_counter()
    DATA.mkdir(parents=True, exist_ok=True)
    if max(sizes) > 200_000:
        need = sum(bytes_per_account_estimate() * n for n in sizes if n > 200_000)
        free = free_disk_bytes(DATA)
        if need * 1.3 > free:
            raise SystemExit(f"not enough disk for {max(sizes):,} accounts: ~{need / 2**30:.0f} GiB needed, "
                             f"{free / 2**30:.0f} GiB free in {DATA}")
        log(f"disk: ~{need / 2**30:.0f} GiB needed, {free / 2**30:.0f} GiB free")
    if not args.no_peer:
        node_ready()
    ctx: dict = {"started": dt.datetime.now().strftime("%Y-%m-%d %H:%M"), "machine": machine(), "app_source": app_source(),
                 "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()), "workers": args.workers,
                 "seconds": args.seconds, "sample": args.sample}
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
                settings = {k: await conn.fetchval(f"SHOW {k}") for k in
                            ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost", "jit")}
                return version, settings
            finally:
                await conn.close()

        ctx["pg_version"], ctx["pg_settings"] = asyncio.run(pg_info())
        ctx["pg_where"] = "external, DATABASE_URL" if server.external_url else "embedded, var/bench"
        db_pid = server.postmaster_pid()  # None on an external server: its CPU is not counted
        log("preparing: clean slate, sign-ins, request files")
        prepared = {n: asyncio.run(prepare(server, n, urls[n], args.sample)) for n in sizes}
        log("plans and answers (in process)")
        ctx["plans"] = {n: asyncio.run(plans_and_answers(prepared[n])) for n in sizes}
        for n in sizes:
            p = ctx["plans"][n]
            (DATA / f"plans-{label(n)}.txt").write_text(
                "\n\n".join(f"-- {x['sql']}\n{x['plan']}" for x in p["plans"])
                + f"\n\n-- the floor's statement\n{p['floor_plan']}\n", encoding="utf-8")
            log(f"  {label(n)}: {p['statements']} statements, index access only: {p['index_only']}; "
                f"floor = app for {p['floor_matches'][0]}/{p['floor_matches'][1]}")
        big = max(sizes)
        ctx["main_size"] = big
        contenders = ["app", "floor"] + ([] if args.no_peer else ["peer"])
        main_results: dict = {}
        log(f"main screen at {big:,} accounts")
        fixed_rates: list[int] = []
        for name in contenders:
            asyncio.run(end_leftovers(server, database_of(prepared[big].url)))
            srv = contender(name, prepared[big].url, args.workers)
            srv.start(log_dir)
            try:
                main_results[name] = measure_main(name, srv, prepared[big], args, db_pid, fixed_rates, server)
                if name == "app":
                    base = main_results["app"]["rate_p95"] or main_results["app"]["closed"].rate * 0.5
                    fixed_rates = sorted({nice(base * f) for f in (0.25, 0.5, 0.9)})
                    for r in fixed_rates:
                        result = wrk(contender_url("app"), prepared[big].files["app"],
                                     seconds=fixed_seconds(r, args.seconds), connections=fixed_connections(r), rate=r,
                                     cpu_of=srv.cpu, db_pid=db_pid)
                        main_results["app"]["fixed"][r] = result
                        log(f"    app: {r}/s -> p50 {result.p50:.1f} p95 {result.p95:.1f} p99 {result.p99:.1f} ms")
                    ctx["extras"] = measure_app_extras(srv, prepared[big], args, db_pid, server)
                if name == "peer":
                    ctx["peer_check"] = peer_check(ctx["plans"][big]["answers"], set(prepared[big].submit_ids))
                    log(f"    peer answers match the app's for {ctx['peer_check'][0]}/{ctx['peer_check'][1]} "
                        f"{ctx['peer_check'][2][:3]}")
            finally:
                srv.stop()
        ctx["main"] = main_results
        ctx["fixed_rates"] = fixed_rates
        growth_rate = fixed_rates[len(fixed_rates) // 2] if fixed_rates else 10
        ctx["growth_rate"] = growth_rate
        ctx["growth"] = {big: {n: main_results[n]["fixed"][growth_rate] for n in contenders}}
        for n in sizes:
            if n == big:
                continue
            log(f"growth: {n:,} accounts at {growth_rate}/s")
            ctx["growth"][n] = {}
            for name in contenders:
                asyncio.run(end_leftovers(server, database_of(prepared[n].url)))
                srv = contender(name, prepared[n].url, args.workers)
                srv.start(log_dir)
                try:
                    wrk(contender_url(name), prepared[n].files[name], seconds=3, connections=8)
                    result = wrk(contender_url(name), prepared[n].files[name],
                                 seconds=fixed_seconds(growth_rate, args.seconds), connections=fixed_connections(growth_rate),
                                 rate=growth_rate, cpu_of=srv.cpu, db_pid=db_pid)
                    ctx["growth"][n][name] = result
                    log(f"    {name}: p50 {result.p50:.1f} ms")
                finally:
                    srv.stop()
        if not args.no_documents:
            log("documents (bench/documents.py)")
            try:
                ctx["documents"] = asyncio.run(documents_figures(server))
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
