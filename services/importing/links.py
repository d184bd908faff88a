"""Kind ``links``: link existing logins to personal accounts, as an admin's approval.

Columns (all required):

==============  ============================================================
login           an existing customer login (case-insensitive)
res_code        the RES of the personal account
account_number  the personal account
==============  ============================================================

Each row becomes an APPROVED activation request (method ADMIN_REVIEW,
at_registration true, decided now). A login that was still PENDING becomes
ACTIVE (its registration is approved); a BLOCKED one stays blocked.
A login already linked to the account is left unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from models import ActivationRequest
from models.base import ActivationMethod, ActivationStatus
from services.importing.cells import parse_account_number, parse_code, req, text_parser
from services.importing.lookups import fetch, fetch_by, lock_personal_accounts, resolve_personal_accounts
from services.importing.report import Plan, Problems
from services.importing.rows import Row, mark_duplicates, without_problems
from services.importing.writing import insert_rows

FIELDS = (
    req("login", text_parser(64)),
    req("res_code", parse_code),
    req("account_number", parse_account_number),
)


async def check(*, session: AsyncSession, rows: Sequence[Row], problems: Problems) -> Plan:
    rows = mark_duplicates(
        rows=rows,
        key=lambda r: (r["login"].lower(), r["res_code"], r["account_number"]),
        what="login and personal account",
        problems=problems,
    )
    logins = await fetch_by(
        session=session,
        key="login_lower",
        sql="SELECT lower(login) AS login_lower, id, role, status FROM account WHERE lower(login) = ANY(CAST(:l AS text[]))",
        l=sorted({r["login"].lower() for r in rows}),
    )
    for row in rows:
        account = logins.get(row["login"].lower())
        if account is None:
            problems.add(row.line, f"login: unknown login {row['login']!r}")
        elif account.role == "ADMIN":
            problems.add(row.line, f"login: {row['login']} is an admin; admins have no personal accounts")
        else:
            row.v["account"] = account
    rows = await resolve_personal_accounts(session=session, rows=rows, problems=problems)
    # No unique constraint stops a second APPROVED link: serialise on the personal accounts.
    await lock_personal_accounts(session=session, ids=(r["personal_account_id"] for r in rows))
    good = without_problems(rows=rows, problems=problems)
    linked = {
        (r.account_id, r.personal_account_id)
        for r in await fetch(
            session=session,
            sql="""
            SELECT account_id, personal_account_id FROM activation_request
            WHERE status = 'APPROVED' AND account_id = ANY(CAST(:ids AS bigint[]))
            """,
            ids=sorted({r["account"].id for r in good}),
        )
    }
    res_of = {
        r.id: r.res_id
        for r in await fetch(
            session=session,
            sql="SELECT id, res_id FROM personal_account WHERE id = ANY(CAST(:ids AS bigint[]))",
            ids=[r["personal_account_id"] for r in good],
        )
    }
    plan = Plan()
    inserts = []
    now = dt.datetime.now(dt.UTC)
    for row in good:
        if (row["account"].id, row["personal_account_id"]) in linked:
            plan.unchanged += 1
            continue
        inserts.append(
            {
                "account_id": row["account"].id,
                "res_id": res_of[row["personal_account_id"]],
                "personal_account_number": row["account_number"],
                "personal_account_id": row["personal_account_id"],
                "at_registration": True,
                "status": ActivationStatus.APPROVED.value,
                "method": ActivationMethod.ADMIN_REVIEW.value,
                "decided_at": now,
            }
        )
        plan.inserted += 1
    pending = sorted({r["account"].id for r in good if r["account"].status == "PENDING"})

    async def apply(session: AsyncSession) -> None:
        if inserts:
            await insert_rows(session=session, table=ActivationRequest.__table__, rows=inserts)
        if pending:
            await session.execute(
                text(
                    "UPDATE account SET status = 'ACTIVE' WHERE id = ANY(CAST(:ids AS bigint[])) AND status = 'PENDING'"
                ),
                {"ids": pending},
            )

    plan.apply = apply
    return plan
