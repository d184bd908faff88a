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

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from models import Instalment, RepaymentSchedule
from services.importing.common import (
    insert_rows,
    Plan,
    Problems,
    Row,
    bills_by_number,
    check_bill_reference,
    choice_parser,
    fetch,
    opt,
    parse_account_number,
    parse_bill_number,
    parse_code,
    parse_date,
    parse_positive_money,
    req,
    resolve_personal_accounts,
    show,
    text_parser,
)

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


async def check(session: AsyncSession, rows: Sequence[Row], problems: Problems) -> Plan:
    rows = await resolve_personal_accounts(session, rows, problems)
    groups: dict[tuple[int, str], list[Row]] = defaultdict(list)
    for row in rows:
        groups[(row["personal_account_id"], row["schedule_number"])].append(row)

    numbers = {r["correction_bill_number"] for r in rows} | {r["instalment_bill_number"] for r in rows if r["instalment_bill_number"]}
    bills = await bills_by_number(session, numbers)
    bill_ids = [b.id for b in bills.values()]
    used_corrections = {
        r.correction_bill_id: r
        for r in await fetch(
            session,
            "SELECT correction_bill_id, personal_account_id, number FROM repayment_schedule "
            "WHERE correction_bill_id = ANY(CAST(:ids AS bigint[]))",
            ids=bill_ids,
        )
    }
    used_instalment_bills = {
        r.bill_id: r
        for r in await fetch(
            session,
            """
            SELECT i.bill_id, s.personal_account_id, s.number FROM instalment i
            JOIN repayment_schedule s ON s.id = i.schedule_id WHERE i.bill_id = ANY(CAST(:ids AS bigint[]))
            """,
            ids=bill_ids,
        )
    }
    bill_users: dict[int, tuple[tuple[int, str], int]] = {}  # bill id -> (schedule key, line) in this file

    def claim(row: Row, key: tuple[int, str], bill_id: int, column: str) -> None:
        user = bill_users.get(bill_id)
        if user is not None and (user[0] != key or column == "instalment_bill_number"):
            problems.add(row.line, f"{column}: bill {row[column]} is also used on line {user[1]}")
        bill_users.setdefault(bill_id, (key, row.line))

    good_groups: dict[tuple[int, str], list[Row]] = {}
    for key, group in groups.items():
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
        seen_dates: dict = {}
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

        # The correction bill: −total in the source category, issued on the agreement date.
        source = SOURCE_CATEGORY[first["category"]]
        bill = check_bill_reference(first, "correction_bill_number", bills, problems, kinds=("CORRECTION",), category=source)
        if bill is None:
            ok = False
        else:
            if bill.amount != -first["total"]:
                problems.add(first.line, f"correction_bill_number: bill {bill.number} is for {bill.amount}, expected {-first['total']}")
                ok = False
            if bill.issued_on != first["agreed_on"]:
                problems.add(
                    first.line,
                    f"correction_bill_number: bill {bill.number} was issued on {bill.issued_on}, "
                    f"the schedule agreed on {first['agreed_on']}",
                )
                ok = False
            user = used_corrections.get(bill.id)
            if user is not None and (user.personal_account_id, user.number) != key:
                problems.add(first.line, f"correction_bill_number: bill {bill.number} belongs to schedule {user.number}")
                ok = False
            claim(first, key, bill.id, "correction_bill_number")
            first.v["correction_bill_id"] = bill.id

        for row in group:
            row.v["bill_id"] = None
            if row["instalment_bill_number"] is None:
                continue
            bill = check_bill_reference(
                row, "instalment_bill_number", bills, problems, kinds=("INSTALLMENT",), category=first["category"]
            )
            if bill is None:
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
            user = used_instalment_bills.get(bill.id)
            if user is not None and (user.personal_account_id, user.number) != key:
                problems.add(row.line, f"instalment_bill_number: bill {bill.number} belongs to schedule {user.number}")
                ok = False
            claim(row, key, bill.id, "instalment_bill_number")
            row.v["bill_id"] = bill.id
        if ok:
            good_groups[key] = group

    stored_rows = await fetch(
        session,
        """
        SELECT s.id, s.personal_account_id, s.number, s.category, s.agreed_on, s.total, s.correction_bill_id,
               i.due_on, i.amount, i.bill_id
        FROM unnest(CAST(:ids AS bigint[]), CAST(:numbers AS text[])) AS k(id, number)
        JOIN repayment_schedule s ON s.personal_account_id = k.id AND s.number = k.number
        LEFT JOIN instalment i ON i.schedule_id = s.id
        """,
        ids=[k[0] for k in good_groups],
        numbers=[k[1] for k in good_groups],
    )
    stored: dict[tuple[int, str], list] = defaultdict(list)
    for r in stored_rows:
        stored[(r.personal_account_id, r.number)].append(r)

    plan = Plan()
    new_groups = []
    for key, group in good_groups.items():
        first = group[0]
        if key not in stored:
            new_groups.append(group)
            plan.inserted += len(group)
            continue
        existing = stored[key]
        head = existing[0]
        diffs = []
        for column, stored_value, file_value in (
            ("category", head.category, first["category"]),
            ("agreed_on", head.agreed_on, first["agreed_on"]),
            ("total", head.total, first["total"]),
            ("correction bill", head.correction_bill_id, first["correction_bill_id"]),
        ):
            if stored_value != file_value:
                diffs.append(f"{column} (stored {show(stored_value)}, file {show(file_value)})")
        stored_instalments = sorted((r.due_on, r.amount, r.bill_id) for r in existing if r.due_on is not None)
        file_instalments = sorted((r["instalment_due_on"], r["instalment_amount"], r["bill_id"]) for r in group)
        if stored_instalments != file_instalments:
            only_stored = [i for i in stored_instalments if i not in file_instalments]
            only_file = [i for i in file_instalments if i not in stored_instalments]
            diffs.append(
                "instalments (stored only: " + (", ".join(f"{d} {a}" for d, a, _ in only_stored) or "none")
                + "; file only: " + (", ".join(f"{d} {a}" for d, a, _ in only_file) or "none") + ")"
            )
        if diffs:
            problems.add(
                first.line,
                f"schedule {first['schedule_number']} already exists with different data: {', '.join(diffs)}; "
                "stored schedules are not changed by import",
            )
        else:
            plan.unchanged += len(group)

    async def apply(session: AsyncSession) -> None:
        if not new_groups:
            return
        inserted = await insert_rows(
            session,
            RepaymentSchedule.__table__,
            [
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
            session,
            Instalment.__table__,
            [
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

    plan.apply = apply
    return plan
