"""The signed-in person's read side in one statement: the token check, the personal accounts
the login links, and of each only the records the request's selection needs.

A query's reads were 3-5 statements (token, links, records, bill lines), each through the
ORM's execute path; here they are one, on asyncpg itself, built once per kind of selection
(`Needs`: which parts are read). The parts are those of services/account_records.py (the same
row shapes, so the ledger, the listings and the types take them as they are), plus:
the last reading alone (the main screen shows one, not 25), the debt as sums in SQL (for a
selection with no list, e.g. mobile), the lines of the bills in a window of dates and
categories, and the tariff versions' start days (the consumption chart splits by them).

`by_token`: the token is checked in the statement (the same rules as
services/auth.viewer_from_access_token, decided in Python from the row it returns);
otherwise the caller has checked it (on the primary, with replicas) and gives the login's id.
"""

from __future__ import annotations

import datetime as dt
from collections import namedtuple
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import asyncpg

from models.base import AccountStatus, ChargeCategory, Role
from services.account_records import (
    INTERNET_COLUMN,
    LINE_JSON,
    METER_COLUMN,
    READING_JSON,
    LineRow,
    MeterRow,
    debt_column,
    debt_of,
    internet_payment_row,
    ledger_columns,
    ledger_of,
    line_row,
    meter_row,
    reading_row,
)
from services.auth import Viewer, access_refusal
from services.errors import AuthError
from services.ledger import Ledger

PersonalAccountRow = namedtuple("PersonalAccountRow", "id number holder_name address res_id res_code")


@dataclass(frozen=True, slots=True)
class Needs:
    """Which parts of each personal account one statement reads."""

    meter: bool = False
    last_reading: bool = False
    readings: bool = False
    ledger: bool = False  # bills issued up to today and payments: allocation, lists, periods
    debt: bool = False  # sums by category, read only when the ledger is not
    internet: bool = False
    lines: bool = False  # the lines of the bills in the window
    tariff_starts: bool = False


@dataclass(frozen=True, slots=True)
class LinesWindow:
    """The bills whose lines are read: the newest `limit` of these categories issued from
    `start` (None: any time) to `end`, before the key `before` (a page's cursor). A page of the
    bills list is among them whatever its period's start, which depends on what is owed."""

    start: dt.date | None
    end: dt.date
    categories: tuple[str, ...] | None  # None: all
    limit: int
    before: tuple[dt.date, int] | None = None

    def bills(self, bills) -> list:
        """Those of `bills` (newest first) the window holds."""
        chosen = [
            b
            for b in bills
            if (self.start is None or self.start <= b.issued_on)
            and b.issued_on <= self.end
            and (self.categories is None or b.category.value in self.categories)
            and (self.before is None or (b.issued_on, b.number) < self.before)
        ]
        return chosen[: self.limit]


@dataclass
class AccountParts:
    """What was read of one personal account; a part not read stays None (its loader reads it)."""

    meter: MeterRow | None = None
    meter_read: bool = False
    last_reading: list | None = None  # [newest] or []
    readings: list | None = None
    ledger: Ledger | None = None
    debt: dict[ChargeCategory, Decimal] | None = None
    internet: list | None = None
    lines: dict[int, list[LineRow]] | None = None


@dataclass
class ViewerRecords:
    viewer: Viewer | None
    error: AuthError | None
    personal_accounts: list[PersonalAccountRow]
    parts: dict[int, AccountParts]
    tariff_starts: list[dt.date] | None


ACCOUNT_COLUMNS = [
    "id",
    "login",
    "full_name",
    "email",
    "phones",
    "password_hash",
    "role",
    "status",
    "pending_email",
    "language",
    "created_at",
    "read_after_lsn",
]
# The viewer's account as the statement read it: the model's columns as attributes, without an
# ORM instance's construction (what `viewer` shows; nothing writes through it).
AccountRow = namedtuple("AccountRow", ACCOUNT_COLUMNS)  # type: ignore[misc]
_ROLE, _STATUS = ACCOUNT_COLUMNS.index("role"), ACCOUNT_COLUMNS.index("status")

_VIEWER_BY_TOKEN = f"""
viewer AS (
  SELECT t.expires_at, s.id AS session_id, s.revoked_at, {", ".join("a." + c for c in ACCOUNT_COLUMNS)}
  FROM auth_token t JOIN auth_session s ON s.id = t.session_id JOIN account a ON a.id = s.account_id
  WHERE t.token_hash = $1 AND t.kind = 'ACCESS'
), allowed AS (
  SELECT v.id FROM viewer v, params
  WHERE v.revoked_at IS NULL AND v.status = 'ACTIVE' AND v.expires_at > params.now
)"""
_VIEWER_BY_ID = """
viewer AS (SELECT $1::bigint AS id), allowed AS (SELECT id FROM viewer)"""

_PARTS = {
    "meter": METER_COLUMN,
    "last_reading": f"""(SELECT {READING_JSON})
     FROM (SELECT r.* FROM meter_reading r WHERE r.personal_account_id = p.id ORDER BY r.taken_on DESC LIMIT 1) r
     JOIN meter m ON m.id = r.meter_id) AS last_reading""",
    "readings": f"""(SELECT {READING_JSON} ORDER BY r.taken_on DESC)
     FROM meter_reading r JOIN meter m ON m.id = r.meter_id WHERE r.personal_account_id = p.id) AS readings""",
    "ledger": ledger_columns("params.today"),
    "debt": debt_column("params.today"),
    "internet": INTERNET_COLUMN,
    "lines": f"""(SELECT {LINE_JSON} ORDER BY l.bill_id, l.position)
     FROM (SELECT b.id FROM bill b
           WHERE b.personal_account_id = p.id AND b.issued_on <= params.today AND b.issued_on <= params.lines_to
             AND (params.lines_from IS NULL OR b.issued_on >= params.lines_from)
             AND (params.lines_categories IS NULL OR b.category = ANY(params.lines_categories))
             AND (params.before_on IS NULL OR (b.issued_on, b.number) < (params.before_on, params.before_number))
           ORDER BY b.issued_on DESC, b.number DESC LIMIT params.lines_limit) b
     JOIN bill_line l ON l.bill_id = b.id LEFT JOIN tariff t ON t.id = l.tariff_id) AS lines""",
}


@lru_cache(maxsize=64)
def statement(needs: Needs, *, by_token: bool) -> str:
    """The statement for one kind of selection, built once. Parameters: $1 the token's SHA-256
    (or the login's id), $2 now, $3 today, $4-$9 the lines' window (LinesWindow's fields)."""
    parts = [sql for name, sql in _PARTS.items() if getattr(needs, name)]
    viewer_columns = (
        "v.expires_at, v.session_id, v.revoked_at, " + ", ".join(f"v.{c}" for c in ACCOUNT_COLUMNS)
        if by_token
        else "v.id"
    )
    starts = (
        ", (SELECT array_agg(valid_from ORDER BY valid_from) FROM tariff) AS tariff_starts"
        if needs.tariff_starts
        else ""
    )
    return f"""
WITH params AS (
  SELECT $2::timestamptz AS now, $3::date AS today, $4::date AS lines_from, $5::date AS lines_to,
         $6::text[] AS lines_categories, $7::int AS lines_limit, $8::date AS before_on, $9::bigint AS before_number
), {_VIEWER_BY_TOKEN if by_token else _VIEWER_BY_ID},
links AS (
  SELECT DISTINCT ON (ar.personal_account_id) ar.personal_account_id AS pa, ar.decided_at, ar.id AS link_id
  FROM activation_request ar JOIN allowed v ON v.id = ar.account_id
  WHERE ar.status = 'APPROVED' AND ar.personal_account_id IS NOT NULL
  ORDER BY ar.personal_account_id, ar.decided_at, ar.id
)
SELECT {viewer_columns}{starts},
  p.id AS pa_id, p.number, p.holder_name, p.address, p.res_id, r.code AS res_code{"".join(", " + s for s in parts)}
FROM params, viewer v
LEFT JOIN links l ON true
LEFT JOIN personal_account p ON p.id = l.pa
LEFT JOIN res r ON r.id = p.res_id
ORDER BY l.decided_at, l.link_id
"""


def viewer_of(row: Mapping, now: dt.datetime) -> tuple[Viewer | None, AuthError | None]:
    """services/auth.viewer_from_access_token's decision, on the row a statement read (this
    module's, or the reading submit's: services/readings.SUBMIT_TARGET_SQL)."""
    refusal = access_refusal(
        revoked_at=row["revoked_at"], status=AccountStatus(row["status"]), expires_at=row["expires_at"], now=now
    )
    if refusal is not None:
        return None, refusal
    values = [row[c] for c in ACCOUNT_COLUMNS]
    role = Role(row["role"])
    values[_ROLE], values[_STATUS] = role, AccountStatus(row["status"])
    account = AccountRow._make(values)
    return Viewer(account_id=row["id"], session_id=row["session_id"], role=role, account=account), None


def _parts(row: asyncpg.Record, needs: Needs) -> AccountParts:
    parts = AccountParts()
    if needs.meter:
        parts.meter, parts.meter_read = (meter_row(row["meter"]) if row["meter"] is not None else None), True
    if needs.last_reading:
        parts.last_reading = [reading_row(r) for r in row["last_reading"] or ()]
    if needs.readings:
        parts.readings = [reading_row(r) for r in row["readings"] or ()]
    if needs.ledger:
        parts.ledger = ledger_of(row["bills"], row["payments"])
    if needs.debt:
        parts.debt = debt_of(row["debt"])
    if needs.internet:
        parts.internet = [internet_payment_row(i) for i in row["internet"] or ()]
    if needs.lines:
        lines: dict[int, list[LineRow]] = {}
        for x in row["lines"] or ():
            lines.setdefault(x[0], []).append(line_row(x))
        parts.lines = lines
    return parts


async def viewer_records_load(
    *,
    connection: asyncpg.Connection,
    needs: Needs,
    token_digest: bytes | None = None,
    account_id: int | None = None,
    now: dt.datetime,
    today: dt.date,
    window: LinesWindow | None,
    seen=None,
) -> ViewerRecords:
    """One statement. With `token_digest`, a token that is unknown, revoked, expired or whose
    login is not active reads nothing else and gives the error the token check gives.
    `seen(sql, params)` is told the statement (the engine's statement listeners)."""
    by_token = token_digest is not None
    sql = statement(needs, by_token=by_token)
    params = (
        token_digest if by_token else account_id,
        now,
        today,
        window.start if window else None,
        window.end if window else None,
        list(window.categories) if window and window.categories is not None else None,
        window.limit if window else None,
        window.before[0] if window and window.before else None,
        window.before[1] if window and window.before else None,
    )
    if seen is not None:
        seen(sql, params)
    rows = await connection.fetch(sql, *params)
    if not rows:
        return ViewerRecords(None, AuthError("UNAUTHENTICATED") if by_token else None, [], {}, None)
    viewer, error = viewer_of(rows[0], now) if by_token else (None, None)
    accounts: list[PersonalAccountRow] = []
    parts: dict[int, AccountParts] = {}
    for row in rows:
        if row["pa_id"] is None:
            continue
        accounts.append(
            PersonalAccountRow(
                row["pa_id"], row["number"], row["holder_name"], row["address"], row["res_id"], row["res_code"]
            )
        )
        parts[row["pa_id"]] = _parts(row, needs)
    starts = list(rows[0]["tariff_starts"] or ()) if needs.tariff_starts else None
    return ViewerRecords(viewer, error, accounts, parts, starts)
