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
from services.importing.common import (
    insert_rows,
    Plan,
    Problems,
    Row,
    bills_by_number,
    check_bill_reference,
    choice_parser,
    conflict,
    differences,
    fetch,
    mark_duplicates,
    opt,
    parse_account_number,
    parse_bill_number,
    parse_code,
    parse_date,
    parse_external_id,
    parse_positive_money,
    req,
    resolve_personal_accounts,
)

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


async def check(session: AsyncSession, rows: Sequence[Row], problems: Problems) -> Plan:
    rows = mark_duplicates(rows, lambda r: r["external_id"], "external_id", problems)
    rows = await resolve_personal_accounts(session, rows, problems)
    bills = await bills_by_number(session, (r["bill_number"] for r in rows if r["bill_number"]))
    for row in rows:
        row.v["channel"] = PaymentChannel.BANK.value
        row.v["bill_id"] = None
        if row["bill_number"] is not None:
            bill = check_bill_reference(row, "bill_number", bills, problems, category=row["category"])
            if bill is not None:
                row.v["bill_id"] = bill.id
    good = [r for r in rows if not problems.bad(r.line)]
    stored = {
        r.external_id: r
        for r in await fetch(
            session,
            f"SELECT external_id, {', '.join(COMPARED)} FROM payment WHERE external_id = ANY(CAST(:ids AS text[]))",
            ids=[r["external_id"] for r in good],
        )
    }
    plan = Plan()
    inserts = []
    for row in good:
        existing = stored.get(row["external_id"])
        if existing is None:
            inserts.append({"external_id": row["external_id"]} | {c: row[c] for c in COMPARED})
            plan.inserted += 1
            continue
        diffs = differences(existing._mapping, row.v, COMPARED)
        if diffs:
            problems.add(row.line, conflict(f"payment {row['external_id']}", diffs))
        else:
            plan.unchanged += 1

    async def apply(session: AsyncSession) -> None:
        if inserts:
            await insert_rows(session, Payment.__table__, inserts)

    plan.apply = apply
    return plan
