"""The manual's main screen as a known operation, answered on a fast path.

MAIN_SCREEN is the query a frontend sends for «Данные лицевого счета»: the
personal accounts, debts, the electricity bills with their lines, payments
and card payments of a period. When a request sends exactly this document
(known by the hash of its normal form, whitespace aside) with valid variables,
and the token passes the same check as every request (RequestContext.viewer),
it is answered from one more SQL statement and the same domain functions,
without the general executor (one more statement reads the lines of older bills
when a default period reaches back to an unpaid bill older than the year).
Anything else, including every error case (no or bad token, `first` over 100,
a malformed date, `from` after `to`), goes to the general executor, which
gives the errors. tests/test_main_screen_fast_path.py holds the two answers
byte-identical.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from functools import lru_cache
from typing import Any

from graphql import GraphQLError, parse, print_ast

from models.base import CATEGORY_ORDER, ChargeCategory
from resolvers.context import RequestContext
from resolvers.ids import global_id
from schema.scalars import date_parse, datetime_serialize, decimal_serialize
from services import ledger as ledger_service
from services.billing import coefficient_shown, quantity_shown
from services.errors import AuthError
from services.main_screen import ScreenAccount, main_screen_read
from services.pagination import paginate
from services.periods import period_resolve
from services.personal_accounts import bill_lines_of

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

TAB = [ChargeCategory.ELECTRICITY]


def _normal(document: str) -> str | None:
    try:
        return print_ast(parse(document))
    except GraphQLError:
        return None


def _sha256(text: str | None) -> str | None:
    return hashlib.sha256(text.encode()).hexdigest() if text is not None else None


MAIN_SCREEN_SHA256 = _sha256(_normal(MAIN_SCREEN))


@lru_cache(maxsize=512)
def is_main_screen(query: str) -> bool:
    """Whether a query is MAIN_SCREEN, by the hash of its normal form (formatting aside;
    cached: texts repeat)."""
    if "MainScreen" not in query:
        return False
    return _sha256(_normal(query)) == MAIN_SCREEN_SHA256


def _variables(variables: Any) -> tuple[dt.date | None, dt.date | None, int | None] | None:
    """The screen's variables, or None when any is not plainly valid (the general path judges)."""
    variables = variables or {}
    if not isinstance(variables, dict):
        return None
    try:
        start = date_parse(variables["from"]) if variables.get("from") is not None else None
        end = date_parse(variables["to"]) if variables.get("to") is not None else None
    except ValueError:
        return None
    first = variables.get("first")
    if first is not None and (isinstance(first, bool) or not isinstance(first, int) or not 0 <= first <= 100):
        return None
    return start, end, first


async def main_screen_answer(context: RequestContext, query: str, variables: Any, operation_name: Any) -> dict | None:
    """The `data` of the answer, or None to let the general executor answer."""
    if operation_name not in (None, "MainScreen") or not is_main_screen(query):
        return None
    parsed = _variables(variables)
    if parsed is None:
        return None
    try:
        viewer = await context.viewer_or_none()  # the same token check as every request
    except AuthError:
        return None
    if viewer is None:
        return None
    start, end, first = parsed
    today = context.settings.today()
    read_period = period_resolve(start=start, end=end, today=today)
    if read_period.inverted:
        return None  # the general executor says so on each list
    accounts = await context.read(
        lambda s: main_screen_read(
            session=s,
            account_id=viewer.account_id,
            today=today,
            lines_from=read_period.start,
            lines_to=read_period.end,
            lines_categories=[c.value for c in TAB],
        )
    )
    periods = {
        a.id: ledger_service.listing_period(a.ledger, categories=TAB, start=start, end=end, today=today)
        for a in accounts
    }
    # A default period reaching back to an old unpaid bill shows lines the statement did not read.
    older = [
        b.id for a in accounts for b in _bill_page(a, periods[a.id], first).rows if b.issued_on < read_period.start
    ]
    if older:
        lines = await context.read(lambda s: bill_lines_of(session=s, bill_ids=older))
        for a in accounts:
            a.lines.update({b: rows for b, rows in lines.items() if b in a.ledger.bills_by_id})
    return {"viewer": {"personalAccounts": [_account(a, periods[a.id], first, today) for a in accounts]}}


def _bill_page(a: ScreenAccount, period, first: int | None):
    listing = ledger_service.bills_listing(a.ledger, categories=TAB, period=period)
    return paginate(listing.rows, ledger_service.bill_key, first=first, after=None)


def _money(value) -> str:
    return decimal_serialize(value)


def _account(a: ScreenAccount, period, first: int | None, today: dt.date) -> dict:
    allocation = a.ledger.allocation
    reading = a.reading
    consumptions: list[int | None] = []
    if reading is not None:
        consumptions = list(reading[3]) if reading[3] is not None else [None] * len(reading[1])
    return {
        "id": global_id("PersonalAccount", a.id),
        "number": a.number,
        "holderName": a.holder_name,
        "address": a.address,
        "lastReading": None
        if reading is None
        else {
            "takenOn": reading[0].isoformat(),
            "values": [
                {"zone": z, "value": v, "consumption": c}
                for z, v, c in zip(reading[1], reading[2], consumptions, strict=True)
            ],
        },
        "meter": None
        if a.meter is None
        else {"serialNumber": a.meter[0], "digits": a.meter[1], "zones": list(a.meter[2])},
        "debt": {
            "total": _money(allocation.total),
            "categories": [{"category": c.value, "amount": _money(allocation.debt[c])} for c in CATEGORY_ORDER],
        },
        "bills": _bills(a, period, first),
        "payments": _payments(a, period, first),
        "internetPayments": _internet(a, period, first, today),
    }


def _bills(a: ScreenAccount, period, first: int | None) -> dict:
    listing = ledger_service.bills_listing(a.ledger, categories=TAB, period=period)
    page = paginate(listing.rows, ledger_service.bill_key, first=first, after=None)
    allocation = a.ledger.allocation
    return {
        "totalCount": listing.total_count,
        "totalAmount": _money(listing.total_amount),
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "pageInfo": {"hasNextPage": page.has_next, "endCursor": page.cursors[-1] if page.cursors else None},
        "edges": [
            {
                "cursor": cursor,
                "node": {
                    "id": global_id("Bill", b.id),
                    "number": str(b.number),
                    "issuedOn": b.issued_on.isoformat(),
                    "periodStart": b.period_start.isoformat() if b.period_start else None,
                    "periodEnd": b.period_end.isoformat() if b.period_end else None,
                    "amount": _money(b.amount),
                    "status": allocation.status(b).value,
                    "amountDue": _money(allocation.due.get(b.id, Decimal("0.00"))),
                    "dueOn": b.due_on.isoformat() if b.due_on else None,
                    "lines": [_line(line) for line in a.lines.get(b.id, [])],
                },
            }
            for b, cursor in zip(page.rows, page.cursors, strict=True)
        ],
    }


def _line(line) -> dict:
    quantity, coefficient = quantity_shown(line.quantity), coefficient_shown(line.coefficient)
    return {
        "description": line.description,
        "block": line.block,
        "zone": line.zone,
        "quantity": _money(quantity) if quantity is not None else None,
        "unit": line.unit,
        "price": _money(line.price) if line.price is not None else None,
        "coefficient": _money(coefficient) if coefficient is not None else None,
        "amount": _money(line.amount),
    }


def _payments(a: ScreenAccount, period, first: int | None) -> dict:
    listing = ledger_service.payments_listing(a.ledger, categories=TAB, period=period)
    page = paginate(listing.rows, ledger_service.payment_key, first=first, after=None)
    return {
        "totalCount": listing.total_count,
        "totalAmount": _money(listing.total_amount),
        "edges": [
            {"node": {"paidOn": p.paid_on.isoformat(), "amount": _money(p.amount), "channel": p.channel}}
            for p in page.rows
        ],
    }


def _internet(a: ScreenAccount, period, first: int | None, today: dt.date) -> dict:
    listing = ledger_service.internet_payments_listing(a.internet, categories=TAB, period=period, today=today)
    page = paginate(listing.rows, ledger_service.internet_payment_key, first=first, after=None)
    return {
        "totalCount": listing.total_count,
        "totalAmount": _money(listing.total_amount),
        "edges": [
            {
                "node": {
                    "number": p.number,
                    "amount": _money(p.amount),
                    "status": p.status,
                    "confirmedAt": datetime_serialize(p.confirmed_at) if p.confirmed_at else None,
                }
            }
            for p in page.rows
        ],
    }
