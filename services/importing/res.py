"""Kind ``res``: district offices (РЕМ/РЭС) with their oblast and the supplier details of a bill.

Columns (all required):

==============  ==========================================================
code            the RES code, the key (e.g. ``0101``)
name            the RES name (``Горлівський РЕМ``)
oblast_code     the oblast's code (``14``); the oblast is created or renamed
oblast_name     the oblast's name (``Донецька область``)
supplier_name   the oblenergo printed on bills
edrpou          the supplier's ЄДРПОУ code, 8 (or 10) digits
iban            the supplier's account, ``UA`` + 27 digits, checksum verified
address         the supplier's address
==============  ==========================================================

Reference data: a row whose code exists updates the RES (and its oblast's name).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from models import Oblast, Res
from services.importing.cells import parse_code, req, text_parser
from services.importing.lookups import fetch_by
from services.importing.report import Plan, Problems
from services.importing.rows import Row, mark_duplicates
from services.importing.writing import insert_rows, update_rows


def parse_iban(value: str) -> str:
    iban = value.replace(" ", "").upper()
    if len(iban) != 29 or not iban.startswith("UA") or not iban[2:].isdigit():
        raise ValueError(f"{value!r} is not a Ukrainian IBAN (UA and 27 digits)")
    rearranged = iban[4:] + iban[:4]
    if int("".join(str(int(c, 36)) for c in rearranged)) % 97 != 1:
        raise ValueError(f"{value!r}: the IBAN checksum is wrong")
    return iban


FIELDS = (
    req("code", parse_code),
    req("name", text_parser(200)),
    req("oblast_code", parse_code),
    req("oblast_name", text_parser(200)),
    req("supplier_name", text_parser(300)),
    req("edrpou", text_parser(10, pattern=r"\d{8}|\d{10}", what="an ЄДРПОУ code of 8 (or 10) digits")),
    req("iban", parse_iban),
    req("address", text_parser(300)),
)
RES_FIELDS = ("name", "oblast_code", "supplier_name", "edrpou", "iban", "address")


async def check(*, session: AsyncSession, rows: Sequence[Row], problems: Problems) -> Plan:
    rows = mark_duplicates(rows=rows, key=lambda r: r["code"], what="code", problems=problems)
    oblast_names: dict[str, tuple[str, int]] = {}
    for row in rows:
        code, name = row["oblast_code"], row["oblast_name"]
        if code in oblast_names and oblast_names[code][0] != name:
            problems.add(
                row.line,
                f"oblast {code} is named {oblast_names[code][0]!r} on line {oblast_names[code][1]}, here {name!r}",
            )
        oblast_names.setdefault(code, (name, row.line))

    stored_res = await fetch_by(
        session=session,
        key="code",
        sql="SELECT id, code, name, oblast_code, supplier_name, edrpou, iban, address FROM res "
        "WHERE code = ANY(CAST(:codes AS text[]))",
        codes=[r["code"] for r in rows],
    )
    stored_oblasts = await fetch_by(
        session=session,
        key="code",
        sql="SELECT code, name FROM oblast WHERE code = ANY(CAST(:codes AS text[]))",
        codes=list(oblast_names),
    )

    plan = Plan()
    new_oblasts, renamed_oblasts, new_res, changed_res = [], [], [], []
    for code, (name, _line) in oblast_names.items():
        if code not in stored_oblasts:
            new_oblasts.append({"code": code, "name": name})
        elif stored_oblasts[code].name != name:
            renamed_oblasts.append({"code": code, "name": name})
    renamed = {o["code"] for o in renamed_oblasts}
    for row in rows:
        values = {k: row[k] for k in RES_FIELDS}
        stored = stored_res.get(row["code"])
        if stored is None:
            new_res.append({"code": row["code"], **values})
            plan.inserted += 1
        elif any(getattr(stored, k) != values[k] for k in RES_FIELDS) or row["oblast_code"] in renamed:
            changed_res.append({"id": stored.id, **values})
            plan.updated += 1
        else:
            plan.unchanged += 1

    async def apply(session: AsyncSession) -> None:
        await insert_rows(session=session, table=Oblast.__table__, rows=new_oblasts)
        await update_rows(session=session, table=Oblast.__table__, rows=renamed_oblasts, key="code")
        await insert_rows(session=session, table=Res.__table__, rows=new_res)
        await update_rows(session=session, table=Res.__table__, rows=changed_res)

    plan.apply = apply
    return plan
