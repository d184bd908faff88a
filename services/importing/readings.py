"""Kind ``readings``: historical meter readings.

Columns (all required):

==============  ============================================================
external_id     the utility's id of the reading, the key
res_code        the RES of the personal account
account_number  the personal account
meter_serial    the meter's serial number (a meter of that personal account)
taken_on        the date the reading was taken
values          one whole number per zone in the meter's zone order, split
                by ``|``: ``48200`` or ``100|250`` or ``60|150|90``
==============  ============================================================

Each zone's consumption is computed against the previous reading of the
same meter (stored, or earlier in the file): ``new − previous``, or with a
rollover ``10^digits − previous + new`` when the new value is smaller. The
first reading of a meter has no consumption. Imported readings are
historical (source IMPORT): no plausibility cap, no date limit. They must
come after the meter's last stored reading (stored consumptions are never
recomputed), and a personal account has one reading per date.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from models import MeterReading
from models.base import ReadingSource
from services.importing.cells import parse_account_number, parse_code, parse_date, parse_external_id, req, text_parser
from services.importing.lookups import fetch, lock_personal_accounts, resolve_personal_accounts
from services.importing.report import Plan, Problems
from services.importing.rows import Row, mark_duplicates
from services.importing.stored import stored_versus_file
from services.importing.writing import insert_rows


def parse_values(value: str) -> list[int]:
    parts = [p.strip() for p in value.split("|")]
    if not 1 <= len(parts) <= 3 or not all(p.isascii() and p.isdigit() for p in parts):
        raise ValueError(f"{value!r} is not 1 to 3 whole numbers split by '|'")
    return [int(p) for p in parts]


FIELDS = (
    req("external_id", parse_external_id),
    req("res_code", parse_code),
    req("account_number", parse_account_number),
    req("meter_serial", text_parser(64)),
    req("taken_on", parse_date),
    req("values", parse_values),
)


def zone_consumption(previous: int, new: int, digits: int) -> int:
    return new - previous if new >= previous else 10**digits - previous + new


async def check(*, session: AsyncSession, rows: Sequence[Row], problems: Problems) -> Plan:
    rows = mark_duplicates(rows=rows, key=lambda r: r["external_id"], what="external_id", problems=problems)
    rows = await resolve_personal_accounts(session=session, rows=rows, problems=problems)
    await lock_personal_accounts(session=session, ids=(r["personal_account_id"] for r in rows))

    meters: dict[str, list] = defaultdict(list)
    for m in await fetch(
        session=session,
        sql="""
        SELECT m.id, m.serial_number, m.personal_account_id, m.digits, m.zones, m.installed_on, m.removed_on
        FROM meter m WHERE m.serial_number = ANY(CAST(:serials AS text[]))
        """,
        serials=[r["meter_serial"] for r in rows],
    ):
        meters[m.serial_number].append(m)

    good: list[Row] = []
    for row in rows:
        candidates = [m for m in meters.get(row["meter_serial"], []) if m.personal_account_id == row["personal_account_id"]]
        if not candidates:
            if meters.get(row["meter_serial"]):
                problems.add(row.line, f"meter {row['meter_serial']} is not a meter of this personal account")
            else:
                problems.add(row.line, f"unknown meter {row['meter_serial']!r}")
            continue
        meter = candidates[0]
        row.v["meter"] = meter
        row.v["meter_id"] = meter.id
        values = row["values"]
        if len(values) != len(meter.zones):
            problems.add(
                row.line,
                f"values: {len(values)} value(s) given, meter {meter.serial_number} has zones {'|'.join(meter.zones)}",
            )
            continue
        limit = 10**meter.digits
        out_of_range = [v for v in values if v >= limit]
        if out_of_range:
            problems.add(row.line, f"values: {out_of_range[0]} does not fit the meter's {meter.digits} digits")
            continue
        if meter.installed_on and row["taken_on"] < meter.installed_on:
            problems.add(row.line, f"taken_on {row['taken_on']} is before the meter was installed ({meter.installed_on})")
            continue
        if meter.removed_on and row["taken_on"] > meter.removed_on:
            problems.add(row.line, f"taken_on {row['taken_on']} is after the meter was removed ({meter.removed_on})")
            continue
        good.append(row)

    stored_by_id = {
        r.external_id: r
        for r in await fetch(
            session=session,
            sql="SELECT id, external_id, personal_account_id, meter_id, taken_on, values FROM meter_reading "
            "WHERE external_id = ANY(CAST(:ids AS text[]))",
            ids=[r["external_id"] for r in good],
        )
    }
    account_ids = sorted({r["personal_account_id"] for r in good})
    stored_dates = {
        (r.personal_account_id, r.taken_on): r
        for r in await fetch(
            session=session,
            sql="SELECT personal_account_id, taken_on, external_id FROM meter_reading "
            "WHERE personal_account_id = ANY(CAST(:ids AS bigint[])) AND taken_on = ANY(CAST(:dates AS date[]))",
            ids=account_ids,
            dates=sorted({r["taken_on"] for r in good}),
        )
    }
    last_stored = {
        r.meter_id: r
        for r in await fetch(
            session=session,
            sql="""
            SELECT DISTINCT ON (meter_id) meter_id, taken_on, values FROM meter_reading
            WHERE meter_id = ANY(CAST(:ids AS bigint[])) ORDER BY meter_id, taken_on DESC
            """,
            ids=sorted({r["meter"].id for r in good}),
        )
    }

    plan = Plan()
    new_rows: list[Row] = []
    not_stored = stored_versus_file(
        rows=good,
        stored=stored_by_id,
        key=lambda r: r["external_id"],
        compared=("personal_account_id", "meter_id", "taken_on", "values"),
        what=lambda r: f"reading {r['external_id']}",
        problems=problems,
        plan=plan,
        why="stored readings are not changed by import",
    )
    for row in not_stored:
        taken = stored_dates.get((row["personal_account_id"], row["taken_on"]))
        if taken is not None:
            by = f"external id {taken.external_id}" if taken.external_id else "entered in the cabinet"
            problems.add(row.line, f"the personal account already has a reading on {row['taken_on']} ({by})")
            continue
        last = last_stored.get(row["meter"].id)
        if last is not None and row["taken_on"] <= last.taken_on:
            problems.add(
                row.line,
                f"taken_on {row['taken_on']} is not after meter {row['meter'].serial_number}'s last stored reading "
                f"on {last.taken_on}; stored readings are never recomputed",
            )
            continue
        new_rows.append(row)
    new_rows = mark_duplicates(
        rows=new_rows, key=lambda r: (r["personal_account_id"], r["taken_on"]), what="personal account and taken_on", problems=problems
    )

    # Consumption against the previous reading of the same meter, in date order.
    inserts = []
    by_meter: dict[int, list[Row]] = defaultdict(list)
    for row in new_rows:
        by_meter[row["meter"].id].append(row)
    for meter_id, meter_rows in by_meter.items():
        previous = last_stored[meter_id].values if meter_id in last_stored else None
        for row in sorted(meter_rows, key=lambda r: r["taken_on"]):
            meter = row["meter"]
            consumptions = (
                None
                if previous is None
                else [zone_consumption(p, n, meter.digits) for p, n in zip(previous, row["values"], strict=True)]
            )
            inserts.append(
                {
                    "personal_account_id": row["personal_account_id"],
                    "meter_id": meter_id,
                    "taken_on": row["taken_on"],
                    "zones": list(meter.zones),
                    "values": row["values"],
                    "consumptions": consumptions,
                    "consumption": None if consumptions is None else sum(consumptions),
                    "source": ReadingSource.IMPORT,
                    "external_id": row["external_id"],
                }
            )
            previous = row["values"]
            plan.inserted += 1

    async def apply(session: AsyncSession) -> None:
        if inserts:
            await insert_rows(session=session, table=MeterReading.__table__, rows=inserts)

    plan.apply = apply
    return plan
