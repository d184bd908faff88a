"""What hangs on a personal account, for many accounts in one statement: the current meter,
the readings, the ledger (bills issued up to today and payments) and the card payments.

The read side asks for these per personal account and per request; one statement with a
row of columns per account replaces five. Each list travels as JSON (json_agg of one array
per record, numbers exact as text), which the engine's codec parses with orjson (db.create_engine):
asyncpg decodes an array of anonymous records field by field, about 4-5 µs a record, four
times the JSON's cost. Rows are
named tuples with the columns the separate reads had, so the ledger, the listings and the
types take them as they are.
"""

from __future__ import annotations

import datetime as dt
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import TypeVar

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import BigInteger

from models.base import (
    CATEGORY_ORDER,
    BillKind,
    ChargeCategory,
    InternetPaymentStatus,
    MeterZone,
    PaymentChannel,
    ReadingSource,
)
from services.allocation import ZERO
from services.ledger import Ledger, ledger_build

E = TypeVar("E", bound=Enum)

MeterRow = namedtuple(
    "MeterRow",
    "id personal_account_id serial_number model digits zones installed_on verified_on next_verification_on removed_on",
)
ReadingRow = namedtuple(
    "ReadingRow",
    "id personal_account_id meter_id taken_on zones values consumptions consumption source meter_serial_number",
)
BillRow = namedtuple(
    "BillRow", "id personal_account_id number category kind issued_on period_start period_end reading_id due_on amount"
)
PaymentRow = namedtuple(
    "PaymentRow", "id personal_account_id paid_on amount category channel bill_id reverses_payment_id"
)
LineRow = namedtuple(
    "LineRow", "bill_id position description block zone quantity unit price coefficient amount tariff_valid_from"
)
InternetPaymentRow = namedtuple(
    "InternetPaymentRow",
    "id personal_account_id number amount category bill_id status created_at expires_at confirmed_at",
)


# The columns of each kind of record as one JSON array (numbers exact, as text); the SQL of a
# list of them is `SELECT json_agg(<…> ORDER BY …) FROM …`.
METER_COLUMN = """(SELECT json_build_array(m.id, m.personal_account_id, m.serial_number, m.model, m.digits, m.zones,
              m.installed_on, m.verified_on, m.next_verification_on, m.removed_on)
     FROM meter m WHERE m.personal_account_id = p.id AND m.removed_on IS NULL
     ORDER BY m.installed_on DESC NULLS LAST, m.id DESC LIMIT 1) AS meter"""
READING_JSON = """json_agg(json_build_array(r.id, r.personal_account_id, r.meter_id, r.taken_on, r.zones, r.values,
                        r.consumptions, r.consumption, r.source, m.serial_number)"""
INTERNET_COLUMN = """(SELECT json_agg(json_build_array(i.id, i.personal_account_id, i.number, i.amount::text, i.category,
                        i.bill_id, i.status, i.created_at, i.expires_at, i.confirmed_at) ORDER BY i.created_at DESC, i.id DESC)
     FROM internet_payment i WHERE i.personal_account_id = p.id) AS internet"""
LINE_JSON = """json_agg(json_build_array(l.bill_id, l.position, l.description, l.block, l.zone, l.quantity::text, l.unit,
                        l.price::text, l.coefficient::text, l.amount::text, t.valid_from)"""


def ledger_columns(today: str) -> str:
    """A personal account's ledger as two columns (bills, payments) of a statement over personal
    accounts `p`: bills issued up to `today`, an SQL expression (a parameter or a column)."""
    return f"""
  (SELECT json_agg(json_build_array(b.id, b.personal_account_id, b.number, b.category, b.kind, b.issued_on,
                        b.period_start, b.period_end, b.reading_id, b.due_on, b.amount::text))
     FROM bill b WHERE b.personal_account_id = p.id AND b.issued_on <= {today}) AS bills,
  (SELECT json_agg(json_build_array(x.id, x.personal_account_id, x.paid_on, x.amount::text, x.category, x.channel,
                        x.bill_id, x.reverses_payment_id))
     FROM payment x WHERE x.personal_account_id = p.id) AS payments"""


def debt_column(today: str) -> str:
    """The debt by category as sums, one column `debt` of (category, amount) records over personal
    accounts `p`, for what shows the debt and no list (services/ledger.ledger_build's debt: bills
    issued up to `today` less the credits, a reversal and the payment it undoes both left out)."""
    return f"""(SELECT json_agg(json_build_array(d.category, d.amount::text)) FROM (
     SELECT u.category, sum(u.amount) AS amount FROM (
       SELECT b.category, b.amount FROM bill b WHERE b.personal_account_id = p.id AND b.issued_on <= {today}
       UNION ALL
       SELECT x.category, -x.amount FROM payment x
       WHERE x.personal_account_id = p.id AND x.reverses_payment_id IS NULL
         AND NOT EXISTS (SELECT 1 FROM payment r WHERE r.personal_account_id = p.id AND r.reverses_payment_id = x.id)
     ) u GROUP BY u.category) d) AS debt"""


RECORDS_SQL = text(
    f"""
SELECT p.id,
  {METER_COLUMN},
  (SELECT {READING_JSON} ORDER BY r.taken_on DESC)
     FROM meter_reading r JOIN meter m ON m.id = r.meter_id WHERE r.personal_account_id = p.id) AS readings,{ledger_columns(":today")},
  {INTERNET_COLUMN}
FROM unnest(:ids) AS p(id)
"""
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))


@dataclass(frozen=True, slots=True)
class AccountRecords:
    meter: MeterRow | None
    readings: list[ReadingRow]  # newest first
    ledger: Ledger
    internet_payments: list[InternetPaymentRow]  # newest first


def members(enum: type[E]) -> Callable[[str], E]:
    """An enum's member by its stored value: a dict lookup, where calling the enum costs about
    a microsecond (every row of a ledger has two or three of them)."""
    return {m.value: m for m in enum}.__getitem__


_source, _category, _kind = members(ReadingSource), members(ChargeCategory), members(BillKind)
_channel, _status = members(PaymentChannel), members(InternetPaymentStatus)
_zone = members(MeterZone)


_date, _datetime = dt.date.fromisoformat, dt.datetime.fromisoformat


def _day(text: str | None) -> dt.date | None:
    return _date(text) if text is not None else None


def _decimal(text: str | None) -> Decimal | None:
    return Decimal(text) if text is not None else None


def meter_row(m: list) -> MeterRow:
    return MeterRow(m[0], m[1], m[2], m[3], m[4], m[5], _day(m[6]), _day(m[7]), _day(m[8]), _day(m[9]))


def reading_row(r: list) -> ReadingRow:
    return ReadingRow(r[0], r[1], r[2], _date(r[3]), r[4], r[5], r[6], r[7], _source(r[8]), r[9])


def bill_row(b: list) -> BillRow:
    return BillRow(
        b[0],
        b[1],
        b[2],
        _category(b[3]),
        _kind(b[4]),
        _date(b[5]),
        _day(b[6]),
        _day(b[7]),
        b[8],
        _day(b[9]),
        Decimal(b[10]),
    )


def payment_row(p: list) -> PaymentRow:
    return PaymentRow(p[0], p[1], _date(p[2]), Decimal(p[3]), _category(p[4]), _channel(p[5]), p[6], p[7])


def internet_payment_row(i: list) -> InternetPaymentRow:
    return InternetPaymentRow(
        i[0],
        i[1],
        i[2],
        Decimal(i[3]),
        _category(i[4]),
        i[5],
        _status(i[6]),
        _datetime(i[7]),
        _datetime(i[8]),
        _datetime(i[9]) if i[9] is not None else None,
    )


def line_row(x: list) -> LineRow:
    """A bill line as a statement gave it in LINE_JSON's array."""
    return LineRow(
        x[0],
        x[1],
        x[2],
        x[3],
        _zone(x[4]) if x[4] is not None else None,
        _decimal(x[5]),
        x[6],
        _decimal(x[7]),
        _decimal(x[8]),
        Decimal(x[9]),
        _day(x[10]),
    )


def ledger_of(bills: list | None, payments: list | None) -> Ledger:
    """The ledger from ledger_columns' two columns."""
    return ledger_build([bill_row(b) for b in bills or ()], [payment_row(p) for p in payments or ()])


def debt_of(sums: list | None) -> dict[ChargeCategory, Decimal]:
    """The debt of every category (zero where nothing is owed) from debt_column's column."""
    found = {_category(c): Decimal(amount) for c, amount in sums or ()}
    return {c: found.get(c, ZERO) for c in CATEGORY_ORDER}


async def account_records_load(
    *, session: AsyncSession, personal_account_ids: Sequence[int], today: dt.date
) -> dict[int, AccountRecords]:
    """The records of each personal account (an unknown id gets empty ones)."""
    rows = (await session.execute(RECORDS_SQL, {"ids": list(personal_account_ids), "today": today})).all()
    return {
        row.id: AccountRecords(
            meter=meter_row(row.meter) if row.meter is not None else None,
            readings=[reading_row(r) for r in row.readings or ()],
            ledger=ledger_of(row.bills, row.payments),
            internet_payments=[internet_payment_row(i) for i in row.internet or ()],
        )
        for row in rows
    }
