"""What each run puts into a data set before it drives load: a clean slate, signed-in logins,
and the request lines the load generator sends (one request per line, picked at random)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import asyncpg

from resolvers.ids import global_id
from services.tokens import token_digest, token_new

from bench.datagen import BUSINESS_DATE

# The manual's main screen as the frontend sends it: the document of schema/main_screen.py
# (the known operation the app answers on its fast path; tests/test_read_side.py's MAIN_SCREEN
# with `to`), sent with no variables, i.e. its defaults: the year up to today, the
# ELECTRICITY tab, the first 100 rows. Kept here as text so an older app (--app-from) gets
# the very same request.
MAIN_SCREEN = """query MainScreen($from: Date, $to: Date, $first: Int) { viewer { personalAccounts {
  id number holderName address
  lastReading { takenOn values { zone value consumption } }
  meter { serialNumber digits zones }
  debt { total categories { category amount } }
  bills(categories: [ELECTRICITY], from: $from, to: $to, first: $first) {
    totalCount totalAmount period { from to } pageInfo { hasNextPage endCursor }
    edges { cursor node { id number issuedOn periodStart periodEnd amount status amountDue dueOn
      lines { description block zone quantity unit price coefficient amount } } } }
  payments(categories: [ELECTRICITY], from: $from, to: $to, first: $first) {
    totalCount totalAmount edges { node { paidOn amount channel } } }
  internetPayments(categories: [ELECTRICITY], from: $from, to: $to, first: $first) {
    totalCount totalAmount edges { node { number amount status confirmedAt } } }
} } }"""

SUBMIT = """mutation Submit($input: MeterReadingInput!) { meterReadingSubmit(input: $input) {
  __typename
  ... on MeterReadingSubmitSuccess { replayed reading { takenOn consumption } bill { number amount status }
    personalAccount { debt { total } } }
  ... on Error { code message } } }"""

TOKEN_CREATE = """mutation SignIn($login: String!, $password: String!) { tokenCreate(login: $login, password: $password) {
  __typename ... on TokenCreateSuccess { accessToken } ... on Error { code } } }"""


async def reset(conn: asyncpg.Connection, accounts: int) -> None:
    """Undo what earlier runs wrote (readings and bills submitted, sessions, mail), so each run
    starts from the generated data. The generated rows have the lowest ids (bench/datagen.py):
    bills up to 24N + N/40, readings up to 25N; what the app added comes after them."""
    last_bill, last_reading = 24 * accounts + accounts // 40, 25 * accounts
    async with conn.transaction():
        # Nothing refers to the rows removed here; skip the foreign-key checks (bill.id is
        # referenced by unindexed columns, e.g. payment.bill_id, which would be scanned per row).
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute("DELETE FROM bill_line WHERE bill_id > $1", last_bill)
        await conn.execute("DELETE FROM document WHERE key LIKE 'bill:%' AND substr(key, 6)::bigint > $1", last_bill)
        await conn.execute("DELETE FROM bill WHERE id > $1", last_bill)
        await conn.execute("DELETE FROM meter_reading WHERE id > $1", last_reading)
        await conn.execute("UPDATE bill_number_counter SET last_number = (SELECT max(number) FROM bill)")
        await conn.execute("TRUNCATE auth_token, auth_session, throttle, outbox_message, audit_entry")
    await conn.execute("VACUUM ANALYZE bill, meter_reading, auth_session, auth_token")


async def sample(conn: asyncpg.Connection, count: int, salt: str) -> list[int]:
    """`count` personal accounts spread over the whole table, the same ones every run."""
    rows = await conn.fetch(
        "SELECT id FROM personal_account ORDER BY md5(id::text || $1) LIMIT $2", salt, count
    )
    return [r["id"] for r in rows]


async def sign_in(conn: asyncpg.Connection, account_ids: list[int], *, hours: int = 3) -> dict[int, str]:
    """Access tokens for these logins, stored as tokenCreate stores them (a session and the
    SHA-256 of a random 256-bit token). tokenCreate itself is measured on its own."""
    now = dt.datetime.now(dt.UTC)
    sessions = await conn.fetch(
        "INSERT INTO auth_session (account_id, created_at) SELECT unnest($1::bigint[]), $2 RETURNING id, account_id",
        account_ids, now,
    )
    tokens: dict[int, str] = {}
    records = []
    for row in sessions:
        token = token_new()
        tokens[row["account_id"]] = token
        records.append((token_digest(token), row["id"], "ACCESS", now + dt.timedelta(hours=hours), None, now))
    await conn.copy_records_to_table(
        "auth_token", records=records,
        columns=["token_hash", "session_id", "kind", "expires_at", "used_at", "created_at"],
    )
    return tokens


def _line(path: str, authorization: str, body: str) -> str:
    assert "\t" not in body and "\n" not in body
    return f"{path}\t{authorization}\t{body}"


def main_screen_lines(tokens: dict[int, str]) -> list[str]:
    body = json.dumps({"query": MAIN_SCREEN, "operationName": "MainScreen"}, ensure_ascii=False)
    return [_line("/graphql", f"Bearer {t}", body) for t in tokens.values()]


def floor_lines(tokens: dict[int, str]) -> list[str]:
    return [_line("/screen", f"Bearer {t}", "{}") for t in tokens.values()]


PEER_SCREEN = """query MainScreen($id: BigInt!, $from: Date!, $to: Date!) { personalAccountById(id: $id) {
  id number holderName address
  lastReading: meterReadingsByPersonalAccountId(first: 1, orderBy: [TAKEN_ON_DESC]) { nodes { takenOn zones values consumptions } }
  meter: metersByPersonalAccountId(first: 1, condition: {removedOn: null}, orderBy: [INSTALLED_ON_DESC, ID_DESC]) { nodes { serialNumber digits zones } }
  debtTotal
  debts { nodes { category amount } }
  bills: billsByPersonalAccountId(first: 100, orderBy: [ISSUED_ON_DESC, NUMBER_DESC],
      filter: {category: {equalTo: "ELECTRICITY"}, issuedOn: {greaterThanOrEqualTo: $from, lessThanOrEqualTo: $to}}) {
    totalCount aggregates { sum { amount } } pageInfo { hasNextPage endCursor }
    edges { cursor node { id number issuedOn periodStart periodEnd amount dueOn
      allocation { status amountDue }
      lines: billLinesByBillId(orderBy: [POSITION_ASC]) { nodes { description block zone quantity unit price coefficient amount } } } } }
  payments: paymentsByPersonalAccountId(first: 100, orderBy: [PAID_ON_DESC, ID_DESC],
      filter: {category: {equalTo: "ELECTRICITY"}, paidOn: {greaterThanOrEqualTo: $from, lessThanOrEqualTo: $to}}) {
    totalCount aggregates { sum { amount } } nodes { paidOn amount channel } }
  internetPayments: internetPaymentsByPersonalAccountId(first: 100, orderBy: [CREATED_AT_DESC, ID_DESC],
      filter: {category: {equalTo: "ELECTRICITY"}, kyivDate: {greaterThanOrEqualTo: $from, lessThanOrEqualTo: $to}}) {
    totalCount aggregates { sum { amount } } nodes { number amount status confirmedAt } }
} }"""


def peer_lines(personal_account_ids: list[int], today: dt.date = BUSINESS_DATE) -> list[str]:
    from services.periods import year_before

    out = []
    for pa in personal_account_ids:
        body = json.dumps(
            {"query": PEER_SCREEN, "variables": {"id": str(pa), "from": year_before(today).isoformat(), "to": today.isoformat()}},
            ensure_ascii=False,
        )
        out.append(_line("/graphql", "", body))
    return out


async def submit_lines(conn: asyncpg.Connection, tokens: dict[int, str], today: dt.date = BUSINESS_DATE) -> list[str]:
    """meterReadingSubmit for today with ~100 kWh more per zone than the last reading."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (personal_account_id) personal_account_id, zones, "values"
           FROM meter_reading WHERE personal_account_id = ANY($1::bigint[])
           ORDER BY personal_account_id, taken_on DESC""",
        list(tokens),
    )
    out = []
    for r in rows:
        values = [{"zone": z, "value": (v + 100) % 100000} for z, v in zip(r["zones"], r["values"], strict=True)]
        variables = {"input": {"personalAccountId": global_id("PersonalAccount", r["personal_account_id"]),
                               "takenOn": today.isoformat(), "values": values}}
        body = json.dumps({"query": SUBMIT, "variables": variables}, ensure_ascii=False)
        out.append(_line("/graphql", f"Bearer {tokens[r['personal_account_id']]}", body))
    return out


def token_create_lines(account_ids: list[int], password: str) -> list[str]:
    out = []
    for a in account_ids:
        body = json.dumps({"query": TOKEN_CREATE, "variables": {"login": f"bench{a}", "password": password}})
        out.append(_line("/graphql", "", body))
    return out


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
