"""What each run puts into a data set before it drives load: a clean slate, signed-in logins,
an aggregator's API key, the set of documents measured, and the request lines the load
generator sends for each (one request per line, picked at random)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench import peer_documents as peer_docs
from bench import read_side_documents as docs
from bench.datagen import BUSINESS_DATE
from resolvers.ids import global_id
from services.pagination import cursor_encode
from services.tokens import token_digest, token_new


@dataclass(frozen=True)
class Document:
    """One document of the measured set: the app's text, PostGraphile's equivalent, and who sends it."""

    slug: str  # request files, the floor's path (bench/floor.py), the report's keys
    title: str
    query: str  # the app's text (bench/read_side_documents.py)
    peer: str  # PostGraphile's (bench/peer_documents.py)
    aggregator: bool = False  # Authorization: ApiKey, variables the RES code and number
    paged: bool = False  # two requests a login: the first page, then `after` its endCursor
    main: bool = False  # measured at --seconds; the rest at --seconds-others


# The set `make bench` measures (issue #13): every document a frontend or an aggregator sends.
DOCUMENTS = (
    Document(
        "main-screen",
        "main screen",
        docs.MAIN_SCREEN,
        peer_docs.MAIN_SCREEN,
        main=True,
    ),
    Document(
        "apollo-main-screen",
        "main screen as Apollo Client sends it",
        docs.APOLLO_MAIN_SCREEN,
        peer_docs.APOLLO_MAIN_SCREEN,
    ),
    Document(
        "bills-tab", "bills tab, first page then `after` its endCursor", docs.BILLS_TAB, peer_docs.BILLS_TAB, paged=True
    ),
    Document(
        "payments", "payments and card payments of a period", docs.PAYMENTS_OF_A_PERIOD, peer_docs.PAYMENTS_OF_A_PERIOD
    ),
    Document("readings-tab", "readings tab", docs.READINGS_TAB, peer_docs.READINGS_TAB),
    Document("mobile", "mobile: account and debt only", docs.MOBILE, peer_docs.MOBILE),
    Document("debt-lookup", "aggregator's debtLookup", docs.DEBT_LOOKUP, peer_docs.DEBT_LOOKUP, aggregator=True),
)
# The bills tab's logins: its lines hold the second page's cursor of each, worked out beforehand.
PAGED_LOGINS = 2000
AGGREGATOR = "bench aggregator"


SUBMIT = """mutation Submit($input: MeterReadingInput!) { meterReadingSubmit(input: $input) {
  __typename
  ... on MeterReadingSubmitSuccess { replayed reading { takenOn consumption } bill { number amount status }
    personalAccount { debt { total } } }
  ... on Error { code message } } }"""

PAYMENT_START = """mutation Pay($input: PaymentStartInput!) { paymentStart(input: $input) {
  __typename ... on PaymentStartSuccess { resumed payment { number status } checkout { url } }
  ... on Error { code message } } }"""
PAYMENT_AMOUNT = "10.00"
CALLBACK_PATH = "/payments/liqpay/callback"

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
        # A bill's render is stored as "bill:<id>" or "bill:<id>:<day>:<amount due>" (services/documents.py).
        await conn.execute(
            "DELETE FROM document WHERE key LIKE 'bill:%' AND split_part(key, ':', 2)::bigint > $1", last_bill
        )
        await conn.execute("DELETE FROM bill WHERE id > $1", last_bill)
        await conn.execute("DELETE FROM meter_reading WHERE id > $1", last_reading)
        await conn.execute("SELECT setval('bill_number_seq', (SELECT max(number) FROM bill) + 1, false)")
        # Card payments started and credited by earlier runs (the generated ones have the bills' ids).
        await conn.execute("DELETE FROM payment WHERE internet_payment_id > $1", last_bill)
        await conn.execute("DELETE FROM internet_payment WHERE id > $1", last_bill)
        # The generated ones end below the last bill's id: the run's own come after it, where
        # bench/run.py counts them (with the sequence at the generated maximum, a run starting
        # fewer payments than there are service bills left every one below, uncounted).
        await conn.execute("SELECT setval(pg_get_serial_sequence('internet_payment', 'id'), $1)", last_bill)
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('internet_payment', 'number'), (SELECT max(number) FROM internet_payment))"
        )
        await conn.execute("TRUNCATE auth_token, auth_session, throttle, outbox_message, audit_entry, bank_callback")
    await conn.execute("VACUUM ANALYZE bill, meter_reading, auth_session, auth_token")


async def sample(conn: asyncpg.Connection, count: int, salt: str) -> list[int]:
    """`count` personal accounts spread over the whole table, the same ones every run."""
    rows = await conn.fetch("SELECT id FROM personal_account ORDER BY md5(id::text || $1) LIMIT $2", salt, count)
    return [r["id"] for r in rows]


async def sign_in(conn: asyncpg.Connection, account_ids: list[int], *, hours: int = 3) -> dict[int, str]:
    """Access tokens for these logins, stored as tokenCreate stores them (a session and the
    SHA-256 of a random 256-bit token). tokenCreate itself is measured on its own."""
    now = dt.datetime.now(dt.UTC)
    sessions = await conn.fetch(
        "INSERT INTO auth_session (account_id, created_at) SELECT unnest($1::bigint[]), $2 RETURNING id, account_id",
        account_ids,
        now,
    )
    tokens: dict[int, str] = {}
    records = []
    for row in sessions:
        token = token_new()
        tokens[row["account_id"]] = token
        records.append((token_digest(token), row["id"], "ACCESS", now + dt.timedelta(hours=hours), None, now))
    await conn.copy_records_to_table(
        "auth_token",
        records=records,
        columns=["token_hash", "session_id", "kind", "expires_at", "used_at", "created_at"],
    )
    return tokens


def _line(path: str, authorization: str, body: str) -> str:
    assert "\t" not in body and "\n" not in body
    return f"{path}\t{authorization}\t{body}"


@dataclass(frozen=True)
class Login:
    """A signed-in login of the sample: its personal account and what its requests carry."""

    personal_account_id: int
    token: str
    res_code: str
    number: str
    last_of_first_page: tuple[dt.date, int] | None  # the bills tab's first page's last bill (issued, number)


async def logins_of(conn: asyncpg.Connection, tokens: dict[int, str], today: dt.date = BUSINESS_DATE) -> list[Login]:
    """The logins in sample order, with the RES code and number an aggregator would type and the
    key of the bills tab's first-page endCursor (its 20th bill of the year, or its last)."""
    from services.periods import year_before

    rows = await conn.fetch(
        """SELECT p.id, r.code, p.number, c.issued_on, c.number AS bill_number
           FROM personal_account p JOIN res r ON r.id = p.res_id
           LEFT JOIN LATERAL (
             SELECT b.issued_on, b.number FROM bill b
             WHERE b.personal_account_id = p.id AND b.issued_on BETWEEN $2 AND $3
             ORDER BY b.issued_on DESC, b.number DESC LIMIT 20) c ON true
           WHERE p.id = ANY($1::bigint[])
           ORDER BY p.id, c.issued_on, c.number""",
        list(tokens),
        year_before(today),
        today,
    )
    last: dict[int, tuple] = {}
    for r in rows:  # oldest of the 20 newest first: the first row of each account is its page's last
        last.setdefault(
            r["id"], (r["code"], r["number"], (r["issued_on"], r["bill_number"]) if r["issued_on"] else None)
        )
    return [Login(pa, token, *last[pa]) for pa, token in tokens.items()]


async def aggregator_key(url: str) -> str:
    """An API key with the debt:read scope, made as `cabinet api-client create` makes it
    (through the service; an earlier run's client of the same name is removed first)."""
    from sqlalchemy import delete

    from config import Settings
    from db import Database, create_engine
    from models import ApiClient
    from services.api_clients import SCOPE_DEBT_READ, api_client_create

    db = Database(create_engine(url, Settings(database_url=url)))
    try:
        async with db.transaction() as session:
            await session.execute(delete(ApiClient).where(ApiClient.name == AGGREGATOR))
            _, key = await api_client_create(session=session, name=AGGREGATOR, scopes=[SCOPE_DEBT_READ])
    finally:
        await db.dispose()
    return key


def app_cursor(login: Login) -> str | None:
    """The app's endCursor of the bills tab's first page (services/pagination.cursor_encode)."""
    return cursor_encode(login.last_of_first_page) if login.last_of_first_page else None


def peer_cursor(login: Login) -> str | None:
    """PostGraphile v4's cursor of the same bill: base64 of its JSON [order by…, [values]]."""
    if not login.last_of_first_page:
        return None
    issued, number = login.last_of_first_page
    text = json.dumps(["issued_on_desc", "number_desc", [issued.isoformat(), number]], separators=(",", ":"))
    return base64.b64encode(text.encode()).decode()


def _logins_for(document: Document, logins: list[Login]) -> list[Login]:
    return logins[:PAGED_LOGINS] if document.paged else logins


def variables_of(document: Document, login: Login) -> list[dict]:
    """The variables of each request a login sends for the document (two pages for the bills tab)."""
    if document.aggregator:
        return [{"resCode": login.res_code, "number": login.number}]
    if document.paged:
        return [{}, {"after": app_cursor(login)}]
    return [{}]


def peer_variables_of(document: Document, login: Login, today: dt.date = BUSINESS_DATE) -> list[dict]:
    """PostGraphile's variables for the same requests: the personal account's id and the period."""
    from services.periods import year_before

    if document.aggregator:
        return [{"resCode": login.res_code, "number": login.number}]
    given = {"id": str(login.personal_account_id), "from": year_before(today).isoformat(), "to": today.isoformat()}
    declared = {k: v for k, v in given.items() if f"${k}:" in document.peer}
    if document.paged:
        return [declared, {**declared, "after": peer_cursor(login)}]
    return [declared]


def authorization(document: Document, login: Login, api_key: str) -> str:
    return f"ApiKey {api_key}" if document.aggregator else f"Bearer {login.token}"


def _operation_name(query: str) -> str | None:
    match = re.match(r"\s*query\s+(\w+)", query)
    return match.group(1) if match else None


def graphql_body(query: str, variables: dict) -> str:
    """As a client sends it: the text, its operation's name (Apollo always sends it), the variables."""
    body: dict = {"query": query}
    if _operation_name(query):
        body["operationName"] = _operation_name(query)
    if variables:
        body["variables"] = variables
    return json.dumps(body, ensure_ascii=False)


def app_lines(document: Document, logins: list[Login], api_key: str) -> list[str]:
    query = document.query
    return [
        _line("/graphql", authorization(document, login, api_key), graphql_body(query, variables))
        for login in _logins_for(document, logins)
        for variables in variables_of(document, login)
    ]


def floor_lines(document: Document, logins: list[Login], api_key: str) -> list[str]:
    return [
        _line(
            f"/{document.slug}",
            authorization(document, login, api_key),
            json.dumps({"variables": variables}, ensure_ascii=False) if variables else "{}",
        )
        for login in _logins_for(document, logins)
        for variables in variables_of(document, login)
    ]


def peer_lines(document: Document, logins: list[Login], today: dt.date = BUSINESS_DATE) -> list[str]:
    return [
        _line("/graphql", "", json.dumps({"query": document.peer, "variables": variables}, ensure_ascii=False))
        for login in _logins_for(document, logins)
        for variables in peer_variables_of(document, login, today)
    ]


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
        variables = {
            "input": {
                "personalAccountId": global_id("PersonalAccount", r["personal_account_id"]),
                "takenOn": today.isoformat(),
                "values": values,
            }
        }
        body = json.dumps({"query": SUBMIT, "variables": variables}, ensure_ascii=False)
        out.append(_line("/graphql", f"Bearer {tokens[r['personal_account_id']]}", body))
    return out


async def indebted(conn: asyncpg.Connection, ids: list[int]) -> list[int]:
    """Those of `ids` that owe for electricity (paymentStart refuses NOTHING_TO_PAY otherwise)."""
    rows = await conn.fetch(
        """SELECT p.id FROM unnest($1::bigint[]) AS p(id)
           WHERE (SELECT coalesce(sum(amount), 0) FROM bill b WHERE b.personal_account_id = p.id
                    AND b.category = 'ELECTRICITY' AND b.issued_on <= $2)
               > (SELECT coalesce(sum(amount), 0) FROM payment x WHERE x.personal_account_id = p.id
                    AND x.category = 'ELECTRICITY')""",
        ids,
        BUSINESS_DATE,
    )
    return [r["id"] for r in rows]


def payment_start_lines(tokens: dict[int, str]) -> list[str]:
    """paymentStart of 10.00 for electricity, one idempotency key per personal account: a line
    sent again is a retry (the same payment and form)."""
    out = []
    for pa, token in tokens.items():
        variables = {
            "input": {
                "personalAccountId": global_id("PersonalAccount", pa),
                "category": "ELECTRICITY",
                "amount": PAYMENT_AMOUNT,
                "idempotencyKey": f"bench-{pa}",
            }
        }
        body = json.dumps({"query": PAYMENT_START, "variables": variables})
        out.append(_line("/graphql", f"Bearer {token}", body))
    return out


def callback_lines(payments: list[tuple[int, str]], public_key: str, private_key: str) -> list[str]:
    """The bank's "success" for each started payment (number, amount), signed as LiqPay signs:
    the form body the bank POSTs (the route reads it whatever the content type wrk sends)."""
    from urllib.parse import urlencode

    from payments.liqpay import LiqPayKeys, signed_pair

    keys = LiqPayKeys(public_key, private_key, "sha1")
    out = []
    for number, amount in payments:
        params = {
            "version": 3,
            "public_key": public_key,
            "action": "pay",
            "status": "success",
            "amount": float(amount),
            "currency": "UAH",
            "order_id": f"uens-{number}",
            "payment_id": 900_000_000 + number,
            "end_date": 1400672400000,
        }
        data, signature = signed_pair(keys, params)
        out.append(_line(CALLBACK_PATH, "", urlencode({"data": data, "signature": signature})))
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
