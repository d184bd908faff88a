"""Kind ``schedules``: ГПЗ (repayment schedules), one row per instalment.

Columns:

=========================  ================================================
res_code                   the RES of the personal account
account_number             the personal account
schedule_number            the schedule's number; with the account, the key
category                   ``ELECTRICITY_SCHEDULE`` (debt moved from
                           ELECTRICITY) or ``ACTS_SCHEDULE`` (from ACTS)
agreed_on                  the date the schedule was agreed
total                      the debt moved, UAH
correction_bill_number     the CORRECTION bill of −total in the source
                           category, issued on agreed_on
instalment_due_on          the instalment's due date (unique in the schedule,
                           not before agreed_on)
instalment_amount          UAH, > 0
instalment_bill_number     optional: its INSTALLMENT bill in the schedule's
                           category, issued on instalment_due_on, same amount
=========================  ================================================

The schedule columns repeat on each of its rows and must agree; the
instalments must sum exactly to the total. An instalment's bill is debt from
its issue date (= due date) on; a later one stays in the schedule only.
Bills are imported first (``bills``). Schedules are immutable: one that
exists with other data or other instalments is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models import Instalment, RepaymentSchedule
from services.importing.cells import (
    choice_parser,
    opt,
    parse_account_number,
    parse_bill_number,
    parse_code,
    parse_date,
    parse_positive_money,
    req,
    text_parser,
)
from services.importing.lookups import (
    bills_by_number,
    check_bill_reference,
    fetch,
    fetch_grouped,
    link_optional_bill,
    resolve_personal_accounts,
)
from services.importing.report import Apply, Plan, Problems
from services.importing.rows import Row, group_by
from services.importing.stored import conflict, differences, show
from services.importing.writing import insert_rows

SOURCE_CATEGORY = {"ELECTRICITY_SCHEDULE": "ELECTRICITY", "ACTS_SCHEDULE": "ACTS"}
FIELDS = (
    req("res_code", parse_code),
    req("account_number", parse_account_number),
    req("schedule_number", text_parser(32)),
    req("category", choice_parser(SOURCE_CATEGORY)),
    req("agreed_on", parse_date),
    req("total", parse_positive_money),
    req("correction_bill_number", parse_bill_number),
    req("instalment_due_on", parse_date),
    req("instalment_amount", parse_positive_money),
    opt("instalment_bill_number", parse_bill_number),
)
HEADER = ("category", "agreed_on", "total", "correction_bill_number")


Key = tuple[int, str]  # (personal account id, schedule number)


async def check(*, session: AsyncSession, rows: Sequence[Row], problems: Problems) -> Plan:
    rows = await resolve_personal_accounts(session=session, rows=rows, problems=problems)
    groups: dict[Key, list[Row]] = group_by(items=rows, key=lambda r: (r["personal_account_id"], r["schedule_number"]))
    numbers = {r["correction_bill_number"] for r in rows} | {
        r["instalment_bill_number"] for r in rows if r["instalment_bill_number"]
    }
    bills = await bills_by_number(session=session, numbers=numbers)
    users = await _BillUsers.load(session=session, bill_ids=[b.id for b in bills.values()], problems=problems)

    good_groups: dict[Key, list[Row]] = {}
    for key, group in groups.items():
        # Every step runs, so a schedule's rows get all their problems at once.
        ok = _group_agrees(group=group, problems=problems)
        ok = _correction_bill_check(key=key, group=group, bills=bills, users=users, problems=problems) and ok
        ok = _instalment_bills_check(key=key, group=group, bills=bills, users=users, problems=problems) and ok
        if ok:
            good_groups[key] = group

    plan = Plan()
    stored = await _stored_schedules(session=session, keys=list(good_groups))
    new_groups = _stored_versus_file(groups=good_groups, stored=stored, problems=problems, plan=plan)
    plan.apply = _writes(new_groups=new_groups)
    return plan


class _BillUsers:
    """Which schedules already use a bill (stored), and which lines of this file claim it."""

    def __init__(self, *, corrections: dict[int, Any], instalments: dict[int, Any], problems: Problems) -> None:
        self.corrections = corrections
        self.instalments = instalments
        self.problems = problems
        self.in_file: dict[int, tuple[Key, int]] = {}  # bill id -> (schedule key, line)

    @classmethod
    async def load(cls, *, session: AsyncSession, bill_ids: list[int], problems: Problems) -> _BillUsers:
        corrections = await fetch(
            session=session,
            sql="SELECT correction_bill_id, personal_account_id, number FROM repayment_schedule "
            "WHERE correction_bill_id = ANY(CAST(:ids AS bigint[]))",
            ids=bill_ids,
        )
        instalments = await fetch(
            session=session,
            sql="""
            SELECT i.bill_id, s.personal_account_id, s.number FROM instalment i
            JOIN repayment_schedule s ON s.id = i.schedule_id WHERE i.bill_id = ANY(CAST(:ids AS bigint[]))
            """,
            ids=bill_ids,
        )
        return cls(
            corrections={r.correction_bill_id: r for r in corrections},
            instalments={r.bill_id: r for r in instalments},
            problems=problems,
        )

    def claim(self, *, row: Row, key: Key, bill_id: int, column: str) -> None:
        # One correction bill serves all rows of its schedule; an instalment bill only one row.
        user = self.in_file.get(bill_id)
        if user is not None and (user[0] != key or column == "instalment_bill_number"):
            self.problems.add(row.line, f"{column}: bill {row[column]} is also used on line {user[1]}")
        self.in_file.setdefault(bill_id, (key, row.line))


def _group_agrees(*, group: list[Row], problems: Problems) -> bool:
    """The schedule's columns agree on its rows, due dates are unique and not before agreed_on, the sum is the total."""
    first = group[0]
    ok = True
    for row in group[1:]:
        for column in HEADER:
            if row[column] != first[column]:
                problems.add(
                    row.line,
                    f"{column} differs from line {first.line} of schedule {first['schedule_number']} "
                    f"({show(row[column])} ≠ {show(first[column])})",
                )
                ok = False
    seen_dates: dict[dt.date, int] = {}
    for row in group:
        due = row["instalment_due_on"]
        if due in seen_dates:
            problems.add(row.line, f"instalment_due_on {due} repeats line {seen_dates[due]} of the same schedule")
            ok = False
        seen_dates.setdefault(due, row.line)
        if due < first["agreed_on"]:
            problems.add(row.line, f"instalment_due_on {due} is before the schedule was agreed ({first['agreed_on']})")
            ok = False
    total = sum((r["instalment_amount"] for r in group), Decimal("0.00"))
    if total != first["total"]:
        problems.add(
            first.line,
            f"the instalments of schedule {first['schedule_number']} sum to {total}, its total is {first['total']}",
        )
        ok = False
    return ok


def _correction_bill_check(
    *, key: Key, group: list[Row], bills: Mapping[int, Any], users: _BillUsers, problems: Problems
) -> bool:
    """The correction bill: −total in the source category, issued on the agreement date, no other schedule's."""
    first = group[0]
    source = SOURCE_CATEGORY[first["category"]]
    bill = check_bill_reference(
        row=first,
        column="correction_bill_number",
        bills=bills,
        problems=problems,
        kinds=("CORRECTION",),
        category=source,
    )
    if bill is None:
        return False
    ok = True
    if bill.amount != -first["total"]:
        problems.add(
            first.line, f"correction_bill_number: bill {bill.number} is for {bill.amount}, expected {-first['total']}"
        )
        ok = False
    if bill.issued_on != first["agreed_on"]:
        problems.add(
            first.line,
            f"correction_bill_number: bill {bill.number} was issued on {bill.issued_on}, "
            f"the schedule agreed on {first['agreed_on']}",
        )
        ok = False
    user = users.corrections.get(bill.id)
    if user is not None and (user.personal_account_id, user.number) != key:
        problems.add(first.line, f"correction_bill_number: bill {bill.number} belongs to schedule {user.number}")
        ok = False
    users.claim(row=first, key=key, bill_id=bill.id, column="correction_bill_number")
    first.v["correction_bill_id"] = bill.id
    return ok


def _instalment_bills_check(
    *, key: Key, group: list[Row], bills: Mapping[int, Any], users: _BillUsers, problems: Problems
) -> bool:
    """Each instalment's bill, if given: INSTALLMENT in the schedule's category, issued on the due date, same amount."""
    category = group[0]["category"]
    ok = True
    for row in group:
        bill = link_optional_bill(
            row=row,
            column="instalment_bill_number",
            bills=bills,
            problems=problems,
            kinds=("INSTALLMENT",),
            category=category,
        )
        if bill is None:
            if row["instalment_bill_number"] is not None:  # given, but not a good reference
                ok = False
            continue
        if bill.issued_on != row["instalment_due_on"]:
            problems.add(
                row.line,
                f"instalment_bill_number: bill {bill.number} was issued on {bill.issued_on}, "
                f"the instalment is due {row['instalment_due_on']}",
            )
            ok = False
        if bill.amount != row["instalment_amount"]:
            problems.add(
                row.line,
                f"instalment_bill_number: bill {bill.number} is for {bill.amount}, the instalment for {row['instalment_amount']}",
            )
            ok = False
        user = users.instalments.get(bill.id)
        if user is not None and (user.personal_account_id, user.number) != key:
            problems.add(row.line, f"instalment_bill_number: bill {bill.number} belongs to schedule {user.number}")
            ok = False
        users.claim(row=row, key=key, bill_id=bill.id, column="instalment_bill_number")
    return ok


async def _stored_schedules(*, session: AsyncSession, keys: list[Key]) -> dict[Key, list[Any]]:
    """The stored schedules of these keys, a row per instalment."""
    return await fetch_grouped(
        session=session,
        key=("personal_account_id", "number"),
        sql="""
        SELECT s.id, s.personal_account_id, s.number, s.category, s.agreed_on, s.total, s.correction_bill_id,
               i.due_on, i.amount, i.bill_id
        FROM unnest(CAST(:ids AS bigint[]), CAST(:numbers AS text[])) AS k(id, number)
        JOIN repayment_schedule s ON s.personal_account_id = k.id AND s.number = k.number
        LEFT JOIN instalment i ON i.schedule_id = s.id
        """,
        ids=[k[0] for k in keys],
        numbers=[k[1] for k in keys],
    )


def _stored_versus_file(
    *, groups: Mapping[Key, list[Row]], stored: Mapping[Key, list[Any]], problems: Problems, plan: Plan
) -> list[list[Row]]:
    """The new schedules; a stored one must bring the same head and the same instalments (a schedule is whole)."""
    new_groups = []
    for key, group in groups.items():
        first = group[0]
        if key not in stored:
            new_groups.append(group)
            plan.inserted += len(group)
            continue
        existing = stored[key]
        head = existing[0]
        diffs = differences(
            stored={
                "category": head.category,
                "agreed_on": head.agreed_on,
                "total": head.total,
                "correction bill": head.correction_bill_id,
            },
            new={
                "category": first["category"],
                "agreed_on": first["agreed_on"],
                "total": first["total"],
                "correction bill": first["correction_bill_id"],
            },
            names=("category", "agreed_on", "total", "correction bill"),
        )
        stored_instalments = sorted((r.due_on, r.amount, r.bill_id) for r in existing if r.due_on is not None)
        file_instalments = sorted((r["instalment_due_on"], r["instalment_amount"], r["bill_id"]) for r in group)
        if stored_instalments != file_instalments:
            only_stored = [i for i in stored_instalments if i not in file_instalments]
            only_file = [i for i in file_instalments if i not in stored_instalments]
            diffs.append(
                "instalments (stored only: "
                + (", ".join(f"{d} {a}" for d, a, _ in only_stored) or "none")
                + "; file only: "
                + (", ".join(f"{d} {a}" for d, a, _ in only_file) or "none")
                + ")"
            )
        if diffs:
            problems.add(
                first.line,
                conflict(
                    what=f"schedule {first['schedule_number']}",
                    diffs=diffs,
                    why="stored schedules are not changed by import",
                ),
            )
        else:
            plan.unchanged += len(group)
    return new_groups


def _writes(*, new_groups: list[list[Row]]) -> Apply:
    async def apply(session: AsyncSession) -> None:
        if not new_groups:
            return
        inserted = await insert_rows(
            session=session,
            table=RepaymentSchedule.__table__,
            rows=[
                {
                    "personal_account_id": g[0]["personal_account_id"],
                    "number": g[0]["schedule_number"],
                    "category": g[0]["category"],
                    "agreed_on": g[0]["agreed_on"],
                    "total": g[0]["total"],
                    "correction_bill_id": g[0]["correction_bill_id"],
                }
                for g in new_groups
            ],
            returning=("id", "personal_account_id", "number"),
        )
        ids = {(r.personal_account_id, r.number): r.id for r in inserted}
        await insert_rows(
            session=session,
            table=Instalment.__table__,
            rows=[
                {
                    "schedule_id": ids[(group[0]["personal_account_id"], group[0]["schedule_number"])],
                    "personal_account_id": row["personal_account_id"],
                    "due_on": row["instalment_due_on"],
                    "amount": row["instalment_amount"],
                    "bill_id": row["bill_id"],
                }
                for group in new_groups
                for row in sorted(group, key=lambda r: r["instalment_due_on"])
            ],
        )

    return apply
