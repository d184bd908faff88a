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
from services.importing.cells import (
    int_parser,
    opt,
    parse_account_number,
    parse_bill_number,
    parse_code,
    parse_date,
    parse_positive_money,
    req,
    text_parser,
)
from services.importing.lookups import bills_by_number, fetch_by, link_optional_bill, resolve_personal_accounts
from services.importing.report import Plan, Problems
from services.importing.rows import Row, mark_duplicates, without_problems
from services.importing.stored import stored_versus_file
from services.importing.writing import inserting

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


async def check(*, session: AsyncSession, rows: Sequence[Row], problems: Problems) -> Plan:
    rows = mark_duplicates(
        rows=rows,
        key=lambda r: (r["res_code"], r["account_number"], r["number"]),
        what="personal account and act number",
        problems=problems,
    )
    rows = await resolve_personal_accounts(session=session, rows=rows, problems=problems)
    bills = await bills_by_number(session=session, numbers=(r["bill_number"] for r in rows if r["bill_number"]))
    used_bills = await fetch_by(
        session=session,
        key="bill_id",
        sql="SELECT bill_id, personal_account_id, number FROM violation_act WHERE bill_id = ANY(CAST(:ids AS bigint[]))",
        ids=[b.id for b in bills.values()],
    )
    in_file: dict[int, int] = {}
    for row in rows:
        bill = link_optional_bill(
            row=row, column="bill_number", bills=bills, problems=problems, kinds=("ACT",), category="ACTS"
        )
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

    good = without_problems(rows=rows, problems=problems)
    stored = await fetch_by(
        session=session,
        key=("personal_account_id", "number"),
        sql=f"""
        SELECT a.personal_account_id, a.number, {", ".join("a." + c for c in COMPARED)}
        FROM unnest(CAST(:ids AS bigint[]), CAST(:numbers AS text[])) AS k(id, number)
        JOIN violation_act a ON a.personal_account_id = k.id AND a.number = k.number
        """,
        ids=[r["personal_account_id"] for r in good],
        numbers=[r["number"] for r in good],
    )
    plan = Plan()
    new = stored_versus_file(
        rows=good,
        stored=stored,
        key=lambda r: (r["personal_account_id"], r["number"]),
        compared=COMPARED,
        what=lambda r: f"act {r['number']}",
        problems=problems,
        plan=plan,
    )
    inserts = [
        {"personal_account_id": r["personal_account_id"], "number": r["number"]} | {c: r[c] for c in COMPARED}
        for r in new
    ]
    plan.inserted = len(inserts)
    plan.apply = inserting(table=ViolationAct.__table__, rows=inserts)
    return plan
