"""What hangs on a personal account, for many accounts in one statement: the current meter,
the readings, the ledger (bills issued up to today and payments) and the card payments.

The read side asks for these per personal account and per request; one statement with a
row of arrays per account replaces five (asyncpg decodes the arrays of records into
tuples of Python values: Decimal, date, datetime). Rows are named tuples with the columns
the separate reads had, so the ledger, the listings and the types take them as they are.
Arrays inside a record travel as text[] (the one array type asyncpg decodes in an anonymous
record without introspection); the integers are read back here.
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

from models.base import CATEGORY_ORDER, BillKind, ChargeCategory, InternetPaymentStatus, PaymentChannel, ReadingSource
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
InternetPaymentRow = namedtuple(
    "InternetPaymentRow",
    "id personal_account_id number amount category bill_id status created_at expires_at confirmed_at",
)


def ledger_columns(today: str) -> str:
    """A personal account's ledger as two columns (bills, payments) of a statement over personal
    accounts `p`: bills issued up to `today`, an SQL expression (a parameter or a column)."""
    return f"""
  (SELECT array_agg(ROW(b.id, b.personal_account_id, b.number, b.category, b.kind, b.issued_on, b.period_start,
                        b.period_end, b.reading_id, b.due_on, b.amount))
     FROM bill b WHERE b.personal_account_id = p.id AND b.issued_on <= {today}) AS bills,
  (SELECT array_agg(ROW(x.id, x.personal_account_id, x.paid_on, x.amount, x.category, x.channel, x.bill_id,
                        x.reverses_payment_id))
     FROM payment x WHERE x.personal_account_id = p.id) AS payments"""


def debt_column(today: str) -> str:
    """The debt by category as sums, one column `debt` of (category, amount) records over personal
    accounts `p`, for what shows the debt and no list (services/ledger.ledger_build's debt: bills
    issued up to `today` less the credits, a reversal and the payment it undoes both left out)."""
    return f"""(SELECT array_agg(ROW(d.category, d.amount)) FROM (
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
  (SELECT ROW(m.id, m.personal_account_id, m.serial_number, m.model, m.digits, m.zones::text[], m.installed_on,
              m.verified_on, m.next_verification_on, m.removed_on)
     FROM meter m WHERE m.personal_account_id = p.id AND m.removed_on IS NULL
     ORDER BY m.installed_on DESC NULLS LAST, m.id DESC LIMIT 1) AS meter,
  (SELECT array_agg(ROW(r.id, r.personal_account_id, r.meter_id, r.taken_on, r.zones::text[], r.values::text[], r.consumptions::text[],
                        r.consumption, r.source, m.serial_number) ORDER BY r.taken_on DESC)
     FROM meter_reading r JOIN meter m ON m.id = r.meter_id WHERE r.personal_account_id = p.id) AS readings,{ledger_columns(":today")},
  (SELECT array_agg(ROW(i.id, i.personal_account_id, i.number, i.amount, i.category, i.bill_id, i.status,
                        i.created_at, i.expires_at, i.confirmed_at) ORDER BY i.created_at DESC, i.id DESC)
     FROM internet_payment i WHERE i.personal_account_id = p.id) AS internet
FROM unnest(:ids) AS p(id)
"""
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))


@dataclass(frozen=True, slots=True)
class AccountRecords:
    meter: MeterRow | None
    readings: list[ReadingRow]  # newest first
    ledger: Ledger
    internet_payments: list[InternetPaymentRow]  # newest first


def _ints(values: list[str] | None) -> list[int] | None:
    return [int(v) for v in values] if values is not None else None


def members(enum: type[E]) -> Callable[[str], E]:
    """An enum's member by its stored value: a dict lookup, where calling the enum costs about
    a microsecond (every row of a ledger has two or three of them)."""
    return {m.value: m for m in enum}.__getitem__


_source, _category, _kind = members(ReadingSource), members(ChargeCategory), members(BillKind)
_channel, _status = members(PaymentChannel), members(InternetPaymentStatus)


def reading_row(r: tuple) -> ReadingRow:
    return ReadingRow(r[0], r[1], r[2], r[3], r[4], _ints(r[5]), _ints(r[6]), r[7], _source(r[8]), r[9])


def bill_row(b: tuple) -> BillRow:
    return BillRow(b[0], b[1], b[2], _category(b[3]), _kind(b[4]), *b[5:])


def payment_row(p: tuple) -> PaymentRow:
    return PaymentRow(p[0], p[1], p[2], p[3], _category(p[4]), _channel(p[5]), p[6], p[7])


def internet_payment_row(i: tuple) -> InternetPaymentRow:
    return InternetPaymentRow(i[0], i[1], i[2], i[3], _category(i[4]), i[5], _status(i[6]), *i[7:])


def ledger_of(bills: Sequence[tuple] | None, payments: Sequence[tuple] | None) -> Ledger:
    """The ledger from ledger_columns' two arrays."""
    return ledger_build([bill_row(b) for b in bills or ()], [payment_row(p) for p in payments or ()])


def debt_of(sums: Sequence[tuple] | None) -> dict[ChargeCategory, Decimal]:
    """The debt of every category (zero where nothing is owed) from debt_column's records."""
    found = {_category(c): amount for c, amount in sums or ()}
    return {c: found.get(c, ZERO) for c in CATEGORY_ORDER}


async def account_records_load(
    *, session: AsyncSession, personal_account_ids: Sequence[int], today: dt.date
) -> dict[int, AccountRecords]:
    """The records of each personal account (an unknown id gets empty ones)."""
    rows = (await session.execute(RECORDS_SQL, {"ids": list(personal_account_ids), "today": today})).all()
    return {
        row.id: AccountRecords(
            meter=MeterRow(*row.meter) if row.meter is not None else None,
            readings=[reading_row(r) for r in row.readings or ()],
            ledger=ledger_of(row.bills, row.payments),
            internet_payments=[internet_payment_row(i) for i in row.internet or ()],
        )
        for row in rows
    }
