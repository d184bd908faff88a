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
from collections.abc import Sequence

from sqlalchemy import bindparam, text, update
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
from services.importing.lookups import bills_by_number, check_bill_reference, fetch, resolve_personal_accounts
from services.importing.report import Plan, Problems
from services.importing.rows import Row, mark_duplicates
from services.importing.stored import differences
from services.importing.writing import insert_rows

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
    "number", "personal_account_id", "account_id", "amount", "category", "bill_id", "created_at",
    "confirmed_at", "bank_payment_id",
)


def _check_row(*, row: Row, problems: Problems) -> None:
    status, confirmed, reversed_at = row["status"], row["confirmed_at"], row["reversed_at"]
    if status in ("PROCESSED", "REVERSED") and confirmed is None:
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


async def check(*, session: AsyncSession, rows: Sequence[Row], problems: Problems) -> Plan:
    rows = mark_duplicates(rows=rows, key=lambda r: r["external_id"], what="external_id", problems=problems)
    rows = mark_duplicates(rows=rows, key=lambda r: r["number"], what="number", problems=problems)
    for row in rows:
        _check_row(row=row, problems=problems)
    rows = await resolve_personal_accounts(session=session, rows=rows, problems=problems)

    logins = {
        r.login_lower: r.id
        for r in await fetch(
            session=session,
            sql="SELECT lower(login) AS login_lower, id FROM account WHERE lower(login) = ANY(CAST(:logins AS text[]))",
            logins=sorted({r["login"].lower() for r in rows if r["login"]}),
        )
    }
    bills = await bills_by_number(session=session, numbers=(r["bill_number"] for r in rows if r["bill_number"]))
    for row in rows:
        row.v["account_id"] = None
        if row["login"]:
            account_id = logins.get(row["login"].lower())
            if account_id is None:
                problems.add(row.line, f"login: unknown login {row['login']!r}")
            row.v["account_id"] = account_id
        row.v["bill_id"] = None
        if row["bill_number"] is not None:
            bill = check_bill_reference(row=row, column="bill_number", bills=bills, problems=problems, category=row["category"])
            if bill is not None:
                row.v["bill_id"] = bill.id

    good = [r for r in rows if not problems.bad(r.line)]
    stored = {
        r.external_id: r
        for r in await fetch(
            session=session,
            sql=f"""
            SELECT ip.id, ip.external_id, ip.status, {', '.join('ip.' + c for c in COMPARED)},
                   (SELECT p.id FROM payment p WHERE p.internet_payment_id = ip.id
                     AND p.reverses_payment_id IS NULL) AS credit_id,
                   (SELECT p.paid_on FROM payment p WHERE p.internet_payment_id = ip.id
                     AND p.reverses_payment_id IS NOT NULL) AS reversed_on
            FROM internet_payment ip WHERE ip.external_id = ANY(CAST(:ids AS text[]))
            """,
            ids=[r["external_id"] for r in good],
        )
    }
    numbers_taken = {
        r.number: r.external_id
        for r in await fetch(
            session=session,
            sql="SELECT number, external_id FROM internet_payment WHERE number = ANY(CAST(:numbers AS bigint[]))",
            numbers=[r["number"] for r in good],
        )
    }

    plan = Plan()
    new_rows: list[Row] = []
    reversals: list[tuple[Row, object]] = []  # stored PROCESSED payments the file reverses
    for row in good:
        existing = stored.get(row["external_id"])
        if existing is None:
            holder = numbers_taken.get(row["number"], False)
            if holder is not False:
                by = f"external id {holder}" if holder else "a payment made in the cabinet"
                problems.add(row.line, f"number {row['number']} is already used by another internet payment ({by})")
                continue
            new_rows.append(row)
            plan.inserted += 1
            continue
        diffs = differences(stored=existing._mapping, new=row.v, names=COMPARED)
        status_change = existing.status != row["status"]
        if status_change and not (existing.status == "PROCESSED" and row["status"] == "REVERSED"):
            diffs.append(f"status (stored {existing.status}, file {row['status']})")
        if (
            not status_change
            and row["status"] == "REVERSED"
            and existing.reversed_on != kyiv_date(row["reversed_at"])
        ):
            diffs.append(f"reversal date (stored {existing.reversed_on}, file {kyiv_date(row['reversed_at'])})")
        if diffs:
            problems.add(
                row.line,
                f"internet payment {row['external_id']} already exists with different data: {', '.join(diffs)}; "
                "only PROCESSED → REVERSED is taken from a later file",
            )
        elif status_change and existing.credit_id is None:
            problems.add(row.line, f"internet payment {row['external_id']} is PROCESSED but has no credit to reverse")
        elif status_change:
            reversals.append((row, existing))
            plan.updated += 1
        else:
            plan.unchanged += 1

    async def apply(session: AsyncSession) -> None:
        credits: list[dict] = []
        reversal_rows: list[tuple[int, Row]] = []  # (internet payment id, row)
        if new_rows:
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
                    for r in new_rows
                ],
                returning=("id", "external_id"),
            )
            ids = {x.external_id: x.id for x in inserted}
            for r in new_rows:
                internet_payment_id = ids[r["external_id"]]
                if r["status"] in ("PROCESSED", "REVERSED"):
                    credits.append(_credit(internet_payment_id, r))
                if r["status"] == "REVERSED":
                    reversal_rows.append((internet_payment_id, r))
        credit_ids: dict[int, int] = {}
        if credits:
            inserted = await insert_rows(session=session, table=Payment.__table__, rows=credits, returning=("id", "internet_payment_id"))
            credit_ids = {x.internet_payment_id: x.id for x in inserted}
        if reversals:
            await session.execute(
                update(InternetPayment.__table__)
                .where(InternetPayment.__table__.c.id == bindparam("b_id"))
                .values(status="REVERSED"),
                [{"b_id": existing.id} for _, existing in reversals],
            )
            for row, existing in reversals:
                credit_ids[existing.id] = existing.credit_id
                reversal_rows.append((existing.id, row))
        if reversal_rows:
            await insert_rows(
                session=session,
                table=Payment.__table__,
                rows=[
                    {
                        **_credit(internet_payment_id, r),
                        "amount": -r["amount"],
                        "paid_on": kyiv_date(r["reversed_at"]),
                        "reverses_payment_id": credit_ids[internet_payment_id],
                    }
                    for internet_payment_id, r in reversal_rows
                ],
            )
        if good:
            await continue_numbering(session=session)

    plan.apply = apply
    return plan


def _credit(internet_payment_id: int, row: Row) -> dict:
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
    sequence = (
        await session.execute(text("SELECT pg_get_serial_sequence('internet_payment', 'number')"))
    ).scalar_one()
    highest = (await session.execute(text("SELECT max(number) FROM internet_payment"))).scalar_one()
    if highest is None:
        return
    state = (await session.execute(text(f"SELECT last_value, is_called FROM {sequence}"))).one()
    issued = state.last_value if state.is_called else 0
    await session.execute(text("SELECT setval(CAST(:seq AS regclass), :value, true)"), {"seq": sequence, "value": max(highest, issued)})
