"""Allocation: DESIGN §3's worked example and the rules around it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from models.base import BillStatus, ChargeCategory
from services.allocation import LedgerBill, LedgerPayment, allocate

E = ChargeCategory.ELECTRICITY
S = ChargeCategory.SERVICES


def bill(id_, number, day, amount, category=E):
    return LedgerBill(id_, number, category, dt.date(2014, 4, day), D(amount))


def pay(id_, amount, category=E, bill_id=None):
    return LedgerPayment(id_, category, D(amount), bill_id)


MANUAL_BILLS = [
    bill(1, 13942510, 4, "146.22"),
    bill(2, 13942515, 4, "414.96"),
    bill(3, 13942517, 8, "1519.71"),
    bill(4, 13942524, 10, "12.45"),
    bill(5, 13942526, 14, "317.92"),
    bill(6, 13942529, 15, "-50.00"),
    bill(7, 13942531, 30, "256.64"),
]
MANUAL_PAYMENTS = [pay(1, "561.18"), pay(2, "55.63"), pay(3, "20.00"), pay(4, "100.55"), pay(5, "10.00")]


def test_the_manuals_worked_example():
    result = allocate(MANUAL_BILLS, MANUAL_PAYMENTS)
    assert result.debt[E] == D("1870.54")
    statuses = {b.number: (result.status(b), result.due[b.id]) for b in MANUAL_BILLS}
    assert statuses == {
        13942510: (BillStatus.PAID, D("0.00")),
        13942515: (BillStatus.PAID, D("0.00")),
        13942517: (BillStatus.PARTIALLY_PAID, D("1283.53")),
        13942524: (BillStatus.UNPAID, D("12.45")),
        13942526: (BillStatus.UNPAID, D("317.92")),
        13942529: (BillStatus.PAID, D("0.00")),
        13942531: (BillStatus.UNPAID, D("256.64")),
    }
    # debt = what is left on the bills
    assert sum(result.due.values()) == result.debt[E]


def test_order_of_input_does_not_matter():
    result = allocate(list(reversed(MANUAL_BILLS)), list(reversed(MANUAL_PAYMENTS)))
    assert result.due[3] == D("1283.53")


def test_a_payment_for_a_chosen_bill_pays_it_first_and_the_rest_oldest_first():
    bills = [bill(1, 1, 1, "100.00"), bill(2, 2, 2, "50.00"), bill(3, 3, 3, "30.00")]
    result = allocate(bills, [pay(1, "60.00", bill_id=3)])
    assert (result.due[3], result.due[1], result.due[2]) == (D("0.00"), D("70.00"), D("50.00"))
    assert [result.status(b) for b in bills] == [BillStatus.PARTIALLY_PAID, BillStatus.UNPAID, BillStatus.PAID]


def test_categories_do_not_pay_each_other():
    bills = [bill(1, 1, 1, "100.00"), bill(2, 2, 1, "40.00", S)]
    result = allocate(bills, [pay(1, "40.00", S)])
    assert result.due == {1: D("100.00"), 2: D("0.00")}
    assert result.debt[E] == D("100.00") and result.debt[S] == D("0.00")


def test_overpayment_is_negative_debt_and_all_paid():
    bills = [bill(1, 1, 1, "10.00")]
    result = allocate(bills, [pay(1, "25.00")])
    assert result.debt[E] == D("-15.00")
    assert result.status(bills[0]) == BillStatus.PAID
    assert result.total == D("-15.00")


def test_all_five_categories_are_present_even_when_empty():
    assert list(allocate([], []).debt) == list(ChargeCategory)
