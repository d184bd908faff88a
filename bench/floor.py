"""The floor: the main screen as one hand-written SQL statement that builds the JSON in
PostgreSQL, behind a minimal Starlette endpoint on the same server settings.

POST /screen with `Authorization: Bearer <access token>` answers the same JSON as the
app's MainScreen query (tests/test_read_side.py's MAIN_SCREEN, default period): the
token is checked (hash, kind, expiry, session, login status), the linked personal
accounts found, and debt, allocation (bill status and amount due), the default period's
bills (the year, or back to the oldest electricity bill still owed) with lines, payments
and card payments computed in the one statement. What it leaves
out is what makes the app an API: GraphQL parsing, validation, arbitrary selections,
errors as data, limits.

    uvicorn --factory --workers 2 bench.floor:create    (env: DATABASE_URL, CABINET_BUSINESS_DATE)
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SCREEN_SQL = r"""
WITH viewer AS (
  SELECT a.id AS account_id
  FROM auth_token t JOIN auth_session s ON s.id = t.session_id JOIN account a ON a.id = s.account_id
  WHERE t.token_hash = $1 AND t.kind = 'ACCESS' AND t.expires_at > now()
    AND s.revoked_at IS NULL AND a.status = 'ACTIVE'
), links AS (
  SELECT ar.personal_account_id AS pa, min(ar.decided_at) AS decided, min(ar.id) AS first_id
  FROM activation_request ar JOIN viewer v ON v.account_id = ar.account_id
  WHERE ar.status = 'APPROVED' AND ar.personal_account_id IS NOT NULL
  GROUP BY ar.personal_account_id
), bills AS (
  SELECT b.id, b.personal_account_id AS pa, b.number, b.category, b.issued_on, b.period_start, b.period_end,
         b.due_on, b.amount
  FROM bill b WHERE b.personal_account_id IN (SELECT pa FROM links) AND b.issued_on <= $2
), pays AS (
  SELECT p.id, p.personal_account_id AS pa, p.paid_on, p.amount, p.category, p.channel, p.bill_id,
         p.reverses_payment_id IS NULL AND NOT EXISTS (SELECT 1 FROM payment r WHERE r.reverses_payment_id = p.id) AS credit
  FROM payment p WHERE p.personal_account_id IN (SELECT pa FROM links)
), chosen AS (
  SELECT bill_id, sum(amount) AS amount FROM pays WHERE credit AND bill_id IS NOT NULL AND amount > 0 GROUP BY bill_id
), alloc1 AS (
  SELECT b.*, CASE WHEN b.amount > 0 THEN least(b.amount, coalesce(c.amount, 0)) ELSE 0.00 END AS chosen_paid
  FROM bills b LEFT JOIN chosen c ON c.bill_id = b.id
), pool AS (
  SELECT pa, category, sum(x) AS pool FROM (
    SELECT pa, category, amount AS x FROM pays WHERE credit
    UNION ALL SELECT pa, category, -chosen_paid FROM alloc1
    UNION ALL SELECT pa, category, -amount FROM alloc1 WHERE amount <= 0) u
  GROUP BY pa, category
), alloc AS (
  SELECT a.*,
         CASE WHEN a.amount <= 0 THEN 0.00
              ELSE a.amount - a.chosen_paid - greatest(0, least(a.amount - a.chosen_paid,
                     coalesce(p.pool, 0) - coalesce(sum(a.amount - a.chosen_paid) FILTER (WHERE a.amount > 0) OVER (
                       PARTITION BY a.pa, a.category ORDER BY a.issued_on, a.number
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))) END AS due
  FROM alloc1 a LEFT JOIN pool p ON p.pa = a.pa AND p.category = a.category
), debt AS (
  SELECT pa, category, sum(x) AS amount FROM (
    SELECT pa, category, amount AS x FROM bills UNION ALL SELECT pa, category, -amount FROM pays WHERE credit) u
  GROUP BY pa, category
), starts AS (
  -- The default period: the year, or back to the oldest electricity bill still owed.
  SELECT l.pa, least($3::date, (SELECT min(a.issued_on) FROM alloc a
                                WHERE a.pa = l.pa AND a.category = 'ELECTRICITY' AND a.due > 0)) AS start
  FROM links l
), year_bills AS (
  SELECT a.*, row_number() OVER (PARTITION BY a.pa ORDER BY a.issued_on DESC, a.number DESC) AS rn,
         count(*) OVER (PARTITION BY a.pa) AS total_count, sum(a.amount) OVER (PARTITION BY a.pa) AS total_amount,
         rtrim(translate(encode(convert_to(a.issued_on::text || '|' || a.number, 'UTF8'), 'base64'), '+/', '-_'), '=') AS cursor
  FROM alloc a JOIN starts s ON s.pa = a.pa
  WHERE a.category = 'ELECTRICITY' AND a.issued_on BETWEEN s.start AND $2
), year_pays AS (
  SELECT p.*, row_number() OVER (PARTITION BY p.pa ORDER BY p.paid_on DESC, p.id DESC) AS rn
  FROM pays p JOIN starts s ON s.pa = p.pa
  WHERE p.category = 'ELECTRICITY' AND p.paid_on BETWEEN s.start AND $2
), year_card AS (
  SELECT ip.id, ip.personal_account_id AS pa, ip.number, ip.amount, ip.status, ip.confirmed_at,
         row_number() OVER (PARTITION BY ip.personal_account_id ORDER BY ip.created_at DESC, ip.id DESC) AS rn
  FROM internet_payment ip JOIN starts s ON s.pa = ip.personal_account_id
  WHERE ip.category = 'ELECTRICITY'
    AND least((ip.created_at AT TIME ZONE 'Europe/Kyiv')::date, $2) BETWEEN s.start AND $2
)
SELECT json_build_object('data', json_build_object('viewer', json_build_object('personalAccounts',
  coalesce((SELECT json_agg(json_build_object(
    'id', rtrim(translate(encode(convert_to('PersonalAccount:' || p.id, 'UTF8'), 'base64'), '+/', '-_'), '='),
    'number', p.number, 'holderName', p.holder_name, 'address', p.address,
    'lastReading', (SELECT json_build_object('takenOn', r.taken_on, 'values',
                      (SELECT json_agg(json_build_object('zone', u.z, 'value', u.v, 'consumption', u.c) ORDER BY u.o)
                       FROM unnest(r.zones, r."values", r.consumptions) WITH ORDINALITY AS u(z, v, c, o)))
                    FROM meter_reading r WHERE r.personal_account_id = p.id ORDER BY r.taken_on DESC LIMIT 1),
    'meter', (SELECT json_build_object('serialNumber', m.serial_number, 'digits', m.digits, 'zones', m.zones)
              FROM meter m WHERE m.personal_account_id = p.id AND m.removed_on IS NULL
              ORDER BY m.installed_on DESC NULLS LAST, m.id DESC LIMIT 1),
    'debt', (SELECT json_build_object('total', sum(coalesce(d.amount, 0.00))::text,
                      'categories', json_agg(json_build_object('category', c.category, 'amount', coalesce(d.amount, 0.00)::text)
                                             ORDER BY c.ord))
             FROM (VALUES ('ELECTRICITY', 1), ('ELECTRICITY_SCHEDULE', 2), ('ACTS', 3), ('ACTS_SCHEDULE', 4),
                          ('SERVICES', 5)) c(category, ord)
             LEFT JOIN debt d ON d.pa = p.id AND d.category = c.category),
    'bills', (SELECT json_build_object(
                'totalCount', coalesce(max(b.total_count), 0), 'totalAmount', coalesce(max(b.total_amount), 0.00)::text,
                'period', json_build_object('from', (SELECT s.start FROM starts s WHERE s.pa = p.id), 'to', $2::date),
                'pageInfo', json_build_object('hasNextPage', coalesce(max(b.total_count), 0) > 100,
                                              'endCursor', (array_agg(b.cursor ORDER BY b.rn DESC))[1]),
                'edges', coalesce(json_agg(json_build_object('cursor', b.cursor, 'node', json_build_object(
                   'id', rtrim(translate(encode(convert_to('Bill:' || b.id, 'UTF8'), 'base64'), '+/', '-_'), '='),
                   'number', b.number::text, 'issuedOn', b.issued_on, 'periodStart', b.period_start,
                   'periodEnd', b.period_end, 'amount', b.amount::text,
                   'status', CASE WHEN b.amount <= 0 OR b.due = 0 THEN 'PAID' WHEN b.due = b.amount THEN 'UNPAID'
                                  ELSE 'PARTIALLY_PAID' END,
                   'amountDue', b.due::text, 'dueOn', b.due_on,
                   'lines', (SELECT coalesce(json_agg(json_build_object(
                                'description', l.description, 'block', l.block, 'zone', l.zone,
                                'quantity', CASE WHEN l.quantity = trunc(l.quantity) THEN trunc(l.quantity)::text
                                                 ELSE l.quantity::text END,
                                'unit', l.unit, 'price', l.price::text,
                                'coefficient', CASE WHEN l.coefficient = round(l.coefficient, 1)
                                                    THEN round(l.coefficient, 1)::text ELSE l.coefficient::text END,
                                'amount', l.amount::text) ORDER BY l.position), '[]')
                             FROM bill_line l WHERE l.bill_id = b.id))) ORDER BY b.rn), '[]'))
              FROM year_bills b WHERE b.pa = p.id AND b.rn <= 100),
    'payments', (SELECT json_build_object('totalCount', count(*), 'totalAmount', coalesce(sum(y.amount), 0.00)::text,
                   'edges', coalesce(json_agg(json_build_object('node', json_build_object(
                      'paidOn', y.paid_on, 'amount', y.amount::text, 'channel', y.channel)) ORDER BY y.rn)
                      FILTER (WHERE y.rn <= 100), '[]'))
                 FROM year_pays y WHERE y.pa = p.id),
    'internetPayments', (SELECT json_build_object('totalCount', count(*), 'totalAmount', coalesce(sum(y.amount), 0.00)::text,
                   'edges', coalesce(json_agg(json_build_object('node', json_build_object(
                      'number', y.number, 'amount', y.amount::text, 'status', y.status,
                      'confirmedAt', to_char(y.confirmed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                        || CASE WHEN extract(microseconds FROM y.confirmed_at)::bigint % 1000000 <> 0
                                THEN '.' || to_char(y.confirmed_at AT TIME ZONE 'UTC', 'US') ELSE '' END || 'Z'))
                      ORDER BY y.rn) FILTER (WHERE y.rn <= 100), '[]'))
                 FROM year_card y WHERE y.pa = p.id)
  ) ORDER BY l.decided, l.first_id)
  FROM links l JOIN personal_account p ON p.id = l.pa), '[]'::json))))::text
FROM viewer
"""

UNAUTHENTICATED = b'{"data":null,"errors":[{"message":"Not signed in.","extensions":{"code":"UNAUTHENTICATED"}}]}'


def create() -> Starlette:
    from services.periods import year_before

    from bench.pg import dsn

    url = dsn(os.environ["DATABASE_URL"])
    today = dt.date.fromisoformat(os.environ["CABINET_BUSINESS_DATE"])
    start = year_before(today)
    pools: dict[str, asyncpg.Pool] = {}

    async def screen(request: Request) -> Response:
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        await request.body()
        if scheme.lower() != "bearer" or not token:
            return Response(UNAUTHENTICATED, media_type="application/json")
        digest = hashlib.sha256(token.strip().encode()).digest()
        # One statement: it sees one snapshot by itself, as the app's REPEATABLE READ does.
        body = await pools["db"].fetchval(SCREEN_SQL, digest, today, start)
        if body is None:
            return Response(UNAUTHENTICATED, media_type="application/json")
        return Response(body.encode(), media_type="application/json")

    async def lifespan(app):
        async def no_reset(conn: asyncpg.Connection) -> None:
            """The floor holds no session state: skip asyncpg's reset round trip on release."""

        pools["db"] = await asyncpg.create_pool(
            url, min_size=2, max_size=10, server_settings={"timezone": "UTC"}, reset=no_reset
        )
        yield
        await pools["db"].close()

    return Starlette(routes=[Route("/screen", screen, methods=["POST"])], lifespan=lifespan)
