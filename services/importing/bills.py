"""Kind ``bills``: historical bills of every kind.

Columns:

===================  ======================================================
number               the bill number, the key (a positive whole number)
res_code             the RES of the personal account
account_number       the personal account
category             ``ELECTRICITY``, ``ELECTRICITY_SCHEDULE``, ``ACTS``,
                     ``ACTS_SCHEDULE`` or ``SERVICES``
kind                 ``CONSUMPTION`` (ELECTRICITY), ``CORRECTION`` (any
                     category), ``ACT`` (ACTS), ``SERVICE`` (SERVICES),
                     ``INSTALLMENT`` (ELECTRICITY_SCHEDULE or ACTS_SCHEDULE)
issued_on            the date the bill was formed
period_start         optional; required for CONSUMPTION, with period_end
period_end           optional; on or before issued_on
reading_external_id  optional, CONSUMPTION only: the reading that formed it
                     (same personal account, taken on period_end)
due_on               optional; empty means the 20th of the month after issue
amount               UAH, 2 decimals; only a CORRECTION may be negative
===================  ======================================================

Bills are immutable: a number that exists with other data is refused.
Imported bills have source IMPORT. Afterwards the cabinet's bill numbers
(a sequence) continue after the highest bill number in the database.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from models import Bill
from models.base import BillKind, ChargeCategory, RecordSource
from services.billing import due_date
from services.importing.cells import (
    choice_parser,
    opt,
    parse_account_number,
    parse_bill_number,
    parse_code,
    parse_date,
    parse_external_id,
    parse_money,
    req,
)
from services.importing.lookups import fetch_by, lock_personal_accounts, resolve_personal_accounts
from services.importing.report import Plan, Problems
from services.importing.rows import Row, mark_duplicates, without_problems
from services.importing.stored import stored_versus_file
from services.importing.writing import insert_rows

FIELDS = (
    req("number", parse_bill_number),
    req("res_code", parse_code),
    req("account_number", parse_account_number),
    req("category", choice_parser(c.value for c in ChargeCategory)),
    req("kind", choice_parser(k.value for k in BillKind)),
    req("issued_on", parse_date),
    opt("period_start", parse_date),
    opt("period_end", parse_date),
    opt("reading_external_id", parse_external_id),
    opt("due_on", parse_date),
    req("amount", parse_money),
)
CATEGORIES_OF_KIND = {
    "CONSUMPTION": ("ELECTRICITY",),
    "CORRECTION": tuple(c.value for c in ChargeCategory),
    "ACT": ("ACTS",),
    "SERVICE": ("SERVICES",),
    "INSTALLMENT": ("ELECTRICITY_SCHEDULE", "ACTS_SCHEDULE"),
}
COMPARED = (
    "personal_account_id",
    "category",
    "kind",
    "issued_on",
    "period_start",
    "period_end",
    "reading_id",
    "due_on",
    "amount",
)


def _check_row(*, row: Row, problems: Problems) -> None:
    kind, category = row["kind"], row["category"]
    if category not in CATEGORIES_OF_KIND[kind]:
        problems.add(
            row.line,
            f"a bill of kind {kind} cannot be in category {category} (allowed: {', '.join(CATEGORIES_OF_KIND[kind])})",
        )
    if kind != "CORRECTION" and row["amount"] < 0:
        problems.add(row.line, f"amount: only a CORRECTION may be negative, this is a {kind} bill")
    start, end = row["period_start"], row["period_end"]
    if (start is None) != (end is None):
        problems.add(row.line, "period_start and period_end go together: give both or neither")
    elif start is not None:
        if start > end:
            problems.add(row.line, "period_start is after period_end")
        if end > row["issued_on"]:
            problems.add(row.line, "period_end is after issued_on: a bill is formed after its period")
    if kind == "CONSUMPTION" and start is None:
        problems.add(row.line, "a CONSUMPTION bill needs period_start and period_end")
    if row["reading_external_id"] is not None and kind != "CONSUMPTION":
        problems.add(row.line, "reading_external_id: only a CONSUMPTION bill is formed from a reading")
    if row["due_on"] is not None and row["due_on"] < row["issued_on"]:
        problems.add(row.line, "due_on is before issued_on")


async def check(*, session: AsyncSession, rows: Sequence[Row], problems: Problems) -> Plan:
    rows = mark_duplicates(rows=rows, key=lambda r: r["number"], what="number", problems=problems)
    for row in rows:
        _check_row(row=row, problems=problems)
        if row["due_on"] is None:
            row.v["due_on"] = due_date(row["issued_on"])
    rows = await resolve_personal_accounts(session=session, rows=rows, problems=problems)
    await lock_personal_accounts(session=session, ids=(r["personal_account_id"] for r in rows))

    readings = await fetch_by(
        session=session,
        key="external_id",
        sql="""
        SELECT mr.id, mr.external_id, mr.personal_account_id, mr.taken_on, b.number AS bill_number
        FROM meter_reading mr LEFT JOIN bill b ON b.reading_id = mr.id
        WHERE mr.external_id = ANY(CAST(:ids AS text[]))
        """,
        ids=[r["reading_external_id"] for r in rows if r["reading_external_id"]],
    )
    reading_users: dict[str, int] = {}
    for row in rows:
        ext = row["reading_external_id"]
        row.v["reading_id"] = None
        if ext is None:
            continue
        reading = readings.get(ext)
        if reading is None:
            problems.add(row.line, f"reading_external_id: unknown reading {ext!r}")
            continue
        if reading.personal_account_id != row["personal_account_id"]:
            problems.add(row.line, f"reading_external_id: reading {ext} is of another personal account")
            continue
        if row["period_end"] is not None and reading.taken_on != row["period_end"]:
            problems.add(
                row.line,
                f"reading_external_id: reading {ext} was taken on {reading.taken_on}, the period ends {row['period_end']}",
            )
            continue
        if reading.bill_number is not None and reading.bill_number != row["number"]:
            problems.add(row.line, f"reading_external_id: reading {ext} already formed bill {reading.bill_number}")
            continue
        if ext in reading_users:
            problems.add(row.line, f"reading_external_id: reading {ext} is also used by line {reading_users[ext]}")
            continue
        reading_users[ext] = row.line
        row.v["reading_id"] = reading.id

    good = without_problems(rows=rows, problems=problems)
    stored = await fetch_by(
        session=session,
        key="number",
        sql=f"SELECT number, {', '.join(COMPARED)} FROM bill WHERE number = ANY(CAST(:numbers AS bigint[]))",
        numbers=[r["number"] for r in good],
    )
    plan = Plan()
    new = stored_versus_file(
        rows=good,
        stored=stored,
        key=lambda r: r["number"],
        compared=COMPARED,
        what=lambda r: f"bill {r['number']}",
        problems=problems,
        plan=plan,
        why="bills are immutable (a mistake is corrected by a CORRECTION bill)",
    )
    inserts = [{k: r[k] for k in COMPARED} | {"number": r["number"], "source": RecordSource.IMPORT} for r in new]
    plan.inserted = len(inserts)

    highest = max((r["number"] for r in good), default=None)

    async def apply(session: AsyncSession) -> None:
        if inserts:
            await insert_rows(session=session, table=Bill.__table__, rows=inserts)
        if highest is not None:
            await bill_numbers_continue(session=session)

    plan.apply = apply
    return plan


async def bill_numbers_continue(*, session: AsyncSession) -> None:
    """Move the bill-number sequence past the highest bill number stored, never back.

    setval only runs when a stored number would otherwise come out of the sequence
    again, so it never races a submit's nextval into handing a number out twice.
    (A sequence is not transactional: a rolled-back import leaves it moved on, a gap.)
    """
    await session.execute(
        text(
            """
            SELECT setval('bill_number_seq', GREATEST(stored.highest, seq.last_value), true)
            FROM (SELECT max(number) AS highest FROM bill) AS stored, bill_number_seq AS seq
            WHERE stored.highest >= seq.last_value + CASE WHEN seq.is_called THEN 1 ELSE 0 END
            """
        )
    )
