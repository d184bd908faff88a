"""The floor: each measured document as one hand-written SQL statement that builds the app's
JSON in PostgreSQL, behind a minimal Starlette endpoint on the same server settings.

POST /<document> (bench/world.py's slugs: /main-screen, /apollo-main-screen, /bills-tab,
/payments, /readings-tab, /mobile, /debt-lookup) with the caller's `Authorization` header
answers the same JSON as the app gives for that document (bench/read_side_documents.py) with
the same variables: the token (or the aggregator's key) is checked as the app checks it,
the linked personal accounts found, and debt, allocation (bill status and amount due),
lists, pages and totals computed in the one statement. What it leaves out is what makes the
app an API: GraphQL parsing, validation, any other selection, errors as data, limits.

    uvicorn --factory --workers 2 bench.floor:create    (env: DATABASE_URL, CABINET_BUSINESS_DATE)
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def _gid(type_name: str, column: str) -> str:
    """resolvers/ids.global_id in SQL: "Type:pk" in URL-safe base64 without padding."""
    return f"rtrim(translate(encode(convert_to('{type_name}:' || {column}, 'UTF8'), 'base64'), '+/', '-_'), '=')"


def _cursor(*columns: str) -> str:
    """services/pagination.cursor_encode in SQL: the sort key joined by "|", URL-safe base64."""
    text = " || '|' || ".join(f"{c}::text" for c in columns)
    return f"rtrim(translate(encode(convert_to({text}, 'UTF8'), 'base64'), '+/', '-_'), '=')"


def _utc(column: str) -> str:
    """schema/scalars.datetime_serialize in SQL: ISO 8601 in UTC with Z, microseconds only when set."""
    return (
        f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
        f"extract(microseconds FROM {column})::bigint % 1000000 <> 0 THEN '.' || to_char({column} AT TIME ZONE 'UTC', 'US') "
        "ELSE '' END || 'Z'"
    )


# $1: the SHA-256 of the access token. The token check of RequestContext.viewer, then the
# personal accounts its login links (approved requests), in link order.
VIEWER = """
viewer AS (
  SELECT a.id AS account_id
  FROM auth_token t JOIN auth_session s ON s.id = t.session_id JOIN account a ON a.id = s.account_id
  WHERE t.token_hash = $1 AND t.kind = 'ACCESS' AND t.expires_at > now()
    AND s.revoked_at IS NULL AND a.status = 'ACTIVE'
), links AS (
  SELECT ar.personal_account_id AS pa, min(ar.decided_at) AS decided, min(ar.id) AS first_id
  FROM activation_request ar JOIN viewer v ON v.account_id = ar.account_id
  WHERE ar.status = 'APPROVED' AND ar.personal_account_id IS NOT NULL
  GROUP BY ar.personal_account_id
)"""

# The ledger of those personal accounts ($2: today): bills issued up to today, payments, the
# credits among them (no reversal, not reversed), and debt by category.
LEDGER = """
bills AS (
  SELECT b.id, b.personal_account_id AS pa, b.number, b.category, b.issued_on, b.period_start, b.period_end,
         b.due_on, b.amount
  FROM bill b WHERE b.personal_account_id IN (SELECT pa FROM targets) AND b.issued_on <= $2
), pays AS (
  SELECT p.id, p.personal_account_id AS pa, p.paid_on, p.amount, p.category, p.channel, p.bill_id,
         p.reverses_payment_id IS NULL AND NOT EXISTS (SELECT 1 FROM payment r WHERE r.reverses_payment_id = p.id) AS credit
  FROM payment p WHERE p.personal_account_id IN (SELECT pa FROM targets)
), debt AS (
  SELECT pa, category, sum(x) AS amount FROM (
    SELECT pa, category, amount AS x FROM bills UNION ALL SELECT pa, category, -amount FROM pays WHERE credit) u
  GROUP BY pa, category
)"""

# services/allocation.allocate: payments for a chosen bill pay it first, then every remaining
# credit of the category pays the oldest charges by (issued date, number); `due` per bill.
ALLOCATION = """
chosen AS (
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
)"""


def _since(categories: str | None) -> str:
    """services/ledger.listing_period in SQL: per personal account, the start of a list with no
    `from`: a year before today ($3), or the issue date of the oldest bill of those categories
    (all when None) still owed by the allocation, when that is earlier."""
    which = f" AND a.category IN ({categories})" if categories else ""
    return f"""
since AS (
  SELECT t.pa, least($3::date, (SELECT min(a.issued_on) FROM alloc a WHERE a.pa = t.pa AND a.due > 0{which})) AS since
  FROM targets t
)"""


STATUS = "CASE WHEN {b}.amount <= 0 OR {b}.due = 0 THEN 'PAID' WHEN {b}.due = {b}.amount THEN 'UNPAID' ELSE 'PARTIALLY_PAID' END"
CATEGORIES = """(VALUES ('ELECTRICITY', 1), ('ELECTRICITY_SCHEDULE', 2), ('ACTS', 3), ('ACTS_SCHEDULE', 4),
                          ('SERVICES', 5)) c(category, ord)"""


def _person(
    select_account: str, *, needs_ledger: bool, needs_allocation: bool = False, more: str = "", viewer: str = ""
) -> str:
    """One statement for a person's document: the token check, the links, what the document
    needs of the ledger, and `select_account`, the JSON object of one personal account `p`."""
    ctes = [VIEWER, "\ntargets AS (SELECT pa FROM links)"]
    if needs_ledger:
        ctes.append(LEDGER)
    if needs_allocation:
        ctes.append(ALLOCATION)
    if more:
        ctes.append(more)
    return f"""
WITH {",".join(ctes)}
SELECT json_build_object('data', json_build_object('viewer', json_build_object({viewer}'personalAccounts',
  coalesce((SELECT json_agg({select_account} ORDER BY l.decided, l.first_id)
  FROM links l JOIN personal_account p ON p.id = l.pa), '[]'::json))))::text
FROM viewer
"""


def _screen(apollo: bool) -> str:
    """The main screen (MAIN_SCREEN) or the same screen as Apollo sends it (APOLLO_MAIN_SCREEN):
    the same values; Apollo's adds __typename to every object and the ids of the viewer, the
    reading and the payments."""

    def t(name: str) -> str:
        return f"'__typename', '{name}', " if apollo else ""

    def i(type_name: str, column: str) -> str:
        return f"'id', {_gid(type_name, column)}, " if apollo else ""

    year = (
        _since("'ELECTRICITY'")
        + f""",
year_bills AS (
  SELECT a.*, row_number() OVER (PARTITION BY a.pa ORDER BY a.issued_on DESC, a.number DESC) AS rn,
         count(*) OVER (PARTITION BY a.pa) AS total_count, sum(a.amount) OVER (PARTITION BY a.pa) AS total_amount,
         {_cursor("a.issued_on", "a.number")} AS cursor
  FROM alloc a JOIN since s ON s.pa = a.pa WHERE a.category = 'ELECTRICITY' AND a.issued_on BETWEEN s.since AND $2
), year_pays AS (
  SELECT p.*, row_number() OVER (PARTITION BY p.pa ORDER BY p.paid_on DESC, p.id DESC) AS rn
  FROM pays p JOIN since s ON s.pa = p.pa WHERE p.category = 'ELECTRICITY' AND p.paid_on BETWEEN s.since AND $2
), year_card AS (
  SELECT ip.id, ip.personal_account_id AS pa, ip.number, ip.amount, ip.status, ip.confirmed_at,
         row_number() OVER (PARTITION BY ip.personal_account_id ORDER BY ip.created_at DESC, ip.id DESC) AS rn
  FROM internet_payment ip JOIN since s ON s.pa = ip.personal_account_id
  WHERE ip.category = 'ELECTRICITY'
    AND least((ip.created_at AT TIME ZONE 'Europe/Kyiv')::date, $2) BETWEEN s.since AND $2
)"""
    )
    account = f"""json_build_object({t("PersonalAccount")}
    'id', {_gid("PersonalAccount", "p.id")},
    'number', p.number, 'holderName', p.holder_name, 'address', p.address,
    'lastReading', (SELECT json_build_object({t("MeterReading")}{i("MeterReading", "r.id")}'takenOn', r.taken_on, 'values',
                      (SELECT json_agg(json_build_object({t("ZoneValue")}'zone', u.z, 'value', u.v, 'consumption', u.c) ORDER BY u.o)
                       FROM unnest(r.zones, r."values", r.consumptions) WITH ORDINALITY AS u(z, v, c, o)))
                    FROM meter_reading r WHERE r.personal_account_id = p.id ORDER BY r.taken_on DESC LIMIT 1),
    'meter', (SELECT json_build_object({t("Meter")}'serialNumber', m.serial_number, 'digits', m.digits, 'zones', m.zones)
              FROM meter m WHERE m.personal_account_id = p.id AND m.removed_on IS NULL
              ORDER BY m.installed_on DESC NULLS LAST, m.id DESC LIMIT 1),
    'debt', (SELECT json_build_object({t("Debt")}'total', sum(coalesce(d.amount, 0.00))::text,
                      'categories', json_agg(json_build_object({t("CategoryDebt")}'category', c.category,
                                                               'amount', coalesce(d.amount, 0.00)::text) ORDER BY c.ord))
             FROM {CATEGORIES}
             LEFT JOIN debt d ON d.pa = p.id AND d.category = c.category),
    'bills', (SELECT json_build_object({t("BillConnection")}
                'totalCount', coalesce(max(b.total_count), 0), 'totalAmount', coalesce(max(b.total_amount), 0.00)::text,
                'period', json_build_object({t("DateRange")}'from', (SELECT s.since FROM since s WHERE s.pa = p.id), 'to', $2::date),
                'pageInfo', json_build_object({t("PageInfo")}'hasNextPage', coalesce(max(b.total_count), 0) > 100,
                                              'endCursor', (array_agg(b.cursor ORDER BY b.rn DESC))[1]),
                'edges', coalesce(json_agg(json_build_object({t("BillEdge")}'cursor', b.cursor, 'node', json_build_object({t("Bill")}
                   'id', {_gid("Bill", "b.id")},
                   'number', b.number::text, 'issuedOn', b.issued_on, 'periodStart', b.period_start,
                   'periodEnd', b.period_end, 'amount', b.amount::text,
                   'status', {STATUS.format(b="b")},
                   'amountDue', b.due::text, 'dueOn', b.due_on,
                   'lines', (SELECT coalesce(json_agg(json_build_object({t("BillLine")}
                                'description', l.description, 'block', l.block, 'zone', l.zone,
                                'quantity', CASE WHEN l.quantity = trunc(l.quantity) THEN trunc(l.quantity)::text
                                                 ELSE l.quantity::text END,
                                'unit', l.unit, 'price', l.price::text,
                                'coefficient', CASE WHEN l.coefficient = round(l.coefficient, 1)
                                                    THEN round(l.coefficient, 1)::text ELSE l.coefficient::text END,
                                'amount', l.amount::text) ORDER BY l.position), '[]')
                             FROM bill_line l WHERE l.bill_id = b.id))) ORDER BY b.rn), '[]'))
              FROM year_bills b WHERE b.pa = p.id AND b.rn <= 100),
    'payments', (SELECT json_build_object({t("PaymentConnection")}'totalCount', count(*), 'totalAmount', coalesce(sum(y.amount), 0.00)::text,
                   'edges', coalesce(json_agg(json_build_object({t("PaymentEdge")}'node', json_build_object({t("Payment")}{i("Payment", "y.id")}
                      'paidOn', y.paid_on, 'amount', y.amount::text, 'channel', y.channel)) ORDER BY y.rn)
                      FILTER (WHERE y.rn <= 100), '[]'))
                 FROM year_pays y WHERE y.pa = p.id),
    'internetPayments', (SELECT json_build_object({t("InternetPaymentConnection")}'totalCount', count(*), 'totalAmount', coalesce(sum(y.amount), 0.00)::text,
                   'edges', coalesce(json_agg(json_build_object({t("InternetPaymentEdge")}'node', json_build_object({t("InternetPayment")}{i("InternetPayment", "y.id")}
                      'number', y.number, 'amount', y.amount::text, 'status', y.status,
                      'confirmedAt', {_utc("y.confirmed_at")}))
                      ORDER BY y.rn) FILTER (WHERE y.rn <= 100), '[]'))
                 FROM year_card y WHERE y.pa = p.id)
  )"""
    viewer = f"{t('Account')}'id', (SELECT {_gid('Account', 'account_id')} FROM viewer), " if apollo else ""
    return _person(account, needs_ledger=True, needs_allocation=True, more=year, viewer=viewer)


# BILLS_TAB: all categories of the default period (`since`), 20 a page, after the cursor ($4, $5: its issued date
# and number; null on the first page). totalCount counts the whole period, not the page.
BILLS_TAB_SQL = _person(
    f"""json_build_object('id', {_gid("PersonalAccount", "p.id")},
    'bills', (SELECT json_build_object(
                'totalCount', (SELECT count(*) FROM tab x WHERE x.pa = p.id),
                'pageInfo', json_build_object('hasNextPage', coalesce(max(b.remaining), 0) > 20,
                                              'endCursor', (array_agg(b.cursor ORDER BY b.rn DESC))[1]),
                'edges', coalesce(json_agg(json_build_object('cursor', b.cursor, 'node', json_build_object(
                   'id', {_gid("Bill", "b.id")}, 'number', b.number::text, 'amount', b.amount::text,
                   'status', {STATUS.format(b="b")}, 'amountDue', b.due::text,
                   'lines', (SELECT coalesce(json_agg(json_build_object('description', l.description, 'amount', l.amount::text)
                                                      ORDER BY l.position), '[]')
                             FROM bill_line l WHERE l.bill_id = b.id))) ORDER BY b.rn), '[]'))
              FROM page b WHERE b.pa = p.id AND b.rn <= 20))""",
    needs_ledger=True,
    needs_allocation=True,
    more=_since(None)
    + f""",
tab AS (SELECT a.* FROM alloc a JOIN since s ON s.pa = a.pa WHERE a.issued_on BETWEEN s.since AND $2
), page AS (
  SELECT t.*, row_number() OVER (PARTITION BY t.pa ORDER BY t.issued_on DESC, t.number DESC) AS rn,
         count(*) OVER (PARTITION BY t.pa) AS remaining, {_cursor("t.issued_on", "t.number")} AS cursor
  FROM tab t WHERE $4::date IS NULL OR (t.issued_on, t.number) < ($4::date, $5::bigint)
)""",
)

# PAYMENTS_OF_A_PERIOD: every payment from 1900-01-01 to 2100-01-01 and every card payment
# from 1900-01-01 to today (by the Kyiv date of its start, never after today), 100 of each.
PAYMENTS_SQL = _person(
    f"""json_build_object('id', {_gid("PersonalAccount", "p.id")},
    'payments', (SELECT json_build_object('totalCount', count(*), 'totalAmount', coalesce(sum(y.amount), 0.00)::text,
                   'edges', coalesce(json_agg(json_build_object('node', json_build_object('id', {_gid("Payment", "y.id")},
                      'paidOn', y.paid_on, 'amount', y.amount::text, 'channel', y.channel, 'category', y.category)) ORDER BY y.rn)
                      FILTER (WHERE y.rn <= 100), '[]'))
                 FROM (SELECT x.*, row_number() OVER (ORDER BY x.paid_on DESC, x.id DESC) AS rn FROM payment x
                       WHERE x.personal_account_id = p.id AND x.paid_on BETWEEN date '1900-01-01' AND date '2100-01-01') y),
    'internetPayments', (SELECT json_build_object('totalCount', count(*),
                   'edges', coalesce(json_agg(json_build_object('node', json_build_object('id', {_gid("InternetPayment", "y.id")},
                      'number', y.number, 'amount', y.amount::text, 'status', y.status, 'createdAt', {_utc("y.created_at")}))
                      ORDER BY y.rn) FILTER (WHERE y.rn <= 100), '[]'))
                 FROM (SELECT ip.*, row_number() OVER (ORDER BY ip.created_at DESC, ip.id DESC) AS rn FROM internet_payment ip
                       WHERE ip.personal_account_id = p.id
                         AND least((ip.created_at AT TIME ZONE 'Europe/Kyiv')::date, $2) BETWEEN date '1900-01-01' AND $2) y))""",
    needs_ledger=False,
)

# READINGS_TAB: the meter, the readings of the default period (`since`: the year, or back to the
# oldest electricity bill still owed; 20, newest first) and its consumption by calendar month
# with the amounts of the bills (issued up to today) those readings formed.
READINGS_SQL = _person(
    f"""json_build_object('id', {_gid("PersonalAccount", "p.id")},
    'meter', (SELECT json_build_object('serialNumber', m.serial_number, 'digits', m.digits, 'zones', m.zones)
              FROM meter m WHERE m.personal_account_id = p.id AND m.removed_on IS NULL
              ORDER BY m.installed_on DESC NULLS LAST, m.id DESC LIMIT 1),
    'readings', (SELECT json_build_object('totalCount', count(*),
                   'edges', coalesce(json_agg(json_build_object('node', json_build_object('id', {_gid("MeterReading", "r.id")},
                      'takenOn', r.taken_on,
                      'values', (SELECT json_agg(json_build_object('zone', u.z, 'value', u.v, 'consumption', u.c) ORDER BY u.o)
                                 FROM unnest(r.zones, r."values", r.consumptions) WITH ORDINALITY AS u(z, v, c, o))))
                      ORDER BY r.rn) FILTER (WHERE r.rn <= 20), '[]'))
                 FROM (SELECT r.*, row_number() OVER (ORDER BY r.taken_on DESC) AS rn
                       FROM meter_reading r JOIN meter mm ON mm.id = r.meter_id
                       WHERE r.personal_account_id = p.id
                         AND r.taken_on BETWEEN (SELECT s.since FROM since s WHERE s.pa = p.id) AND $2) r),
    'monthlyConsumption', (SELECT coalesce(json_agg(json_build_object('month', x.month, 'kwh', x.kwh, 'amount', x.amount::text)
                                                    ORDER BY x.month), '[]')
                           FROM (SELECT date_trunc('month', r.taken_on)::date AS month, sum(r.consumption) AS kwh,
                                        coalesce(sum(b.amount), 0.00) AS amount
                                 FROM meter_reading r JOIN meter mm ON mm.id = r.meter_id
                                 LEFT JOIN bill b ON b.reading_id = r.id AND b.personal_account_id = p.id AND b.issued_on <= $2
                                 WHERE r.personal_account_id = p.id AND r.consumption IS NOT NULL
                                   AND r.taken_on BETWEEN (SELECT s.since FROM since s WHERE s.pa = p.id) AND $2
                                 GROUP BY 1) x))""",
    needs_ledger=True,
    needs_allocation=True,
    more=_since("'ELECTRICITY'"),
)

# MOBILE: the number and the total debt.
MOBILE_SQL = _person(
    f"""json_build_object('id', {_gid("PersonalAccount", "p.id")}, 'number', p.number,
    'debt', json_build_object('total', (SELECT coalesce(sum(d.amount), 0.00) FROM debt d WHERE d.pa = p.id)::text))""",
    needs_ledger=True,
)

# DEBT_LOOKUP ($1: the SHA-256 of the API key, $3: the RES code, $4: the number): the key with
# its scope, the personal account by (RES, number), the holder as surname and initials
# (services/aggregators.holder_initials) and the debt by category.
DEBT_LOOKUP_SQL = f"""
WITH caller AS (
  SELECT id FROM api_client WHERE key_hash = $1 AND revoked_at IS NULL AND 'debt:read' = ANY(scopes)
), targets AS (
  SELECT p.id AS pa, p.holder_name FROM personal_account p JOIN res r ON r.id = p.res_id
  WHERE r.code = $3 AND p.number = $4
),{LEDGER}
SELECT json_build_object('data', json_build_object('debtLookup', json_build_object(
  'holderName', (SELECT array_to_string(w[1:1] || ARRAY(
                   SELECT (SELECT string_agg(upper(substring(part FROM '[[:alpha:]]')) || '.', '-' ORDER BY pn)
                           FROM unnest(string_to_array(word, '-')) WITH ORDINALITY AS q(part, pn)
                           WHERE substring(part FROM '[[:alpha:]]') IS NOT NULL)
                   FROM unnest(w[2:]) WITH ORDINALITY AS u(word, n) ORDER BY n), ' ')
                 FROM (SELECT regexp_split_to_array(btrim(t.holder_name), '\\s+') AS w) x),
  'debt', (SELECT json_build_object('total', sum(coalesce(d.amount, 0.00))::text,
                    'categories', json_agg(json_build_object('category', c.category, 'amount', coalesce(d.amount, 0.00)::text)
                                           ORDER BY c.ord))
           FROM {CATEGORIES} LEFT JOIN debt d ON d.pa = t.pa AND d.category = c.category))))::text
FROM targets t, caller
"""


def _digest(authorization: str, scheme: str) -> bytes | None:
    given, _, secret = (authorization or "").partition(" ")
    if given.lower() != scheme or not secret.strip():
        return None
    return hashlib.sha256(secret.strip().encode()).digest()


def _after(variables: dict) -> tuple[dt.date | None, int | None]:
    """The bills tab's `after` cursor as (issued date, number); None on the first page."""
    cursor = variables.get("after")
    if not cursor:
        return None, None
    issued, _, number = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition("|")
    return dt.date.fromisoformat(issued), int(number)


def _year(today: dt.date) -> dt.date:
    from services.periods import year_before

    return year_before(today)


Params = Callable[[str, dict, dt.date], tuple | None]


def _person_params(authorization: str, variables: dict, today: dt.date) -> tuple | None:
    digest = _digest(authorization, "bearer")
    return None if digest is None else (digest, today, _year(today))


def _bills_params(authorization: str, variables: dict, today: dt.date) -> tuple | None:
    digest = _digest(authorization, "bearer")
    return None if digest is None else (digest, today, _year(today), *_after(variables))


def _person_today(authorization: str, variables: dict, today: dt.date) -> tuple | None:
    digest = _digest(authorization, "bearer")
    return None if digest is None else (digest, today)


def _debt_lookup_params(authorization: str, variables: dict, today: dt.date) -> tuple | None:
    digest = _digest(authorization, "apikey")
    return None if digest is None else (digest, today, variables["resCode"], variables["number"])


# Each floor path: its statement and how the request gives its parameters.
FLOOR: dict[str, tuple[str, Params]] = {
    "main-screen": (_screen(apollo=False), _person_params),
    "apollo-main-screen": (_screen(apollo=True), _person_params),
    "bills-tab": (BILLS_TAB_SQL, _bills_params),
    "payments": (PAYMENTS_SQL, _person_today),
    "readings-tab": (READINGS_SQL, _person_params),
    "mobile": (MOBILE_SQL, _person_today),
    "debt-lookup": (DEBT_LOOKUP_SQL, _debt_lookup_params),
}
SCREEN_SQL = FLOOR["main-screen"][0]

UNAUTHENTICATED = b'{"data":null,"errors":[{"message":"Not signed in.","extensions":{"code":"UNAUTHENTICATED"}}]}'


def create() -> Starlette:
    from bench.pg import dsn

    url = dsn(os.environ["DATABASE_URL"])
    today = dt.date.fromisoformat(os.environ["CABINET_BUSINESS_DATE"])
    pools: dict[str, asyncpg.Pool] = {}

    def endpoint(sql: str, params: Params):
        async def answer(request: Request) -> Response:
            body = await request.body()
            variables = (json.loads(body).get("variables") or {}) if body else {}
            values = params(request.headers.get("authorization") or "", variables, today)
            if values is None:
                return Response(UNAUTHENTICATED, media_type="application/json")
            # One statement: it sees one snapshot by itself, as the app's REPEATABLE READ does.
            text = await pools["db"].fetchval(sql, *values)
            if text is None:
                return Response(UNAUTHENTICATED, media_type="application/json")
            return Response(text.encode(), media_type="application/json")

        return answer

    async def lifespan(app):
        async def no_reset(conn: asyncpg.Connection) -> None:
            """The floor holds no session state: skip asyncpg's reset round trip on release."""

        pools["db"] = await asyncpg.create_pool(
            url, min_size=2, max_size=10, server_settings={"timezone": "UTC"}, reset=no_reset
        )
        yield
        await pools["db"].close()

    routes = [Route(f"/{slug}", endpoint(sql, params), methods=["POST"]) for slug, (sql, params) in FLOOR.items()]
    return Starlette(routes=routes, lifespan=lifespan)
