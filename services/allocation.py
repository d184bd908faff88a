"""Allocation: which charges the credits of a category have paid.

The one function behind debt, bill status and amountDue (DESIGN §3):
within a category, a payment made for a chosen bill pays that bill first;
then every remaining credit (payments and negative correction bills) pays
the remaining charges oldest first, by (issued date, number).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from models.base import CATEGORY_ORDER, BillStatus, ChargeCategory

ZERO = Decimal("0.00")


class BillAmount(Protocol):
    """What a bill's status needs: a LedgerBill, or a bill as read."""

    @property
    def id(self) -> int: ...
    @property
    def amount(self) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class LedgerBill:
    id: int
    number: int
    category: ChargeCategory
    issued_on: dt.date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class LedgerPayment:
    id: int
    category: ChargeCategory
    amount: Decimal
    bill_id: int | None


@dataclass(frozen=True, slots=True)
class Allocation:
    """What is left to pay on each bill, and the debt of each category (negative: overpaid)."""

    due: dict[int, Decimal]
    debt: dict[ChargeCategory, Decimal]

    def status(self, bill: BillAmount) -> BillStatus:
        due = self.due.get(bill.id, ZERO)
        if bill.amount <= 0 or due == 0:
            return BillStatus.PAID
        return BillStatus.UNPAID if due == bill.amount else BillStatus.PARTIALLY_PAID

    @property
    def total(self) -> Decimal:
        return sum(self.debt.values(), ZERO)


def allocate(bills: Iterable[LedgerBill], payments: Iterable[LedgerPayment]) -> Allocation:
    """Bills are those issued up to the business date; payments are all of them."""
    bills = sorted(bills, key=lambda b: (b.issued_on, b.number))
    payments = list(payments)
    due: dict[int, Decimal] = {}
    debt = {c: ZERO for c in CATEGORY_ORDER}
    pool = {c: ZERO for c in CATEGORY_ORDER}
    for bill in bills:
        debt[bill.category] += bill.amount
        if bill.amount > 0:
            due[bill.id] = bill.amount
        else:
            due[bill.id] = ZERO
            pool[bill.category] -= bill.amount  # a negative bill is a credit
    for payment in payments:
        debt[payment.category] -= payment.amount
        credit = payment.amount
        chosen = payment.bill_id
        if chosen is not None and chosen in due and credit > 0:
            paid = min(credit, due[chosen])
            due[chosen] -= paid
            credit -= paid
        pool[payment.category] += credit
    for bill in bills:
        if bill.amount <= 0:
            continue
        available = pool[bill.category]
        if available <= 0:
            continue
        paid = min(available, due[bill.id])
        due[bill.id] -= paid
        pool[bill.category] -= paid
    return Allocation(due=due, debt=debt)
