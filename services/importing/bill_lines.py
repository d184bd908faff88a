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

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from models import BillLine
from money import KOPECK, kopecks
from models.base import MeterZone
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
from services.importing.lookups import fetch, lock_personal_accounts
from services.importing.report import Plan, Problems
from services.importing.rows import Row, mark_duplicates
from services.importing.stored import show
from services.importing.writing import insert_rows

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
    rows = mark_duplicates(rows=rows, key=lambda r: (r["bill_number"], r["position"]), what="bill_number and position", problems=problems)
    bills = {
        b.number: b
        for b in await fetch(
            session=session,
            sql="""
            SELECT b.id, b.number, b.personal_account_id, b.kind, b.amount,
                   (SELECT count(*) FROM bill_line l WHERE l.bill_id = b.id) AS line_count
            FROM bill b WHERE b.number = ANY(CAST(:numbers AS bigint[]))
            """,
            numbers=sorted({r["bill_number"] for r in rows}),
        )
    }
    # bill_line has no unique (bill_id, position): serialise on the personal accounts, as the cabinet does.
    await lock_personal_accounts(session=session, ids=(b.personal_account_id for b in bills.values()))
    tariff_blocks = {
        (t.valid_from, t.block): t
        for t in await fetch(
            session=session,
            sql="""
            SELECT t.id, t.valid_from, b.block, b.price FROM tariff t JOIN tariff_block b ON b.tariff_id = t.id
            WHERE t.valid_from = ANY(CAST(:dates AS date[]))
            """,
            dates=sorted({r["tariff_valid_from"] for r in rows if r["tariff_valid_from"]}),
        )
    }
    tariff_ids = {valid_from: t.id for (valid_from, _), t in tariff_blocks.items()}

    by_bill: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        bill = bills.get(row["bill_number"])
        if bill is None:
            problems.add(row.line, f"bill_number: unknown bill {row['bill_number']}")
            continue
        row.v["bill"] = bill
        valid_from = row["tariff_valid_from"]
        row.v["tariff_id"] = None
        if valid_from is not None:
            if valid_from not in tariff_ids:
                problems.add(row.line, f"tariff_valid_from: no tariff valid from {valid_from}")
            else:
                row.v["tariff_id"] = tariff_ids[valid_from]
                if row["block"] is not None:
                    block = tariff_blocks.get((valid_from, row["block"]))
                    if block is None:
                        problems.add(row.line, f"block: the tariff valid from {valid_from} has no block {row['block']}")
                    elif row["price"] is not None and row["price"] != block.price:
                        problems.add(
                            row.line,
                            f"price {row['price']} is not the price {block.price.normalize():f} of block "
                            f"{row['block']} of the tariff valid from {valid_from}",
                        )
        elif row["block"] is not None:
            problems.add(row.line, "block needs tariff_valid_from")
        if row["quantity"] is not None and row["price"] is not None:
            expected = kopecks(row["quantity"] * row["price"] * (row["coefficient"] or Decimal(1)))
            if abs(expected - row["amount"]) > KOPECK:
                problems.add(
                    row.line,
                    f"amount {row['amount']} does not match quantity × price × coefficient = {expected}",
                )
        by_bill[row["bill_number"]].append(row)

    stored_lines: dict[int, dict[int, object]] = defaultdict(dict)
    for line in await fetch(
        session=session,
        sql=f"""
        SELECT l.bill_id, l.position, {', '.join('l.' + c for c in COMPARED)}
        FROM bill_line l WHERE l.bill_id = ANY(CAST(:ids AS bigint[]))
        """,
        ids=[bills[n].id for n in by_bill],
    ):
        stored_lines[line.bill_id][line.position] = line

    plan = Plan()
    inserts = []
    for number, lines in by_bill.items():
        bill = lines[0]["bill"]
        lines.sort(key=lambda r: r["position"])
        first = lines[0]
        positions = [r["position"] for r in lines]
        stored = stored_lines.get(bill.id, {})
        if stored:
            # The bill has its lines: the file may only repeat them exactly.
            ok = True
            for row in lines:
                line = stored.get(row["position"])
                if line is None:
                    problems.add(
                        row.line,
                        f"bill {number} already has its {len(stored)} line(s); a bill's lines are imported once",
                    )
                    ok = False
                    continue
                diffs = [
                    f"{c} (stored {show(getattr(line, c))}, file {show(row[c])})"
                    for c in COMPARED
                    if getattr(line, c) != row[c]
                ]
                if diffs:
                    problems.add(
                        row.line,
                        f"line {row['position']} of bill {number} already exists with different data: "
                        f"{', '.join(diffs)}; bills are immutable",
                    )
                    ok = False
            if ok and len(lines) != len(stored):
                problems.add(first.line, f"bill {number} has {len(stored)} stored line(s), the file gives {len(lines)}")
            elif ok:
                plan.unchanged += len(lines)
            continue
        if positions != list(range(1, len(lines) + 1)):
            problems.add(first.line, f"bill {number}: positions must be 1..{len(lines)}, got {positions}")
            continue
        total = sum((r["amount"] for r in lines), Decimal("0.00"))
        if total != bill.amount:
            problems.add(
                first.line,
                f"the lines of bill {number} sum to {total}, the bill's amount is {bill.amount}",
            )
            continue
        if any(problems.bad(r.line) for r in lines):
            continue
        for row in lines:
            inserts.append(
                {
                    "bill_id": bill.id,
                    "personal_account_id": bill.personal_account_id,
                    "position": row["position"],
                    **{c: row[c] for c in COMPARED},
                }
            )
        plan.inserted += len(lines)

    async def apply(session: AsyncSession) -> None:
        if inserts:
            await insert_rows(session=session, table=BillLine.__table__, rows=inserts)

    plan.apply = apply
    return plan
