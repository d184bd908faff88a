"""The benchmark's data set, made inside PostgreSQL with generate_series.

For N personal accounts (one login each, linked as an admin would link it):
a meter (60% one zone, 30% two, 10% three), a reading on the 2nd-6th of every
month from May 2017 to May 2019 (25), a consumption bill for each month after the
first (24) with one line per tariff block and zone (2, 4 or 6; ~3 on average),
and for each bill: no payment (10%), a card payment made in the cabinet for that
bill (30%: an internet payment PROCESSED and its Payment), or a bank payment
(60%, a fifth of them rounded up to 10 UAH); 5% of the months also have a FAILED
card payment. Every 40th account has a SERVICES bill, half of them unpaid.
The business date is 2019-06-15, so the default year shows 12 bills.

Rows are inserted month by month (all accounts for a month, then the next), as
a utility's monthly billing writes them, so one account's rows are spread over
the table as in production. Indexes and constraints are dropped during the
load and rebuilt after it, then VACUUM ANALYZE. At 200,000 accounts that is
~5M readings, ~4.8M bills, ~14.4M bill lines, ~4.3M payments, ~1.7M internet
payments.

A data set is made once and kept (var/bench): a stamp in bench.meta records the
generator's version, and a changed generator rebuilds it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time

import asyncpg

BUSINESS_DATE = dt.date(2019, 6, 15)
BENCH_PASSWORD = "bench-password-2019"
BIG_TABLES = (
    "account",
    "activation_request",
    "personal_account",
    "meter",
    "meter_reading",
    "bill",
    "bill_line",
    "payment",
    "internet_payment",
)

FUNCTIONS = r"""
CREATE FUNCTION pg_temp.zones(pa bigint) RETURNS int LANGUAGE sql IMMUTABLE AS
  $$ SELECT CASE WHEN pa % 10 < 6 THEN 1 WHEN pa % 10 < 9 THEN 2 ELSE 3 END $$;
CREATE FUNCTION pg_temp.zone_names(z int) RETURNS varchar[] LANGUAGE sql IMMUTABLE AS
  $$ SELECT CASE z WHEN 1 THEN '{TOTAL}'::varchar[] WHEN 2 THEN '{DAY,NIGHT}'::varchar[]
                   ELSE '{PEAK,SEMI_PEAK,NIGHT}'::varchar[] END $$;
CREATE FUNCTION pg_temp.taken(pa bigint, m int) RETURNS date LANGUAGE sql IMMUTABLE AS
  $$ SELECT (date '2017-05-01' + make_interval(months => m))::date + (1 + (pa % 5))::int $$;
-- The meter's value of zone i after month m: never decreasing, 150..350 kWh a month per zone.
CREATE FUNCTION pg_temp.v(pa bigint, m int, i int) RETURNS int LANGUAGE sql IMMUTABLE AS
  $$ SELECT (10000 + 250 * m + ((pa * 37 + m * m * 7 + m * 11 + i * 29) % 100))::int $$;
CREATE FUNCTION pg_temp.c(pa bigint, m int, i int) RETURNS int LANGUAGE sql IMMUTABLE AS
  $$ SELECT pg_temp.v(pa, m, i) - pg_temp.v(pa, m - 1, i) $$;
CREATE FUNCTION pg_temp.ctot(pa bigint, m int) RETURNS int LANGUAGE sql IMMUTABLE AS
  $$ SELECT pg_temp.c(pa, m, 1) + CASE WHEN pg_temp.zones(pa) >= 2 THEN pg_temp.c(pa, m, 2) ELSE 0 END
                                + CASE WHEN pg_temp.zones(pa) >= 3 THEN pg_temp.c(pa, m, 3) ELSE 0 END $$;
CREATE FUNCTION pg_temp.vals(pa bigint, m int) RETURNS int[] LANGUAGE sql IMMUTABLE AS
  $$ SELECT CASE pg_temp.zones(pa) WHEN 1 THEN ARRAY[pg_temp.v(pa, m, 1)]
       WHEN 2 THEN ARRAY[pg_temp.v(pa, m, 1), pg_temp.v(pa, m, 2)]
       ELSE ARRAY[pg_temp.v(pa, m, 1), pg_temp.v(pa, m, 2), pg_temp.v(pa, m, 3)] END $$;
CREATE FUNCTION pg_temp.cons(pa bigint, m int) RETURNS int[] LANGUAGE sql IMMUTABLE AS
  $$ SELECT CASE pg_temp.zones(pa) WHEN 1 THEN ARRAY[pg_temp.c(pa, m, 1)]
       WHEN 2 THEN ARRAY[pg_temp.c(pa, m, 1), pg_temp.c(pa, m, 2)]
       ELSE ARRAY[pg_temp.c(pa, m, 1), pg_temp.c(pa, m, 2), pg_temp.c(pa, m, 3)] END $$;
"""

# {n}: accounts; {hash}: the one Argon2id hash of BENCH_PASSWORD every bench login shares.
LOAD = [
    (
        "personal accounts",
        r"""
INSERT INTO personal_account (id, res_id, number, holder_name, address, created_at)
SELECT pa, (SELECT id FROM res ORDER BY id LIMIT 1 OFFSET pa % 2), lpad(pa::text, 8, '0'),
       (ARRAY['Шевченко','Коваленко','Бондаренко','Ткаченко','Кравченко','Олійник','Шевчук','Поліщук','Лисенко','Бойко'])[1 + pa % 10]
         || ' ' || (ARRAY['О.','І.','В.','Н.','М.','Г.','Т.'])[1 + pa % 7] || ' ' || (ARRAY['А.','П.','С.','Л.','Д.'])[1 + pa % 5],
       'м. Київ, вул. ' || (ARRAY['Хрещатик','Велика Васильківська','Саксаганського','Антоновича','Лесі Українки','Гончара'])[1 + pa % 6]
         || ', буд. ' || (1 + pa % 200) || ', кв. ' || (1 + pa % 90),
       timestamptz '2016-12-01 10:00+02'
FROM generate_series(1, {n}) pa""",
    ),
    (
        "logins",
        r"""
INSERT INTO account (id, login, full_name, email, phones, password_hash, role, status, language, created_at)
SELECT pa, 'bench' || pa, pa_row.holder_name, 'bench' || pa || '@bench.example', '{{}}', '{hash}', 'CUSTOMER', 'ACTIVE', 'uk',
       timestamptz '2017-01-10 10:00+02'
FROM generate_series(1, {n}) pa JOIN personal_account pa_row ON pa_row.id = pa""",
    ),
    (
        "links",
        r"""
INSERT INTO activation_request (id, account_id, res_id, personal_account_number, personal_account_id, at_registration,
                                status, method, created_at, decided_at)
SELECT p.id, p.id, p.res_id, p.number, p.id, true, 'APPROVED', 'ADMIN_REVIEW',
       timestamptz '2017-01-10 10:00+02', timestamptz '2017-01-10 10:05+02'
FROM personal_account p""",
    ),
    (
        "meters",
        r"""
INSERT INTO meter (id, personal_account_id, serial_number, model, digits, zones, installed_on, verified_on, next_verification_on)
SELECT pa, pa, 'M' || lpad(pa::text, 8, '0'), (ARRAY['НІК 2102-01','СО-505','GAMA 100'])[pg_temp.zones(pa)], 5,
       pg_temp.zone_names(pg_temp.zones(pa)), date '2015-01-01' + (pa % 365)::int, date '2015-01-01' + (pa % 365)::int,
       date '2031-01-01' + (pa % 365)::int
FROM generate_series(1, {n}) pa""",
    ),
    (
        "readings",
        r"""
INSERT INTO meter_reading (id, personal_account_id, meter_id, taken_on, zones, "values", consumptions, consumption, source, created_at)
SELECT g + 1, pa, pa, pg_temp.taken(pa, m), pg_temp.zone_names(pg_temp.zones(pa)), pg_temp.vals(pa, m),
       CASE WHEN m = 0 THEN NULL ELSE pg_temp.cons(pa, m) END,
       CASE WHEN m = 0 THEN NULL ELSE pg_temp.ctot(pa, m) END, 'IMPORT', pg_temp.taken(pa, m)::timestamptz
FROM generate_series(0, 25 * {n} - 1) g, LATERAL (SELECT (g / {n})::int AS m, g % {n} + 1 AS pa) k""",
    ),
    (
        "bill lines",
        r"""
INSERT INTO bill_line (bill_id, personal_account_id, position, description, tariff_id, block, zone, quantity, unit, price,
                       coefficient, amount)
SELECT g + 1, pa, pos,
       'Електроенергія, тариф з 01.03.2017, блок ' || blk
         || CASE z WHEN 1 THEN '' ELSE ', зона «' || (CASE z WHEN 2 THEN ARRAY['день','ніч'] ELSE ARRAY['пік','напівпік','ніч'] END)[i] || '»' END,
       tariff, blk, (CASE z WHEN 1 THEN ARRAY['TOTAL'] WHEN 2 THEN ARRAY['DAY','NIGHT'] ELSE ARRAY['PEAK','SEMI_PEAK','NIGHT'] END)[i],
       qty, 'кВт·год', price, coef, round(qty * price * coef, 2)
FROM (SELECT id AS tariff FROM tariff WHERE valid_from = date '2017-03-01') t,
     generate_series({lo}, {hi}) g,
     LATERAL (SELECT (g / {n})::int + 1 AS m, g % {n} + 1 AS pa) k,
     LATERAL (SELECT CASE WHEN k.pa % 10 < 6 THEN 1 WHEN k.pa % 10 < 9 THEN 2 ELSE 3 END AS z) zz,
     LATERAL (SELECT 250 + ((k.pa * 37 + k.m * k.m * 7 + k.m * 11 + 29) % 100)
                       - ((k.pa * 37 + (k.m - 1) * (k.m - 1) * 7 + (k.m - 1) * 11 + 29) % 100) AS c1,
                     250 + ((k.pa * 37 + k.m * k.m * 7 + k.m * 11 + 58) % 100)
                       - ((k.pa * 37 + (k.m - 1) * (k.m - 1) * 7 + (k.m - 1) * 11 + 58) % 100) AS c2,
                     250 + ((k.pa * 37 + k.m * k.m * 7 + k.m * 11 + 87) % 100)
                       - ((k.pa * 37 + (k.m - 1) * (k.m - 1) * 7 + (k.m - 1) * 11 + 87) % 100) AS c3) cc,
     LATERAL (SELECT cc.c1 + CASE WHEN zz.z >= 2 THEN cc.c2 ELSE 0 END + CASE WHEN zz.z >= 3 THEN cc.c3 ELSE 0 END AS ctot) tt,
     LATERAL generate_series(1, 2 * zz.z) pos,
     LATERAL (SELECT (pos - 1) / zz.z + 1 AS blk, (pos - 1) % zz.z + 1 AS i) bi,
     LATERAL (SELECT (ARRAY[cc.c1, cc.c2, cc.c3])[bi.i] AS ci) x,
     LATERAL (SELECT round(100.0 * x.ci / tt.ctot)::int AS q1) y,
     LATERAL (SELECT CASE bi.blk WHEN 1 THEN y.q1 ELSE x.ci - y.q1 END AS qty,
                     CASE bi.blk WHEN 1 THEN 0.9000 ELSE 1.6800 END AS price,
                     CASE zz.z WHEN 1 THEN 1.000 WHEN 2 THEN (ARRAY[1.000, 0.500])[bi.i]
                               ELSE (ARRAY[1.500, 1.000, 0.400])[bi.i] END AS coef) q""",
    ),
    (
        "bills",
        r"""
INSERT INTO bill (id, personal_account_id, number, category, kind, issued_on, period_start, period_end, reading_id,
                  due_on, amount, source, created_at)
SELECT s.bill_id, pa, 30000000 + s.bill_id, 'ELECTRICITY', 'CONSUMPTION', pg_temp.taken(pa, m), pg_temp.taken(pa, m - 1) + 1,
       pg_temp.taken(pa, m), m * {n} + pa,
       (date_trunc('month', pg_temp.taken(pa, m)) + interval '1 month 19 days')::date,
       s.amount, 'IMPORT', pg_temp.taken(pa, m)::timestamptz
FROM (SELECT bill_id, sum(amount) AS amount FROM bill_line GROUP BY bill_id) s,
     LATERAL (SELECT ((s.bill_id - 1) / {n})::int + 1 AS m, (s.bill_id - 1) % {n} + 1 AS pa) k
ORDER BY s.bill_id""",
    ),
    (
        "service bills",
        r"""
WITH s AS (
  INSERT INTO bill (id, personal_account_id, number, category, kind, issued_on, due_on, amount, source, created_at)
  SELECT 24 * {n} + pa / 40, pa, 30000000 + 24 * {n} + pa / 40, 'SERVICES', 'SERVICE', date '2018-10-15', date '2018-11-20',
         250.00, 'IMPORT', timestamptz '2018-10-15 10:00+03'
  FROM generate_series(40, {n}, 40) pa RETURNING id, personal_account_id)
INSERT INTO bill_line (bill_id, personal_account_id, position, description, quantity, unit, price, amount)
SELECT id, personal_account_id, 1, 'Заміна лічильника', 1, 'послуга', 250.0000, 250.00 FROM s""",
    ),
    (
        "internet payments",
        r"""
INSERT INTO internet_payment (id, number, personal_account_id, account_id, amount, category, bill_id, status, created_at,
                              expires_at, confirmed_at, bank_payment_id)
SELECT b.id, 100000 + b.id, b.personal_account_id, b.personal_account_id, b.amount, 'ELECTRICITY', b.id,
       CASE WHEN f.f < 40 THEN 'PROCESSED' ELSE 'FAILED' END,
       c.at, c.at + interval '15 minutes', CASE WHEN f.f < 40 THEN c.at + interval '70 seconds' END, 'LP' || b.id
FROM bill b,
     LATERAL (SELECT ((b.personal_account_id * 7919 + (((b.id - 1) / {n}) + 1) * 104729) % 100)::int AS f) f,
     LATERAL (SELECT ((b.issued_on + (3 + f.f % 10))::timestamp
                      + make_interval(secs => 28800 + (b.personal_account_id * 13 % 43200))) AT TIME ZONE 'Europe/Kyiv' AS at) c
WHERE b.kind = 'CONSUMPTION' AND f.f >= 10 AND f.f < 45
ORDER BY b.id""",
    ),
    (
        "payments",
        r"""
INSERT INTO payment (personal_account_id, paid_on, amount, category, channel, bill_id, internet_payment_id, external_id, created_at)
SELECT x.pa, x.paid_on, x.amount, 'ELECTRICITY', x.channel, x.bill_id, x.ip, x.ext, x.paid_on::timestamptz
FROM (
  SELECT b.personal_account_id AS pa, b.id,
         CASE WHEN f.f < 40 THEN ((ip.confirmed_at) AT TIME ZONE 'Europe/Kyiv')::date
              ELSE b.issued_on + (5 + f.f % 15) END AS paid_on,
         CASE WHEN f.f < 40 OR f.f % 5 <> 0 THEN b.amount ELSE ceil(b.amount / 10) * 10 END AS amount,
         CASE WHEN f.f < 40 THEN 'INTERNET' ELSE 'BANK' END AS channel,
         CASE WHEN f.f < 40 THEN b.id END AS bill_id,
         CASE WHEN f.f < 40 THEN b.id END AS ip,
         CASE WHEN f.f >= 40 THEN 'B' || b.id END AS ext
  FROM bill b
       LEFT JOIN internet_payment ip ON ip.id = b.id AND ip.status = 'PROCESSED',
       LATERAL (SELECT ((b.personal_account_id * 7919 + (((b.id - 1) / {n}) + 1) * 104729) % 100)::int AS f) f
  WHERE b.kind = 'CONSUMPTION' AND f.f >= 10
  UNION ALL
  SELECT pa, 0, date '2018-11-05', 250.00, 'BANK', NULL, NULL, 'S' || pa
  FROM generate_series(80, {n}, 80) pa
) x
ORDER BY x.paid_on, x.pa""",
    ),
]

SEQUENCE_AFTER_LOAD = "SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT coalesce(max(id), 1) FROM {t}))"


def generator_version() -> str:
    text = FUNCTIONS + "".join(sql for _, sql in LOAD) + BUSINESS_DATE.isoformat() + "v3"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


async def _stamp(conn: asyncpg.Connection) -> dict | None:
    exists = await conn.fetchval("SELECT to_regclass('bench.meta') IS NOT NULL")
    if not exists:
        return None
    row = await conn.fetchrow("SELECT version, accounts, built_seconds FROM bench.meta")
    return dict(row) if row else None


async def _schema_objects(conn: asyncpg.Connection) -> tuple[list, list, list]:
    """FKs touching the big tables, their PK/unique constraints, and their other indexes."""
    fks = await conn.fetch(
        """SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
           WHERE contype = 'f' AND (conrelid::regclass::text = ANY($1) OR confrelid::regclass::text = ANY($1))""",
        list(BIG_TABLES),
    )
    keys = await conn.fetch(
        """SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
           WHERE contype IN ('p', 'u') AND conrelid::regclass::text = ANY($1)""",
        list(BIG_TABLES),
    )
    indexes = await conn.fetch(
        """SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
           WHERE i.indrelid::regclass::text = ANY($1)
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
        list(BIG_TABLES),
    )
    return list(fks), list(keys), list(indexes)


async def _parallel(urls_dsn: str, statements: list[str], workers: int = 2) -> None:
    """Run independent statements on `workers` connections (the machine has 2 cores)."""
    queue = list(statements)

    async def worker() -> None:
        conn = await asyncpg.connect(urls_dsn)
        try:
            await conn.execute("SET maintenance_work_mem = '1GB'")
            while queue:
                await conn.execute(queue.pop(0))
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(workers)))


async def dataset_build(*, dsn: str, accounts: int, log) -> float:
    """Fill a freshly migrated database (with the reference data) with `accounts` accounts."""
    from config import Settings
    from services.passwords import hasher

    started = time.perf_counter()
    password_hash = hasher(Settings()).hash(BENCH_PASSWORD)
    conn = await asyncpg.connect(dsn)
    try:
        # Few checkpoints during the load; back to the run's setting (and the WAL freed) after it.
        await conn.execute("ALTER SYSTEM SET max_wal_size = '16GB'")
        await conn.execute("SELECT pg_reload_conf()")
        await conn.execute("SET synchronous_commit = off; SET work_mem = '256MB'")
        await conn.execute(FUNCTIONS)
        fks, keys, indexes = await _schema_objects(conn)
        for fk in fks:
            await conn.execute(f'ALTER TABLE {fk["tbl"]} DROP CONSTRAINT "{fk["conname"]}"')
        for key in keys:
            await conn.execute(f'ALTER TABLE {key["tbl"]} DROP CONSTRAINT "{key["conname"]}"')
        for index in indexes:
            await conn.execute(f"DROP INDEX {index['name']}")
        for name, sql in LOAD:
            t = time.perf_counter()
            if "{lo}" in sql:
                # The biggest table: two halves of the months on two connections (two cores).
                half = 12 * accounts
                await _parallel(
                    dsn,
                    [sql.format(n=accounts, lo=0, hi=half - 1), sql.format(n=accounts, lo=half, hi=24 * accounts - 1)],
                )
                status = str(await conn.fetchval("SELECT count(*) FROM bill_line"))
            else:
                status = await conn.execute(sql.format(n=accounts, hash=password_hash))
            log(f"    {name}: {status.split()[-1]} rows in {time.perf_counter() - t:.1f} s")
        for table in BIG_TABLES:
            await conn.execute(SEQUENCE_AFTER_LOAD.format(t=table))
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('internet_payment', 'number'), (SELECT max(number) FROM internet_payment))"
        )
        # The cabinet's own bill numbers come after the generated ones (migration 0005's sequence).
        await conn.execute("SELECT setval('bill_number_seq', (SELECT max(number) FROM bill) + 1, false)")
    finally:
        await conn.close()
    t = time.perf_counter()
    await _parallel(dsn, [f'ALTER TABLE {k["tbl"]} ADD CONSTRAINT "{k["conname"]}" {k["def"]}' for k in keys])
    await _parallel(dsn, [i["def"] for i in indexes])
    log(f"    keys and indexes rebuilt in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        for fk in fks:
            await conn.execute(f'ALTER TABLE {fk["tbl"]} ADD CONSTRAINT "{fk["conname"]}" {fk["def"]} NOT VALID')
    finally:
        await conn.close()
    await _parallel(dsn, [f'ALTER TABLE {fk["tbl"]} VALIDATE CONSTRAINT "{fk["conname"]}"' for fk in fks])
    log(f"    foreign keys validated in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    await _parallel(dsn, [f"VACUUM (FREEZE, ANALYZE) {table}" for table in BIG_TABLES] + ["ANALYZE"])
    log(f"    VACUUM (FREEZE, ANALYZE) in {time.perf_counter() - t:.1f} s")
    conn = await asyncpg.connect(dsn)
    try:
        from bench.pg import SERVER_SETTINGS

        await conn.execute(f"ALTER SYSTEM SET max_wal_size = '{SERVER_SETTINGS['max_wal_size']}'")
        await conn.execute("SELECT pg_reload_conf()")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def reference_load(url: str) -> None:
    """The demo's RES and tariff history, through the project's own import."""
    from config import Settings
    from db import Database, create_engine
    from services.demo import demo_terms
    from services.importing import DEMO_DIR, import_csv

    db = Database(create_engine(url, Settings(database_url=url)))
    try:
        async with db.transaction() as session:
            for kind, file in (("res", "res.csv"), ("tariffs", "tariffs.csv")):
                with (DEMO_DIR / file).open(encoding="utf-8", newline="") as stream:
                    await import_csv(session=session, kind=kind, stream=stream)
            await demo_terms(session)
    finally:
        await db.dispose()


async def dataset_ensure(server, name: str, accounts: int, log) -> str:
    """The database `name` with `accounts` accounts, made unless a matching one is there."""
    from bench.pg import dsn, with_database
    from db import migrate

    url = with_database(server.url, name)
    admin = await server.connect()
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    finally:
        await admin.close()
    if exists:
        conn = await asyncpg.connect(dsn(url))
        try:
            stamp = await _stamp(conn)
        finally:
            await conn.close()
        if stamp and stamp["version"] == generator_version() and stamp["accounts"] == accounts:
            log(f"  {name}: kept from an earlier run ({accounts:,} accounts, built in {stamp['built_seconds']:.0f} s)")
            return url
    log(f"  {name}: building {accounts:,} accounts")
    admin = await server.connect()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await asyncio.to_thread(migrate, url)
    await reference_load(url)
    seconds = await dataset_build(dsn=dsn(url), accounts=accounts, log=log)
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute(
            "CREATE SCHEMA IF NOT EXISTS bench; "
            "CREATE TABLE bench.meta (version text, accounts int, built_seconds float8, business_date date)"
        )
        await conn.execute(
            "INSERT INTO bench.meta VALUES ($1, $2, $3, $4)", generator_version(), accounts, seconds, BUSINESS_DATE
        )
        size = await conn.fetchval("SELECT pg_database_size(current_database())")
    finally:
        await conn.close()
    log(f"  {name}: built in {seconds:.0f} s, {size / 2**30:.1f} GiB")
    return url


def bytes_per_account_estimate() -> int:
    """From the 200k set (7.2 GiB with indexes, ~14 GiB with the WAL of making it), with margin."""
    return 75_000


__all__ = ["BENCH_PASSWORD", "BUSINESS_DATE", "bytes_per_account_estimate", "dataset_ensure", "generator_version"]
