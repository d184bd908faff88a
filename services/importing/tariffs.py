"""Kind ``tariffs``: tariff versions, one row per price block.

Columns:

============  ==============================================================
valid_from    the date the version is in force from; the key of a version
mode          ``INCREMENTAL``, ``WHOLE_VOLUME`` or ``FLAT`` (same on all its rows)
name          the version's name (same on all its rows)
block         1, 2, 3… in ascending bounds
upper_bound   kWh per month; empty for the open top block
price         UAH per kWh with VAT, at most 4 decimals
============  ==============================================================

The rows of one valid_from form a version: blocks numbered from 1 without
gaps, bounds increasing, the last block open, exactly one block when FLAT.
Published tariffs are immutable: a version that exists with other blocks,
mode or name is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from models import Tariff, TariffBlock
from models.base import TariffMode
from services import pricing
from services.importing.cells import choice_parser, int_parser, opt, parse_date, parse_price, req, text_parser
from services.importing.lookups import fetch_grouped
from services.importing.report import Apply, Plan, Problems
from services.importing.rows import Row, group_by, mark_duplicates
from services.importing.stored import conflict
from services.importing.writing import insert_rows

FIELDS = (
    req("valid_from", parse_date),
    req("mode", choice_parser(m.value for m in TariffMode)),
    req("name", text_parser(200)),
    req("block", int_parser(1, 50)),
    opt("upper_bound", int_parser(1, 2_000_000_000)),
    req("price", parse_price),
)


def _blocks(rows: Sequence[Row]) -> list[tuple[int, int | None, Decimal]]:
    return sorted((r["block"], r["upper_bound"], r["price"]) for r in rows)


async def check(*, session: AsyncSession, rows: Sequence[Row], problems: Problems) -> Plan:
    rows = mark_duplicates(
        rows=rows, key=lambda r: (r["valid_from"], r["block"]), what="valid_from and block", problems=problems
    )
    versions = {
        valid_from: group
        for valid_from, group in group_by(items=rows, key=lambda r: r["valid_from"]).items()
        if _version_valid(valid_from=valid_from, group=group, problems=problems)
    }
    stored = await _stored_versions(session=session, dates=list(versions))
    plan = Plan()
    new_versions = []
    for valid_from, group in versions.items():
        if valid_from not in stored:
            new_versions.append(_Version(valid_from, group[0]["mode"], group[0]["name"], _blocks(group)))
            plan.inserted += len(group)
        elif _same_as_stored(valid_from=valid_from, group=group, stored=stored[valid_from], problems=problems):
            plan.unchanged += len(group)
    plan.apply = _inserting(new_versions)
    return plan


@dataclass(frozen=True, slots=True)
class _Version:
    valid_from: dt.date
    mode: str
    name: str
    blocks: list[tuple[int, int | None, Decimal]]


def _version_valid(*, valid_from: dt.date, group: Sequence[Row], problems: Problems) -> bool:
    """One mode and name on all its rows, blocks numbered 1..n, and a tariff pricing accepts."""
    first = group[0]
    ok = True
    for row in group[1:]:
        for column in ("mode", "name"):
            if row[column] != first[column]:
                problems.add(row.line, f"{column} differs from line {first.line} of the tariff valid from {valid_from}")
                ok = False
    numbers = sorted(r["block"] for r in group)
    if numbers != list(range(1, len(group) + 1)):
        problems.add(
            first.line, f"tariff valid from {valid_from}: blocks must be numbered 1..{len(group)}, got {numbers}"
        )
        ok = False
    if not ok:
        return False
    try:
        pricing.TariffVersion(
            id=None,
            valid_from=valid_from,
            mode=first["mode"],
            blocks=[pricing.TariffBlock(bound, price) for _, bound, price in _blocks(group)],
            name=first["name"],
        )
    except (ValueError, TypeError) as e:
        problems.add(first.line, f"tariff valid from {valid_from}: {e}")
        return False
    return True


async def _stored_versions(*, session: AsyncSession, dates: Sequence[dt.date]) -> dict:
    """The stored versions of these dates, a row per block (one with no block for a version without)."""
    return await fetch_grouped(
        session=session,
        key="valid_from",
        sql="""
        SELECT t.id, t.valid_from, t.mode, t.name, b.block, b.upper_bound, b.price
        FROM tariff t LEFT JOIN tariff_block b ON b.tariff_id = t.id
        WHERE t.valid_from = ANY(CAST(:dates AS date[]))
        """,
        dates=list(dates),
    )


def _same_as_stored(*, valid_from: dt.date, group: Sequence[Row], stored: Sequence, problems: Problems) -> bool:
    """A published version stays as it is: the file must bring the same mode, name and blocks."""
    first = group[0]
    diffs = []
    if stored[0].mode != first["mode"]:
        diffs.append(f"mode (stored {stored[0].mode}, file {first['mode']})")
    if stored[0].name != first["name"]:
        diffs.append(f"name (stored {stored[0].name!r}, file {first['name']!r})")
    stored_blocks = sorted((r.block, r.upper_bound, r.price) for r in stored if r.block is not None)
    if stored_blocks != _blocks(group):
        diffs.append(f"blocks (stored {_show(stored_blocks)}, file {_show(_blocks(group))})")
    if diffs:
        problems.add(
            first.line,
            conflict(
                what=f"tariff valid from {valid_from}", diffs=diffs, why="published tariffs are not changed by import"
            ),
        )
    return not diffs


def _inserting(versions: Sequence[_Version]) -> Apply:
    async def apply(session: AsyncSession) -> None:
        if not versions:
            return
        inserted = await insert_rows(
            session=session,
            table=Tariff.__table__,
            rows=[{"valid_from": v.valid_from, "mode": v.mode, "name": v.name} for v in versions],
            returning=("id", "valid_from"),
        )
        ids = {r.valid_from: r.id for r in inserted}
        await insert_rows(
            session=session,
            table=TariffBlock.__table__,
            rows=[
                {"tariff_id": ids[v.valid_from], "block": block, "upper_bound": bound, "price": price}
                for v in versions
                for block, bound, price in v.blocks
            ],
        )

    return apply


def _show(blocks: Sequence[tuple[int, int | None, Decimal]]) -> str:
    return "; ".join(
        f"{b}: ≤{bound if bound is not None else '∞'} @ {price.normalize():f}" for b, bound, price in blocks
    )
