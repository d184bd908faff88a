"""Kind ``bill-lines``: the priced lines of imported bills.

Columns:

=================  ========================================================
bill_number        the bill (must exist: import ``bills`` first)
position           1, 2, 3… within the bill; (bill_number, position) is the key
description        the line's text
tariff_valid_from  optional: the tariff version the line is priced by
block              optional: the tariff block (1-based)
zone               optional: ``TOTAL``, ``DAY``, ``NIGHT``, ``PEAK``, ``SEMI_PEAK``
quantity           optional, up to 3 decimals (kWh for electricity)
unit               optional, e.g. ``кВт·год``
price              optional, UAH, up to 4 decimals
coefficient        optional zone coefficient, up to 3 decimals
amount             UAH, 2 decimals (negative allowed on a CORRECTION)
=================  ========================================================

The lines of a bill come together, once: positions 1..n, summing exactly to
the bill's amount. A line with a tariff and block must carry that block's
price; a line with quantity and price must have amount = quantity × price ×
coefficient (1 when empty), rounded to the kopeck (±0.01 allowed for
historical rounding). A bill that already has lines takes no new ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models import BillLine
from models.base import MeterZone
from money import KOPECK, kopecks
from services.importing.cells import (
    choice_parser,
    int_parser,
    opt,
    parse_bill_number,
    parse_coefficient,
    parse_date,
    parse_money,
    parse_price,
    parse_quantity,
    req,
    text_parser,
)
from services.importing.lookups import fetch, fetch_by, lock_personal_accounts
from services.importing.report import Plan, Problems
from services.importing.rows import Row, group_by, mark_duplicates
from services.importing.stored import stored_versus_file
from services.importing.writing import inserting

FIELDS = (
    req("bill_number", parse_bill_number),
    req("position", int_parser(1, 32767)),
    req("description", text_parser(500)),
    opt("tariff_valid_from", parse_date),
    opt("block", int_parser(1, 50)),
    opt("zone", choice_parser(z.value for z in MeterZone)),
    opt("quantity", parse_quantity),
    opt("unit", text_parser(16)),
    opt("price", parse_price),
    opt("coefficient", parse_coefficient),
    req("amount", parse_money),
)
COMPARED = ("description", "tariff_id", "block", "zone", "quantity", "unit", "price", "coefficient", "amount")


async def check(*, session: AsyncSession, rows: Sequence[Row], problems: Problems) -> Plan:
    rows = mark_duplicates(
        rows=rows, key=lambda r: (r["bill_number"], r["position"]), what="bill_number and position", problems=problems
    )
    bills = await _bills_with_line_counts(session=session, numbers=sorted({r["bill_number"] for r in rows}))
    # bill_line has no unique (bill_id, position): serialise on the personal accounts, as the cabinet does.
    await lock_personal_accounts(session=session, ids=(b.personal_account_id for b in bills.values()))
    tariff_blocks = await _tariff_blocks(session=session, rows=rows)
    tariff_ids = {valid_from: block.id for (valid_from, _), block in tariff_blocks.items()}
    rows = [row for row in rows if _of_a_known_bill(row=row, bills=bills, problems=problems)]
    for row in rows:
        _priced_by_its_tariff(row=row, tariff_ids=tariff_ids, tariff_blocks=tariff_blocks, problems=problems)
        _amount_is_quantity_times_price(row=row, problems=problems)
    lines_of_bill = group_by(items=rows, key=lambda r: r["bill_number"])
    stored_lines = await _stored_lines(session=session, bill_ids=[bills[n].id for n in lines_of_bill])

    plan = Plan()
    inserts: list[dict[str, Any]] = []
    for number, lines in lines_of_bill.items():
        bill = bills[number]
        lines.sort(key=lambda r: r["position"])
        stored = stored_lines.get(bill.id, {})
        if stored:
            if _repeats_the_stored_lines(number=number, lines=lines, stored=stored, problems=problems):
                plan.unchanged += len(lines)
            continue
        if (
            _positions_run_from_one(number=number, lines=lines, problems=problems)
            and _lines_sum_to_the_bill(bill=bill, lines=lines, problems=problems)
            and not any(problems.bad(r.line) for r in lines)
        ):
            inserts.extend(_line_record(bill=bill, row=row) for row in lines)
    plan.inserted = len(inserts)
    plan.apply = inserting(table=BillLine.__table__, rows=inserts)
    return plan


async def _bills_with_line_counts(*, session: AsyncSession, numbers: list[int]) -> dict[int, Any]:
    return await fetch_by(
        session=session,
        key="number",
        sql="""
        SELECT b.id, b.number, b.personal_account_id, b.kind, b.amount,
               (SELECT count(*) FROM bill_line l WHERE l.bill_id = b.id) AS line_count
        FROM bill b WHERE b.number = ANY(CAST(:numbers AS bigint[]))
        """,
        numbers=numbers,
    )


async def _tariff_blocks(*, session: AsyncSession, rows: Sequence[Row]) -> dict[tuple[Any, int], Any]:
    """The blocks of the tariffs the rows name, by (valid_from, block)."""
    return await fetch_by(
        session=session,
        key=("valid_from", "block"),
        sql="""
        SELECT t.id, t.valid_from, b.block, b.price FROM tariff t JOIN tariff_block b ON b.tariff_id = t.id
        WHERE t.valid_from = ANY(CAST(:dates AS date[]))
        """,
        dates=sorted({r["tariff_valid_from"] for r in rows if r["tariff_valid_from"]}),
    )


def _of_a_known_bill(*, row: Row, bills: Mapping[int, Any], problems: Problems) -> bool:
    if row["bill_number"] not in bills:
        problems.add(row.line, f"bill_number: unknown bill {row['bill_number']}")
        return False
    return True


def _priced_by_its_tariff(
    *, row: Row, tariff_ids: Mapping[Any, int], tariff_blocks: Mapping[tuple[Any, int], Any], problems: Problems
) -> None:
    """The tariff exists; with a block, the tariff has that block and the line carries its price. Sets ``tariff_id``."""
    valid_from = row["tariff_valid_from"]
    row.v["tariff_id"] = None
    if valid_from is None:
        if row["block"] is not None:
            problems.add(row.line, "block needs tariff_valid_from")
        return
    if valid_from not in tariff_ids:
        problems.add(row.line, f"tariff_valid_from: no tariff valid from {valid_from}")
        return
    row.v["tariff_id"] = tariff_ids[valid_from]
    if row["block"] is None:
        return
    block = tariff_blocks.get((valid_from, row["block"]))
    if block is None:
        problems.add(row.line, f"block: the tariff valid from {valid_from} has no block {row['block']}")
    elif row["price"] is not None and row["price"] != block.price:
        problems.add(
            row.line,
            f"price {row['price']} is not the price {block.price.normalize():f} of block "
            f"{row['block']} of the tariff valid from {valid_from}",
        )


def _amount_is_quantity_times_price(*, row: Row, problems: Problems) -> None:
    """With quantity and price, amount = quantity × price × coefficient (1 when empty) to the kopeck, ±0.01."""
    if row["quantity"] is None or row["price"] is None:
        return
    expected = kopecks(row["quantity"] * row["price"] * (row["coefficient"] or Decimal(1)))
    if abs(expected - row["amount"]) > KOPECK:
        problems.add(row.line, f"amount {row['amount']} does not match quantity × price × coefficient = {expected}")


async def _stored_lines(*, session: AsyncSession, bill_ids: list[int]) -> dict[int, dict[int, Any]]:
    """The stored lines of these bills: bill id -> position -> line."""
    lines = await fetch(
        session=session,
        sql=f"""
        SELECT l.bill_id, l.position, {", ".join("l." + c for c in COMPARED)}
        FROM bill_line l WHERE l.bill_id = ANY(CAST(:ids AS bigint[]))
        """,
        ids=bill_ids,
    )
    return {
        bill_id: {line.position: line for line in of_bill}
        for bill_id, of_bill in group_by(items=lines, key=lambda line: line.bill_id).items()
    }


def _repeats_the_stored_lines(
    *, number: int, lines: Sequence[Row], stored: Mapping[int, Any], problems: Problems
) -> bool:
    """A bill that has its lines takes no new ones: the file may only repeat them, all and exactly."""
    repeated = Plan()  # counts the lines stored with the same data
    for row in stored_versus_file(
        rows=lines,
        stored=stored,
        key=lambda r: r["position"],
        compared=COMPARED,
        what=lambda r: f"line {r['position']} of bill {number}",
        problems=problems,
        plan=repeated,
        why="bills are immutable",
    ):
        problems.add(row.line, f"bill {number} already has its {len(stored)} line(s); a bill's lines are imported once")
    if repeated.unchanged != len(lines):
        return False
    if len(lines) != len(stored):
        problems.add(lines[0].line, f"bill {number} has {len(stored)} stored line(s), the file gives {len(lines)}")
        return False
    return True


def _positions_run_from_one(*, number: int, lines: Sequence[Row], problems: Problems) -> bool:
    positions = [r["position"] for r in lines]
    if positions != list(range(1, len(lines) + 1)):
        problems.add(lines[0].line, f"bill {number}: positions must be 1..{len(lines)}, got {positions}")
        return False
    return True


def _lines_sum_to_the_bill(*, bill: Any, lines: Sequence[Row], problems: Problems) -> bool:
    total = sum((r["amount"] for r in lines), Decimal("0.00"))
    if total != bill.amount:
        problems.add(
            lines[0].line, f"the lines of bill {bill.number} sum to {total}, the bill's amount is {bill.amount}"
        )
        return False
    return True


def _line_record(*, bill: Any, row: Row) -> dict[str, Any]:
    return {
        "bill_id": bill.id,
        "personal_account_id": bill.personal_account_id,
        "position": row["position"],
        **{c: row[c] for c in COMPARED},
    }
