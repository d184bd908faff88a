"""Kind ``acts``: violation acts (акти про порушення), each billed as an ACT bill.

Columns:

==============  ============================================================
res_code        the RES of the personal account
account_number  the personal account
number          the act's number; (res_code, account_number, number) is the key
drawn_up_on     the date the act was drawn up
description     what the act found
kwh             optional: the kWh the act charges for
amount          UAH, 2 decimals, > 0
bill_number     optional: its ACT bill (category ACTS, same personal account,
                same amount, issued on or after drawn_up_on); import ``bills`` first
==============  ============================================================

Acts are immutable: an act that exists with other data is refused.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from models import ViolationAct
from services.importing.common import (
    insert_rows,
    Plan,
    Problems,
    Row,
    bills_by_number,
    check_bill_reference,
    conflict,
    differences,
    fetch,
    int_parser,
    mark_duplicates,
    opt,
    parse_account_number,
    parse_bill_number,
    parse_code,
    parse_date,
    parse_positive_money,
    req,
    resolve_personal_accounts,
    text_parser,
)

FIELDS = (
    req("res_code", parse_code),
    req("account_number", parse_account_number),
    req("number", text_parser(32)),
    req("drawn_up_on", parse_date),
    req("description", text_parser(2000)),
    opt("kwh", int_parser(0, 2_000_000_000)),
    req("amount", parse_positive_money),
    opt("bill_number", parse_bill_number),
)
COMPARED = ("drawn_up_on", "description", "kwh", "amount", "bill_id")


async def check(session: AsyncSession, rows: Sequence[Row], problems: Problems) -> Plan:
    rows = mark_duplicates(
        rows, lambda r: (r["res_code"], r["account_number"], r["number"]), "personal account and act number", problems
    )
    rows = await resolve_personal_accounts(session, rows, problems)
    bills = await bills_by_number(session, (r["bill_number"] for r in rows if r["bill_number"]))
    used_bills = {
        r.bill_id: r
        for r in await fetch(
            session,
            "SELECT bill_id, personal_account_id, number FROM violation_act WHERE bill_id = ANY(CAST(:ids AS bigint[]))",
            ids=[b.id for b in bills.values()],
        )
    }
    in_file: dict[int, int] = {}
    for row in rows:
        row.v["bill_id"] = None
        if row["bill_number"] is None:
            continue
        bill = check_bill_reference(row, "bill_number", bills, problems, kinds=("ACT",), category="ACTS")
        if bill is None:
            continue
        if bill.amount != row["amount"]:
            problems.add(row.line, f"bill_number: bill {bill.number} is for {bill.amount}, the act for {row['amount']}")
        if bill.issued_on < row["drawn_up_on"]:
            problems.add(row.line, f"bill_number: bill {bill.number} was issued before the act was drawn up")
        user = used_bills.get(bill.id)
        if user is not None and (user.personal_account_id, user.number) != (row["personal_account_id"], row["number"]):
            problems.add(row.line, f"bill_number: bill {bill.number} already bills act {user.number}")
        if bill.id in in_file:
            problems.add(row.line, f"bill_number: bill {bill.number} is also given on line {in_file[bill.id]}")
        in_file[bill.id] = row.line
        row.v["bill_id"] = bill.id

    good = [r for r in rows if not problems.bad(r.line)]
    stored = {
        (r.personal_account_id, r.number): r
        for r in await fetch(
            session,
            f"""
            SELECT a.personal_account_id, a.number, {', '.join('a.' + c for c in COMPARED)}
            FROM unnest(CAST(:ids AS bigint[]), CAST(:numbers AS text[])) AS k(id, number)
            JOIN violation_act a ON a.personal_account_id = k.id AND a.number = k.number
            """,
            ids=[r["personal_account_id"] for r in good],
            numbers=[r["number"] for r in good],
        )
    }
    plan = Plan()
    inserts = []
    for row in good:
        existing = stored.get((row["personal_account_id"], row["number"]))
        if existing is None:
            inserts.append({"personal_account_id": row["personal_account_id"], "number": row["number"]} | {c: row[c] for c in COMPARED})
            plan.inserted += 1
            continue
        diffs = differences(existing._mapping, row.v, COMPARED)
        if diffs:
            problems.add(row.line, conflict(f"act {row['number']}", diffs))
        else:
            plan.unchanged += 1

    async def apply(session: AsyncSession) -> None:
        if inserts:
            await insert_rows(session, ViolationAct.__table__, inserts)

    plan.apply = apply
    return plan
