"""Writing: one INSERT … SELECT FROM unnest(column arrays) per chunk, not a statement per row;
updates by key as one executemany."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import ARRAY, FromClause, Table, bindparam, text, update
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from services.importing.report import Apply

INSERT_CHUNK = 50_000
_DIALECT = postgresql.dialect()


def _array_literal(values: Sequence[Any] | None) -> str | None:
    if values is None:
        return None
    return "{" + ",".join(str(v) for v in values) + "}"


async def insert_rows(
    *, session: AsyncSession, table: FromClause, rows: Sequence[Mapping[str, Any]], returning: Sequence[str] = ()
) -> list[Any]:
    """Insert rows (dicts with the same keys) set-based; returns the ``returning`` columns of each inserted row.

    Each column travels as one typed array parameter and the rows are rebuilt
    by unnest, so a chunk is one statement whatever its size. Array columns
    (meter zones and values) travel as array literals in a text[] and are cast back.
    """
    if not rows:
        return []
    table = cast(Table, table)  # a model's __table__, which SQLAlchemy types as a FromClause
    names = list(rows[0].keys())
    selects, unnests = [], []
    for i, name in enumerate(names):
        column = table.c[name]
        type_sql = column.type.compile(dialect=_DIALECT)
        if isinstance(column.type, ARRAY):
            unnests.append(f"CAST(:c{i} AS text[])")
            selects.append(f"CAST(u.c{i} AS {type_sql})")
        else:
            unnests.append(f"CAST(:c{i} AS {type_sql}[])")
            selects.append(f"u.c{i}")
    sql = (
        f"INSERT INTO {table.name} ({', '.join(f'{chr(34)}{n}{chr(34)}' for n in names)}) "
        f"SELECT {', '.join(selects)} FROM unnest({', '.join(unnests)}) AS u({', '.join(f'c{i}' for i in range(len(names)))})"
    )
    if returning:
        sql += " RETURNING " + ", ".join(f'"{n}"' for n in returning)
    out: list[Any] = []
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        params = {}
        for i, name in enumerate(names):
            values = [r[name] for r in chunk]
            if isinstance(table.c[name].type, ARRAY):
                values = [_array_literal(v) for v in values]
            elif isinstance(table.c[name].type, SAEnum):
                values = [v.value if isinstance(v, enum.Enum) else v for v in values]
            params[f"c{i}"] = values
        result = await session.execute(text(sql), params)
        if returning:
            out.extend(result.all())
    return out


def inserting(*, table: FromClause, rows: Sequence[Mapping[str, Any]]) -> Apply:
    """A plan's writes when they are these rows inserted into one table."""

    async def apply(session: AsyncSession) -> None:
        await insert_rows(session=session, table=table, rows=rows)

    return apply


async def update_rows(
    *, session: AsyncSession, table: FromClause, rows: Sequence[Mapping[str, Any]], key: str = "id"
) -> None:
    """Set the other columns of each row (dicts with the same keys) on the record whose ``key`` column matches."""
    if not rows:
        return
    table = cast(Table, table)
    names = [n for n in rows[0] if n != key]
    # The key's parameter is renamed: a bound parameter may not share a name with a column being set.
    await session.execute(
        update(table).where(table.c[key] == bindparam(f"b_{key}")).values({n: bindparam(n) for n in names}),
        [{f"b_{key}": r[key], **{n: r[n] for n in names}} for r in rows],
    )
