"""The main screen on the primary alone, then with one streaming replica taking its reads.

    .venv/bin/python -m bench.replica [--accounts 10000] [--seconds 10] [--connections 16]

A primary and a streaming replica made by tests/cluster.py from the PostgreSQL binaries on
the machine (cluster.binaries(): the embedded wheel's when it has pg_basebackup, else
Debian's), both from the same binaries, in temporary folders on free ports of 127.0.0.1,
removed at the end. bench/datagen.py fills the primary (the replica gets it by
streaming); bench/world.py signs the logins in. The app is started twice as production
starts it (bench/load.py: uvicorn, 2 workers): with DATABASE_URL at the primary only, then
with CABINET_DATABASE_REPLICA_URLS at the replica too. wrk drives the main screen closed loop
(bench/read_side_documents.py's MAIN_SCREEN, the general executor); printed: requests/s,
p50/p95, and the CPU per request of the app, of the primary and of the replica (their
process trees, from /proc). Not part of `make test` or `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path

import asyncpg

from bench import world
from bench.datagen import dataset_ensure
from bench.load import Result, Server, tree_cpu_seconds, uvicorn_server, wrk
from bench.pg import BenchServer
from bench.run import app_env, send_lines
from tests import cluster

DATABASE = "bench"
PORT = 8111
# The bench's settings (bench/pg.py) scaled to a test server: the data set stays in memory.
SETTINGS = {
    "shared_buffers": "'512MB'",
    "max_connections": "100",
    "work_mem": "'16MB'",
    "max_wal_size": "'2GB'",
    "random_page_cost": "1.1",
    "max_parallel_workers_per_gather": "0",
    "jit": "off",
}


def log(message: str) -> None:
    print(message, flush=True)


async def prepare(primary: cluster.PostgresNode, accounts: int, sample: int, folder: Path) -> Path:
    """The data set built on the primary, logins signed in, the main screen's request lines."""
    server = BenchServer(folder, external_url=primary.url)
    await dataset_ensure(server, DATABASE, accounts, log)
    conn = await asyncpg.connect(primary.url_of(DATABASE))
    try:
        ids = await world.sample(conn, min(sample, accounts), "screen")
        logins = await world.logins_of(conn, await world.sign_in(conn, ids))
    finally:
        await conn.close()
    main_screen = next(doc for doc in world.DOCUMENTS if doc.slug == "main-screen")
    return world.write_lines(folder / "main-screen.txt", world.app_lines(main_screen, logins, ""))


async def caught_up(primary: cluster.PostgresNode, replica: cluster.PostgresNode, timeout: float = 120) -> None:
    """Wait until the replica has replayed everything the primary has written."""
    conn = await asyncpg.connect(primary.url)
    try:
        target = await conn.fetchval("SELECT pg_current_wal_lsn()")
    finally:
        await conn.close()
    conn = await asyncpg.connect(replica.url)
    try:
        deadline = time.monotonic() + timeout
        while await conn.fetchval("SELECT pg_last_wal_replay_lsn() < $1::pg_lsn", target):
            if time.monotonic() > deadline:
                raise RuntimeError("the replica did not catch up")
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


def readiness(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
        return json.loads(response.read())


def drive(
    name: str, env: dict[str, str], lines: Path, folder: Path, nodes: dict[str, cluster.PostgresNode], args
) -> tuple[Result, dict[str, float], dict]:
    """One app configuration: started, warmed up, measured closed loop, stopped."""
    app: Server = uvicorn_server(name, "bench.serve_app:create", PORT, env, args.workers, "/healthz")
    app.start(folder)
    try:
        time.sleep(1.0)  # each worker's first replica check
        ready = readiness(PORT)
        base = f"http://127.0.0.1:{PORT}"
        answer = send_lines(base, lines, 1)[0]
        if b'"errors"' in answer or b'"personalAccounts"' not in answer:
            raise RuntimeError(f"{name}: the main screen was not answered: {answer[:300]!r}")
        wrk(base, lines, seconds=3, connections=8)  # warm-up: pools, prepared statements, caches
        pids = {role: node.postmaster_pid() for role, node in nodes.items()}
        before = {role: tree_cpu_seconds(pid) if pid else 0.0 for role, pid in pids.items()}
        result = wrk(base, lines, seconds=args.seconds, connections=args.connections, cpu_of=app.cpu)
        cpu = {role: (tree_cpu_seconds(pid) if pid else 0.0) - before[role] for role, pid in pids.items()}
        return result, cpu, ready
    finally:
        app.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=2_000, help="logins whose main screens are requested")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    args = parser.parse_args()
    if cluster.binaries() is None:
        raise SystemExit("no PostgreSQL server binaries with pg_basebackup on this machine")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    folder = Path(tempfile.mkdtemp(prefix="bench-replica-"))
    try:
        with cluster.primary_with_replica(**SETTINGS) as (primary, [replica]):
            log(f"PostgreSQL from {cluster.binaries()}: primary :{primary.port}, replica :{replica.port}")
            lines = asyncio.run(prepare(primary, args.accounts, args.sample, folder))
            asyncio.run(caught_up(primary, replica))
            nodes = {"primary": primary, "replica": replica}
            runs = {
                "primary only": app_env(primary.url_of(DATABASE)),
                "primary + 1 replica": {
                    **app_env(primary.url_of(DATABASE)),
                    "CABINET_DATABASE_REPLICA_URLS": replica.url_of(DATABASE),
                },
            }
            rows = []
            for name, env in runs.items():
                load = os.getloadavg()[0]
                result, cpu, ready = drive(name.replace(" ", "-"), env, lines, folder, nodes, args)
                rows.append((name, result, cpu, load, ready))
                log(f"  {name}: {result.rate:.0f}/s, /readyz {json.dumps(ready)}")
            report(rows, args)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def report(rows, args) -> None:
    per = lambda seconds, result: 1000 * seconds / result.requests if result.requests else float("nan")
    log("")
    log(
        f"main screen, {args.accounts:,} accounts, {args.sample:,} logins, wrk closed loop "
        f"{args.connections} connections x {args.seconds:.0f} s, app {args.workers} workers, {os.cpu_count()} cores"
    )
    log(
        "| reads on | requests/s | p50 ms | p95 ms | errors | app CPU ms/req | primary CPU ms/req "
        "| replica CPU ms/req | load before | others' cores busy |"
    )
    log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r, cpu, load, _ in rows:
        # The machine's busy time that is none of ours (app, servers, wrk): other people's work.
        others = max(0.0, r.other_cpu - cpu["primary"] - cpu["replica"]) / r.seconds
        log(
            f"| {name} | {r.rate:.0f} | {r.p50:.1f} | {r.p95:.1f} | {r.errors} | {per(r.app_cpu, r):.2f} "
            f"| {per(cpu['primary'], r):.2f} | {per(cpu['replica'], r):.2f} | {load:.2f} | {others:.2f} |"
        )
    log(f"uptime: {os.popen('uptime').read().strip()}")


if __name__ == "__main__":
    main()
