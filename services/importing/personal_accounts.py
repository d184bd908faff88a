"""Kind ``personal-accounts``: the utility's personal accounts (особові рахунки).

Columns (all required):

==============  ==========================================================
res_code        the RES (must exist: import ``res`` first)
number          the personal account number within the RES (``0101010``)
holder_name     the holder's full name
address         the supply address
==============  ==========================================================

The key is (res_code, number). Reference data: an existing account's
holder name and address are updated from the file.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from models import PersonalAccount
from services.importing.cells import parse_account_number, parse_code, req, text_parser
from services.importing.lookups import fetch_by, res_ids
from services.importing.report import Plan, Problems
from services.importing.rows import Row, mark_duplicates
from services.importing.writing import insert_rows, update_rows

FIELDS = (
    req("res_code", parse_code),
    req("number", parse_account_number),
    req("holder_name", text_parser(200)),
    req("address", text_parser(300)),
)


async def check(*, session: AsyncSession, rows: Sequence[Row], problems: Problems) -> Plan:
    rows = mark_duplicates(
        rows=rows, key=lambda r: (r["res_code"], r["number"]), what="res_code and number", problems=problems
    )
    known_res = await res_ids(session=session, codes=(r["res_code"] for r in rows))
    good = []
    for row in rows:
        if row["res_code"] not in known_res:
            problems.add(row.line, f"res_code: unknown RES {row['res_code']!r}")
        else:
            good.append(row)
    stored = await fetch_by(
        session=session,
        key=("res_id", "number"),
        sql="""
        SELECT pa.id, pa.res_id, pa.number, pa.holder_name, pa.address
        FROM unnest(CAST(:res AS int[]), CAST(:numbers AS text[])) AS k(res_id, number)
        JOIN personal_account pa ON pa.res_id = k.res_id AND pa.number = k.number
        """,
        res=[known_res[r["res_code"]] for r in good],
        numbers=[r["number"] for r in good],
    )
    plan = Plan()
    new, changed = [], []
    for row in good:
        res_id = known_res[row["res_code"]]
        existing = stored.get((res_id, row["number"]))
        values = {"holder_name": row["holder_name"], "address": row["address"]}
        if existing is None:
            new.append({"res_id": res_id, "number": row["number"], **values})
            plan.inserted += 1
        elif (existing.holder_name, existing.address) != (row["holder_name"], row["address"]):
            changed.append({"id": existing.id, **values})
            plan.updated += 1
        else:
            plan.unchanged += 1

    async def apply(session: AsyncSession) -> None:
        await insert_rows(session=session, table=PersonalAccount.__table__, rows=new)
        await update_rows(session=session, table=PersonalAccount.__table__, rows=changed)

    plan.apply = apply
    return plan
