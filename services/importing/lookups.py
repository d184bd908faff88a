"""Lookups of what rows refer to, one statement each whatever the number of rows, and the locks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.importing.report import Problems
from services.importing.rows import Row, group_by


async def fetch(*, session: AsyncSession, sql: str, **params: Any) -> list[Any]:
    return list((await session.execute(text(sql), params)).all())


def _getter(key: str | tuple[str, ...]) -> Any:
    return attrgetter(key) if isinstance(key, str) else attrgetter(*key)


async def fetch_by(*, session: AsyncSession, key: str | tuple[str, ...], sql: str, **params: Any) -> dict[Any, Any]:
    """The fetched records by their unique ``key`` (a column, or a tuple of columns for a tuple key)."""
    return {_getter(key)(r): r for r in await fetch(session=session, sql=sql, **params)}


async def fetch_grouped(
    *, session: AsyncSession, key: str | tuple[str, ...], sql: str, **params: Any
) -> dict[Any, list[Any]]:
    """The fetched records grouped by ``key``, for a key that is not unique (serial numbers, a schedule's instalments)."""
    return group_by(items=await fetch(session=session, sql=sql, **params), key=_getter(key))


async def res_ids(*, session: AsyncSession, codes: Iterable[str]) -> dict[str, int]:
    rows = await fetch(
        session=session,
        sql="SELECT code, id FROM res WHERE code = ANY(CAST(:codes AS text[]))",
        codes=sorted(set(codes)),
    )
    return {r.code: r.id for r in rows}


async def personal_account_ids(*, session: AsyncSession, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    keys = sorted(set(keys))
    if not keys:
        return {}
    rows = await fetch(
        session=session,
        sql="""
        SELECT r.code, pa.number, pa.id
        FROM unnest(CAST(:codes AS text[]), CAST(:numbers AS text[])) AS k(code, number)
        JOIN res r ON r.code = k.code
        JOIN personal_account pa ON pa.res_id = r.id AND pa.number = k.number
        """,
        codes=[k[0] for k in keys],
        numbers=[k[1] for k in keys],
    )
    return {(r.code, r.number): r.id for r in rows}


async def resolve_personal_accounts(
    *,
    session: AsyncSession,
    rows: Sequence[Row],
    problems: Problems,
    res_column: str = "res_code",
    number_column: str = "account_number",
) -> list[Row]:
    """Sets ``personal_account_id`` on each row; unknown RES or accounts are problems. Returns the resolved rows."""
    known_res = await res_ids(session=session, codes=(r[res_column] for r in rows))
    ids = await personal_account_ids(session=session, keys=((r[res_column], r[number_column]) for r in rows))
    resolved = []
    for row in rows:
        code, number = row[res_column], row[number_column]
        if code not in known_res:
            problems.add(row.line, f"{res_column}: unknown RES {code!r}")
        elif (code, number) not in ids:
            problems.add(row.line, f"unknown personal account {number} in RES {code}")
        else:
            row.v["personal_account_id"] = ids[(code, number)]
            resolved.append(row)
    return resolved


async def lock_personal_accounts(*, session: AsyncSession, ids: Iterable[int]) -> None:
    """Serialise with the cabinet's own writers, which lock the personal account (DESIGN §2)."""
    await session.execute(
        text("SELECT id FROM personal_account WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR UPDATE"),
        {"ids": sorted(set(ids))},
    )


async def bills_by_number(*, session: AsyncSession, numbers: Iterable[int]) -> dict[int, Any]:
    rows = await fetch(
        session=session,
        sql="""
        SELECT b.id, b.number, b.personal_account_id, b.category, b.kind, b.issued_on, b.amount,
               r.code AS res_code, pa.number AS account_number
        FROM bill b JOIN personal_account pa ON pa.id = b.personal_account_id JOIN res r ON r.id = pa.res_id
        WHERE b.number = ANY(CAST(:numbers AS bigint[]))
        """,
        numbers=sorted(set(numbers)),
    )
    return {r.number: r for r in rows}


def check_bill_reference(
    *,
    row: Row,
    column: str,
    bills: Mapping[int, Any],
    problems: Problems,
    kinds: Iterable[str] | None = None,
    category: str | None = None,
) -> Any | None:
    """The bill a row names, if it exists and belongs to the row's personal account (and fits kind/category)."""
    number = row[column]
    bill = bills.get(number)
    if bill is None:
        problems.add(row.line, f"{column}: unknown bill {number}")
        return None
    ok = True
    if bill.personal_account_id != row["personal_account_id"]:
        problems.add(
            row.line,
            f"{column}: bill {number} belongs to personal account {bill.account_number} in RES {bill.res_code}",
        )
        ok = False
    allowed = tuple(kinds) if kinds is not None else None
    if allowed is not None and bill.kind not in allowed:
        problems.add(row.line, f"{column}: bill {number} is a {bill.kind} bill, expected {' or '.join(allowed)}")
        ok = False
    if category is not None and bill.category != category:
        problems.add(row.line, f"{column}: bill {number} is in category {bill.category}, expected {category}")
        ok = False
    return bill if ok else None


def link_optional_bill(
    *,
    row: Row,
    column: str,
    bills: Mapping[int, Any],
    problems: Problems,
    kinds: Iterable[str] | None = None,
    category: str | None = None,
) -> Any | None:
    """Sets the row's ``bill_id`` from its optional bill column: the bill when it is a good reference
    (``check_bill_reference``), else None. Returns that bill."""
    row.v["bill_id"] = None
    if row[column] is None:
        return None
    bill = check_bill_reference(row=row, column=column, bills=bills, problems=problems, kinds=kinds, category=category)
    if bill is not None:
        row.v["bill_id"] = bill.id
    return bill
