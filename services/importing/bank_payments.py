"""Kind ``bank-payments``: payments made at a bank branch (channel BANK).

Columns:

==============  ============================================================
external_id     the bank's or utility's id of the payment, the key
res_code        the RES of the personal account
account_number  the personal account
paid_on         the date of payment
amount          UAH, 2 decimals, > 0
category        the charge category it pays (``ELECTRICITY``, …)
bill_number     optional: the bill it was made for (same personal account and
                category); that bill is paid first
==============  ============================================================

Each row is one Payment. Payments are immutable: an external_id that exists
with other data is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from models import Payment
from models.base import ChargeCategory, PaymentChannel
from services.importing.cells import (
    choice_parser,
    opt,
    parse_account_number,
    parse_bill_number,
    parse_code,
    parse_date,
    parse_external_id,
    parse_positive_money,
    req,
)
from services.importing.lookups import bills_by_number, fetch_by, link_optional_bill, resolve_personal_accounts
from services.importing.report import Plan, Problems
from services.importing.rows import Row, mark_duplicates, without_problems
from services.importing.stored import stored_versus_file
from services.importing.writing import inserting

FIELDS = (
    req("external_id", parse_external_id),
    req("res_code", parse_code),
    req("account_number", parse_account_number),
    req("paid_on", parse_date),
    req("amount", parse_positive_money),
    req("category", choice_parser(c.value for c in ChargeCategory)),
    opt("bill_number", parse_bill_number),
)
COMPARED = ("channel", "personal_account_id", "paid_on", "amount", "category", "bill_id")


async def check(*, session: AsyncSession, rows: Sequence[Row], problems: Problems) -> Plan:
    rows = mark_duplicates(rows=rows, key=lambda r: r["external_id"], what="external_id", problems=problems)
    rows = await resolve_personal_accounts(session=session, rows=rows, problems=problems)
    bills = await bills_by_number(session=session, numbers=(r["bill_number"] for r in rows if r["bill_number"]))
    for row in rows:
        row.v["channel"] = PaymentChannel.BANK.value
        link_optional_bill(row=row, column="bill_number", bills=bills, problems=problems, category=row["category"])
    good = without_problems(rows=rows, problems=problems)
    stored = await fetch_by(
        session=session,
        key="external_id",
        sql=f"SELECT external_id, {', '.join(COMPARED)} FROM payment WHERE external_id = ANY(CAST(:ids AS text[]))",
        ids=[r["external_id"] for r in good],
    )
    plan = Plan()
    new = stored_versus_file(
        rows=good,
        stored=stored,
        key=lambda r: r["external_id"],
        compared=COMPARED,
        what=lambda r: f"payment {r['external_id']}",
        problems=problems,
        plan=plan,
    )
    inserts = [{"external_id": r["external_id"]} | {c: r[c] for c in COMPARED} for r in new]
    plan.inserted = len(inserts)
    plan.apply = inserting(table=Payment.__table__, rows=inserts)
    return plan
