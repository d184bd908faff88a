"""The manual's main screen read in one statement, for the fast path of that one query.

It returns the same rows the general resolvers read (links, personal accounts,
meter, last reading, bills, payments, card payments, bill lines), so the answer
is built by the same functions:
allocation, listings, pagination. Exact decimals travel as text.
"""

from __future__ import annotations

import datetime as dt
from collections import namedtuple
from dataclasses import dataclass
from decimal import Decimal

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.ledger import Ledger, ledger_build

BillRow = namedtuple("BillRow", "id number category issued_on period_start period_end due_on amount reading_id")
PaymentRow = namedtuple("PaymentRow", "id paid_on amount category channel bill_id reverses_payment_id")
InternetRow = namedtuple("InternetRow", "id number amount category status created_at confirmed_at")
LineRow = namedtuple("LineRow", "bill_id position description block zone quantity unit price coefficient amount")

SCREEN_SQL = text(
    """
WITH links AS (
  SELECT ar.personal_account_id AS pa,
         (array_agg(ar.decided_at ORDER BY ar.decided_at, ar.id))[1] AS decided_at,
         min(ar.id) AS first_id
  FROM activation_request ar
  WHERE ar.account_id = :account_id AND ar.status = 'APPROVED' AND ar.personal_account_id IS NOT NULL
  GROUP BY ar.personal_account_id
)
SELECT json_build_object(
  'accounts', (SELECT json_agg(json_build_object(
    'id', p.id, 'number', p.number, 'holder_name', p.holder_name, 'address', p.address,
    'meter', (SELECT json_build_array(m.serial_number, m.digits, m.zones) FROM meter m
              WHERE m.personal_account_id = p.id AND m.removed_on IS NULL
              ORDER BY m.installed_on DESC NULLS LAST, m.id DESC LIMIT 1),
    'reading', (SELECT json_build_array(r.taken_on, r.zones, r.values, r.consumptions) FROM meter_reading r
                WHERE r.personal_account_id = p.id ORDER BY r.taken_on DESC LIMIT 1),
    'bills', (SELECT json_agg(json_build_array(b.id, b.number, b.category, b.issued_on, b.period_start,
                                               b.period_end, b.due_on, b.amount::text, b.reading_id))
              FROM bill b WHERE b.personal_account_id = p.id AND b.issued_on <= :today),
    'payments', (SELECT json_agg(json_build_array(x.id, x.paid_on, x.amount::text, x.category, x.channel,
                                                  x.bill_id, x.reverses_payment_id))
                 FROM payment x WHERE x.personal_account_id = p.id),
    'internet', (SELECT json_agg(json_build_array(i.id, i.number, i.amount::text, i.category, i.status,
                                                  i.created_at, i.confirmed_at))
                 FROM internet_payment i WHERE i.personal_account_id = p.id),
    'lines', (SELECT json_agg(json_build_array(l.bill_id, l.position, l.description, l.block, l.zone,
                                               l.quantity::text, l.unit, l.price::text, l.coefficient::text,
                                               l.amount::text) ORDER BY l.bill_id, l.position)
              FROM bill_line l JOIN bill b ON b.id = l.bill_id
              WHERE b.personal_account_id = p.id AND b.issued_on <= :today
                AND b.issued_on BETWEEN :lines_from AND :lines_to AND b.category = ANY(:lines_categories))
  ) ORDER BY l.decided_at NULLS LAST, l.first_id)
  FROM links l JOIN personal_account p ON p.id = l.pa)
)::text
"""
)


@dataclass(frozen=True, slots=True)
class ScreenAccount:
    id: int
    number: str
    holder_name: str
    address: str
    meter: tuple[str, int, list[str]] | None
    reading: tuple[dt.date, list[str], list[int], list[int] | None] | None
    ledger: Ledger
    internet: list[InternetRow]
    lines: dict[int, list[LineRow]]


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value is not None else None


def _moment(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value is not None else None


def _decimal(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


async def main_screen_read(
    *,
    session: AsyncSession,
    account_id: int,
    today: dt.date,
    lines_from: dt.date,
    lines_to: dt.date,
    lines_categories: list[str],
) -> list[ScreenAccount]:
    """The login's personal accounts with everything the screen shows (the caller has checked
    the token as every request does)."""
    raw = (
        await session.execute(
            SCREEN_SQL,
            {
                "account_id": account_id,
                "today": today,
                "lines_from": lines_from,
                "lines_to": lines_to,
                "lines_categories": lines_categories,
            },
        )
    ).scalar_one()
    data = orjson.loads(raw)
    accounts = []
    for a in data["accounts"] or []:
        bills = [
            BillRow(b[0], b[1], b[2], _date(b[3]), _date(b[4]), _date(b[5]), _date(b[6]), Decimal(b[7]), b[8])
            for b in a["bills"] or []
        ]
        payments = [PaymentRow(p[0], _date(p[1]), Decimal(p[2]), p[3], p[4], p[5], p[6]) for p in a["payments"] or []]
        internet = sorted(
            (
                InternetRow(i[0], i[1], Decimal(i[2]), i[3], i[4], _moment(i[5]), _moment(i[6]))
                for i in a["internet"] or []
            ),
            key=lambda r: (r.created_at, r.id),
            reverse=True,
        )
        lines: dict[int, list[LineRow]] = {}
        for line in a["lines"] or []:
            lines.setdefault(line[0], []).append(
                LineRow(
                    line[0],
                    line[1],
                    line[2],
                    line[3],
                    line[4],
                    _decimal(line[5]),
                    line[6],
                    _decimal(line[7]),
                    _decimal(line[8]),
                    Decimal(line[9]),
                )
            )
        reading = a["reading"]
        accounts.append(
            ScreenAccount(
                id=a["id"],
                number=a["number"],
                holder_name=a["holder_name"],
                address=a["address"],
                meter=tuple(a["meter"]) if a["meter"] else None,
                reading=(dt.date.fromisoformat(reading[0]), reading[1], reading[2], reading[3]) if reading else None,
                ledger=ledger_build(bills, payments),
                internet=internet,
                lines=lines,
            )
        )
    return accounts
