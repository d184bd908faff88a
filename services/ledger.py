"""A personal account's ledger: its bills, payments and their allocation, read in two statements.

Everything the main screen shows about money (debt by category, bill
status and amountDue, the bill and payment lists with their totals) comes
from this one read, so the screen costs the same statements whatever the
number of rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Bill, Payment
from models.base import ChargeCategory
from services import pricing
from services.allocation import ZERO, Allocation, LedgerBill, LedgerPayment, allocate
from services.periods import Period, kyiv_date_until, period_resolve

# A bill, payment, internet payment or reading as read: a SQLAlchemy Row or one of the
# namedtuples of services/account_records.py, with the same attribute names.
Record = Any

BILL_COLUMNS = (
    Bill.id,
    Bill.personal_account_id,
    Bill.number,
    Bill.category,
    Bill.kind,
    Bill.issued_on,
    Bill.period_start,
    Bill.period_end,
    Bill.reading_id,
    Bill.due_on,
    Bill.amount,
)
PAYMENT_COLUMNS = (
    Payment.id,
    Payment.personal_account_id,
    Payment.paid_on,
    Payment.amount,
    Payment.category,
    Payment.channel,
    Payment.bill_id,
    Payment.reverses_payment_id,
)


@dataclass
class Ledger:
    bills: list[Record]  # issued up to today, newest first
    payments: list[Record]  # newest first
    allocation: Allocation
    bills_by_id: dict[int, Record] = field(default_factory=dict)


def ledger_build(bills: Sequence[Record], payments: Sequence[Record]) -> Ledger:
    # A reversal and the payment it undoes cancel out; neither pays anything.
    reversed_ids = {p.reverses_payment_id for p in payments if p.reverses_payment_id is not None}
    credits = [
        LedgerPayment(id=p.id, category=p.category, amount=p.amount, bill_id=p.bill_id)
        for p in payments
        if p.reverses_payment_id is None and p.id not in reversed_ids
    ]
    charges = [LedgerBill(b.id, b.number, b.category, b.issued_on, b.amount) for b in bills]
    allocation = allocate(charges, credits)
    ledger = Ledger(
        bills=sorted(bills, key=lambda b: (b.issued_on, b.number), reverse=True),
        payments=sorted(payments, key=lambda p: (p.paid_on, p.id), reverse=True),
        allocation=allocation,
    )
    ledger.bills_by_id = {b.id: b for b in bills}
    return ledger


async def ledgers_load(
    *, session: AsyncSession, personal_account_ids: Sequence[int], today: dt.date
) -> dict[int, Ledger]:
    """The ledgers of several personal accounts: one statement for bills, one for payments."""
    ids = list(personal_account_ids)
    bills = (
        await session.execute(select(*BILL_COLUMNS).where(Bill.personal_account_id.in_(ids), Bill.issued_on <= today))
    ).all()
    payments = (await session.execute(select(*PAYMENT_COLUMNS).where(Payment.personal_account_id.in_(ids)))).all()
    bills_of: dict[int, list[Record]] = defaultdict(list)
    payments_of: dict[int, list[Record]] = defaultdict(list)
    for b in bills:
        bills_of[b.personal_account_id].append(b)
    for p in payments:
        payments_of[p.personal_account_id].append(p)
    return {pa: ledger_build(bills_of[pa], payments_of[pa]) for pa in ids}


def oldest_due_on(ledger: Ledger, *, categories: Sequence[ChargeCategory] | None) -> dt.date | None:
    """The issue date of the oldest bill of these categories (all when none) with an amount
    still due, by the allocation; None when nothing is owed on a bill."""
    due = ledger.allocation.due
    owed = [
        b.issued_on for b in ledger.bills if due.get(b.id, ZERO) > 0 and (not categories or b.category in categories)
    ]
    return min(owed, default=None)


def listing_period(
    ledger: Ledger,
    *,
    categories: Sequence[ChargeCategory] | None,
    start: dt.date | None,
    end: dt.date | None,
    today: dt.date,
) -> Period:
    """The period of one of the personal account's lists: with no `from`, a year before `to`
    or, when an older bill of those categories is still owed, from that bill's issue date."""
    due_since = oldest_due_on(ledger, categories=categories) if start is None else None
    return period_resolve(start=start, end=end, today=today, due_since=due_since)


def amount_sum(values: Sequence[Decimal]) -> Decimal:
    return sum(values, Decimal("0.00"))


# The order of each list, newest first; also what its cursors encode.
def bill_key(b: Record) -> tuple:
    return (b.issued_on, b.number)


def payment_key(p: Record) -> tuple:
    return (p.paid_on, p.id)


def internet_payment_key(p: Record) -> tuple:
    return (p.created_at, p.id)


def reading_key(r: Record) -> tuple:
    return (r.taken_on,)


@dataclass(frozen=True, slots=True)
class Listing:
    """One filtered list of a screen: its rows (newest first), the period and the totals."""

    rows: list[Record]
    period: Period
    total_amount: Decimal

    @property
    def total_count(self) -> int:
        return len(self.rows)


def bills_listing(ledger: Ledger, *, categories: Sequence[ChargeCategory] | None, period: Period) -> Listing:
    rows = [b for b in ledger.bills if period.holds(b.issued_on) and (not categories or b.category in categories)]
    return Listing(rows, period, amount_sum([b.amount for b in rows]))


def payments_listing(ledger: Ledger, *, categories: Sequence[ChargeCategory] | None, period: Period) -> Listing:
    rows = [p for p in ledger.payments if period.holds(p.paid_on) and (not categories or p.category in categories)]
    return Listing(rows, period, amount_sum([p.amount for p in rows]))


def internet_payments_listing(
    rows: Sequence[Record], *, categories: Sequence[ChargeCategory] | None, period: Period, today: dt.date
) -> Listing:
    chosen = [
        r
        for r in rows
        if period.holds(kyiv_date_until(r.created_at, today)) and (not categories or r.category in categories)
    ]
    return Listing(chosen, period, amount_sum([r.amount for r in chosen]))


def readings_listing(rows: Sequence[Record], *, period: Period) -> Listing:
    chosen = [r for r in rows if period.holds(r.taken_on)]
    return Listing(chosen, period, Decimal("0.00"))


@dataclass(frozen=True, slots=True)
class MonthConsumption:
    month: dt.date
    kwh: int
    amount: Decimal


def consumption_by_month(
    readings: Sequence[Record], ledger: Ledger, *, period: Period, tariff_starts: Sequence[dt.date]
) -> list[MonthConsumption]:
    """The readings taken in the period (as the `readings` list), each split over the months
    of the days it covers exactly as its bill lines split it (pricing.consumption_by_month).

    A reading covers its bill's period, or without one the days after the meter's previous
    reading; the first reading of a meter has only its own day. Each month's amount is the
    bill's amount shared by the months' kWh in whole kopecks by the same Sainte-Laguë rule,
    so the months add up to the bill.
    """
    bills = {b.reading_id: b for b in ledger.bills if b.reading_id is not None}
    previous: dict[int, dt.date] = {}  # reading id -> the date of the meter's reading before it
    last_of_meter: dict[int, dt.date] = {}
    for reading in sorted(readings, key=lambda r: r.taken_on):
        if reading.meter_id in last_of_meter:
            previous[reading.id] = last_of_meter[reading.meter_id]
        last_of_meter[reading.meter_id] = reading.taken_on
    months: dict[dt.date, list] = {}
    for reading in readings:
        if reading.consumption is None or not period.holds(reading.taken_on):
            continue
        bill = bills.get(reading.id)
        if (
            bill is not None
            and bill.period_start is not None
            and bill.period_end is not None
            and (bill.period_start <= bill.period_end)
        ):
            start, end = bill.period_start, bill.period_end
        elif reading.id in previous:
            start, end = previous[reading.id] + dt.timedelta(days=1), reading.taken_on
        else:
            start = end = reading.taken_on
        kwh = pricing.consumption_by_month(
            period_start=start, period_end=end, kwh=reading.consumption, tariff_starts=tariff_starts
        )
        amounts = _amount_by_month(bill.amount if bill is not None else ZERO, kwh, end.replace(day=1))
        for month, month_kwh in kwh.items():
            totals = months.setdefault(month, [0, ZERO])
            totals[0] += month_kwh
            totals[1] += amounts.get(month, ZERO)
    return [MonthConsumption(m, kwh, amount) for m, (kwh, amount) in sorted(months.items())]


def _amount_by_month(amount: Decimal, kwh: dict[dt.date, int], last_month: dt.date) -> dict[dt.date, Decimal]:
    """A bill's amount over its months by their kWh, in whole kopecks (Sainte-Laguë)."""
    if amount <= 0 or sum(kwh.values()) == 0:
        return {last_month: amount}  # nothing to weigh it by: it stays where the reading was taken
    if len(kwh) == 1:
        return dict.fromkeys(kwh, amount)  # one month takes it all (a bill's amount is whole kopecks)
    kopecks = pricing.sainte_lague(int(amount * 100), list(kwh.values()))
    return {month: Decimal(k).scaleb(-2) for month, k in zip(kwh, kopecks, strict=True)}
