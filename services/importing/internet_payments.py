"""Kind ``internet-payments``: card payments made in the cabinet before it kept them itself.

Columns:

===============  ==========================================================
external_id      the utility's id of the payment, the key
number           the payment's number shown to people (ID платежу), unique
res_code         the RES of the personal account
account_number   the personal account
login            optional: the cabinet login that made the payment
amount           UAH, 2 decimals, > 0
category         the charge category it pays
bill_number      optional: the bill it was made for (same account and category)
created_at       timestamp with offset, e.g. ``2014-04-10T12:41:05+03:00``
confirmed_at     when the bank confirmed it; required for PROCESSED and
                 REVERSED, empty for FAILED and EXPIRED
status           ``PROCESSED``, ``FAILED``, ``EXPIRED`` or ``REVERSED``
bank_payment_id  optional: the bank's id of the transaction
reversed_at      REVERSED only (required there): when the bank reversed it
===============  ==========================================================

expires_at is created_at + 15 minutes. A PROCESSED payment also creates
exactly one Payment (channel INTERNET, paid on the Kyiv date of
confirmed_at); a REVERSED one creates that Payment and its negative
reversal (paid on the Kyiv date of reversed_at). Re-importing creates
nothing more. A stored PROCESSED payment may become REVERSED by a later
file (its reversal is then written); any other difference is refused.
Afterwards the cabinet's numbering continues after the highest number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from kyiv import kyiv_date
from models import InternetPayment, Payment
from models.base import ChargeCategory, PaymentChannel
from services.importing.cells import (
    choice_parser,
    int_parser,
    opt,
    parse_account_number,
    parse_bill_number,
    parse_code,
    parse_external_id,
    parse_positive_money,
    parse_timestamp,
    req,
    text_parser,
)
from services.importing.lookups import bills_by_number, fetch_by, link_optional_bill, resolve_personal_accounts
from services.importing.report import Apply, Plan, Problems
from services.importing.rows import Row, mark_duplicates, without_problems
from services.importing.stored import conflict, differences
from services.importing.writing import insert_rows, update_rows

EXPIRY = dt.timedelta(minutes=15)
STATUSES = ("PROCESSED", "FAILED", "EXPIRED", "REVERSED")
FIELDS = (
    req("external_id", parse_external_id),
    req("number", int_parser(1, 999_999_999_999)),
    req("res_code", parse_code),
    req("account_number", parse_account_number),
    opt("login", text_parser(64)),
    req("amount", parse_positive_money),
    req("category", choice_parser(c.value for c in ChargeCategory)),
    opt("bill_number", parse_bill_number),
    req("created_at", parse_timestamp),
    opt("confirmed_at", parse_timestamp),
    req("status", choice_parser(STATUSES)),
    opt("bank_payment_id", text_parser(64)),
    opt("reversed_at", parse_timestamp),
)
COMPARED = (
    "number",
    "personal_account_id",
    "account_id",
    "amount",
    "category",
    "bill_id",
    "created_at",
    "confirmed_at",
    "bank_payment_id",
)
CREDITED = ("PROCESSED", "REVERSED")  # the statuses that have a Payment
REVERSAL_ONLY = "only PROCESSED → REVERSED is taken from a later file"


@dataclass(frozen=True, slots=True)
class _Reversal:
    """A reversal to write: the internet payment, its credit (None until the credit is inserted) and the file's row."""

    internet_payment_id: int
    credit_id: int | None
    row: Row


async def check(*, session: AsyncSession, rows: Sequence[Row], problems: Problems) -> Plan:
    rows = mark_duplicates(rows=rows, key=lambda r: r["external_id"], what="external_id", problems=problems)
    rows = mark_duplicates(rows=rows, key=lambda r: r["number"], what="number", problems=problems)
    for row in rows:
        _status_fits_the_times(row=row, problems=problems)
    rows = await resolve_personal_accounts(session=session, rows=rows, problems=problems)
    await _link_logins(session=session, rows=rows, problems=problems)
    bills = await bills_by_number(session=session, numbers=(r["bill_number"] for r in rows if r["bill_number"]))
    for row in rows:
        link_optional_bill(row=row, column="bill_number", bills=bills, problems=problems, category=row["category"])

    good = without_problems(rows=rows, problems=problems)
    stored = await _stored_payments(session=session, rows=good)
    numbers_taken = await _numbers_taken(session=session, rows=good)
    plan = Plan()
    new_rows = [
        row
        for row in good
        if row["external_id"] not in stored and _number_is_free(row=row, numbers_taken=numbers_taken, problems=problems)
    ]
    plan.inserted = len(new_rows)
    reversals = _stored_versus_file(
        rows=[r for r in good if r["external_id"] in stored], stored=stored, problems=problems, plan=plan
    )
    plan.apply = _writes(new_rows=new_rows, reversals=reversals, renumber=bool(good))
    return plan


def _status_fits_the_times(*, row: Row, problems: Problems) -> None:
    """Confirmed exactly when PROCESSED or REVERSED, reversed exactly when REVERSED, each time after the one before."""
    status, confirmed, reversed_at = row["status"], row["confirmed_at"], row["reversed_at"]
    if status in CREDITED and confirmed is None:
        problems.add(row.line, f"confirmed_at: required for a {status} payment")
    if status in ("FAILED", "EXPIRED") and confirmed is not None:
        problems.add(row.line, f"confirmed_at: the payment is {status}, it was never confirmed; leave it empty")
    if status == "REVERSED" and reversed_at is None:
        problems.add(row.line, "reversed_at: required for a REVERSED payment")
    if status != "REVERSED" and reversed_at is not None:
        problems.add(row.line, "reversed_at: only a REVERSED payment has one")
    if confirmed is not None and confirmed < row["created_at"]:
        problems.add(row.line, "confirmed_at is before created_at")
    if confirmed is not None and reversed_at is not None and reversed_at < confirmed:
        problems.add(row.line, "reversed_at is before confirmed_at")


async def _link_logins(*, session: AsyncSession, rows: Sequence[Row], problems: Problems) -> None:
    """Sets each row's ``account_id`` from its optional login (case-insensitive); an unknown login is a problem."""
    logins = await fetch_by(
        session=session,
        key="login_lower",
        sql="SELECT lower(login) AS login_lower, id FROM account WHERE lower(login) = ANY(CAST(:logins AS text[]))",
        logins=sorted({r["login"].lower() for r in rows if r["login"]}),
    )
    for row in rows:
        row.v["account_id"] = None
        if row["login"]:
            account = logins.get(row["login"].lower())
            if account is None:
                problems.add(row.line, f"login: unknown login {row['login']!r}")
            row.v["account_id"] = None if account is None else account.id


async def _stored_payments(*, session: AsyncSession, rows: Sequence[Row]) -> dict[str, Any]:
    """The stored internet payments by external id, with their credit and the date of their reversal."""
    return await fetch_by(
        session=session,
        key="external_id",
        sql=f"""
        SELECT ip.id, ip.external_id, ip.status, {", ".join("ip." + c for c in COMPARED)},
               (SELECT p.id FROM payment p WHERE p.internet_payment_id = ip.id
                 AND p.reverses_payment_id IS NULL) AS credit_id,
               (SELECT p.paid_on FROM payment p WHERE p.internet_payment_id = ip.id
                 AND p.reverses_payment_id IS NOT NULL) AS reversed_on
        FROM internet_payment ip WHERE ip.external_id = ANY(CAST(:ids AS text[]))
        """,
        ids=[r["external_id"] for r in rows],
    )


async def _numbers_taken(*, session: AsyncSession, rows: Sequence[Row]) -> dict[int, Any]:
    return await fetch_by(
        session=session,
        key="number",
        sql="SELECT number, external_id FROM internet_payment WHERE number = ANY(CAST(:numbers AS bigint[]))",
        numbers=[r["number"] for r in rows],
    )


def _number_is_free(*, row: Row, numbers_taken: Mapping[int, Any], problems: Problems) -> bool:
    """A new payment's number is no other internet payment's (the cabinet's own have no external id)."""
    holder = numbers_taken.get(row["number"])
    if holder is None:
        return True
    by = f"external id {holder.external_id}" if holder.external_id else "a payment made in the cabinet"
    problems.add(row.line, f"number {row['number']} is already used by another internet payment ({by})")
    return False


# Not stored.stored_versus_file: a stored payment here has three outcomes, not two. Besides
# unchanged and refused, a PROCESSED one that the file brings REVERSED is updated (its reversal
# is written), and the status and the reversal date are compared by that rule, not as columns.
def _stored_versus_file(
    *, rows: Sequence[Row], stored: Mapping[str, Any], problems: Problems, plan: Plan
) -> list[_Reversal]:
    """The stored PROCESSED payments the file reverses; the other stored payments must bring the same data."""
    reversals = []
    for row in rows:
        existing = stored[row["external_id"]]
        diffs = differences(stored=existing._mapping, new=row.v, names=COMPARED) + _status_differences(
            row=row, existing=existing
        )
        if diffs:
            problems.add(
                row.line, conflict(what=f"internet payment {row['external_id']}", diffs=diffs, why=REVERSAL_ONLY)
            )
        elif existing.status == row["status"]:
            plan.unchanged += 1
        elif existing.credit_id is None:
            problems.add(row.line, f"internet payment {row['external_id']} is PROCESSED but has no credit to reverse")
        else:
            reversals.append(_Reversal(existing.id, existing.credit_id, row))
            plan.updated += 1
    return reversals


def _status_differences(*, row: Row, existing: Any) -> list[str]:
    """A status may only go PROCESSED → REVERSED; a payment reversed already keeps its reversal date."""
    if existing.status != row["status"]:
        if existing.status == "PROCESSED" and row["status"] == "REVERSED":
            return []
        return [f"status (stored {existing.status}, file {row['status']})"]
    if row["status"] == "REVERSED" and existing.reversed_on != kyiv_date(row["reversed_at"]):
        return [f"reversal date (stored {existing.reversed_on}, file {kyiv_date(row['reversed_at'])})"]
    return []


def _writes(*, new_rows: Sequence[Row], reversals: Sequence[_Reversal], renumber: bool) -> Apply:
    async def apply(session: AsyncSession) -> None:
        ids = await _insert_internet_payments(session=session, rows=new_rows)
        credit_ids = await _insert_credits(
            session=session, credited=[(ids[r["external_id"]], r) for r in new_rows if r["status"] in CREDITED]
        )
        await update_rows(
            session=session,
            table=InternetPayment.__table__,
            rows=[{"id": r.internet_payment_id, "status": "REVERSED"} for r in reversals],
        )
        reversed_new = [
            _Reversal(ids[r["external_id"]], credit_ids[ids[r["external_id"]]], r)
            for r in new_rows
            if r["status"] == "REVERSED"
        ]
        await _insert_reversals(session=session, reversals=[*reversed_new, *reversals])
        if renumber:
            await continue_numbering(session=session)

    return apply


async def _insert_internet_payments(*, session: AsyncSession, rows: Sequence[Row]) -> dict[str, int]:
    """Inserts the new internet payments; their ids by external id."""
    inserted = await insert_rows(
        session=session,
        table=InternetPayment.__table__,
        rows=[
            {
                "external_id": r["external_id"],
                "status": r["status"],
                "expires_at": r["created_at"] + EXPIRY,
                **{c: r[c] for c in COMPARED},
            }
            for r in rows
        ],
        returning=("id", "external_id"),
    )
    return {x.external_id: x.id for x in inserted}


async def _insert_credits(*, session: AsyncSession, credited: Sequence[tuple[int, Row]]) -> dict[int, int]:
    """Inserts the Payment of each (internet payment id, row); the Payments' ids by internet payment id."""
    inserted = await insert_rows(
        session=session,
        table=Payment.__table__,
        rows=[_credit(internet_payment_id, row) for internet_payment_id, row in credited],
        returning=("id", "internet_payment_id"),
    )
    return {x.internet_payment_id: x.id for x in inserted}


async def _insert_reversals(*, session: AsyncSession, reversals: Sequence[_Reversal]) -> None:
    """The negative Payment of each reversal, paid on the Kyiv date of reversed_at."""
    await insert_rows(
        session=session,
        table=Payment.__table__,
        rows=[
            {
                **_credit(r.internet_payment_id, r.row),
                "amount": -r.row["amount"],
                "paid_on": kyiv_date(r.row["reversed_at"]),
                "reverses_payment_id": r.credit_id,
            }
            for r in reversals
        ],
    )


def _credit(internet_payment_id: int, row: Row) -> dict[str, Any]:
    return {
        "personal_account_id": row["personal_account_id"],
        "paid_on": kyiv_date(row["confirmed_at"]),
        "amount": row["amount"],
        "category": row["category"],
        "channel": PaymentChannel.INTERNET.value,
        "bill_id": row["bill_id"],
        "internet_payment_id": internet_payment_id,
    }


async def continue_numbering(*, session: AsyncSession) -> None:
    """The identity of internet_payment.number continues after the highest number stored.

    Never moves the sequence back below a value it has already handed out.
    (A sequence is not transactional: a rolled-back import leaves it moved on, which is harmless.)
    """
    sequence = (await session.execute(text("SELECT pg_get_serial_sequence('internet_payment', 'number')"))).scalar_one()
    highest = (await session.execute(text("SELECT max(number) FROM internet_payment"))).scalar_one()
    if highest is None:
        return
    state = (await session.execute(text(f"SELECT last_value, is_called FROM {sequence}"))).one()
    issued = state.last_value if state.is_called else 0
    await session.execute(
        text("SELECT setval(CAST(:seq AS regclass), :value, true)"), {"seq": sequence, "value": max(highest, issued)}
    )
