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

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models import MeterReading
from models.base import ReadingSource
from services.importing.cells import parse_account_number, parse_code, parse_date, parse_external_id, req, text_parser
from services.importing.lookups import fetch_by, fetch_grouped, lock_personal_accounts, resolve_personal_accounts
from services.importing.report import Plan, Problems
from services.importing.rows import Row, group_by, mark_duplicates
from services.importing.stored import stored_versus_file
from services.importing.writing import inserting


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
COMPARED = ("personal_account_id", "meter_id", "taken_on", "values")


def zone_consumption(previous: int, new: int, digits: int) -> int:
    return new - previous if new >= previous else 10**digits - previous + new


async def check(*, session: AsyncSession, rows: Sequence[Row], problems: Problems) -> Plan:
    rows = mark_duplicates(rows=rows, key=lambda r: r["external_id"], what="external_id", problems=problems)
    rows = await resolve_personal_accounts(session=session, rows=rows, problems=problems)
    await lock_personal_accounts(session=session, ids=(r["personal_account_id"] for r in rows))
    meters = await _meters_by_serial(session=session, serials=[r["meter_serial"] for r in rows])
    # Each step stops at a row's first problem: the later ones need what the earlier found.
    good = [
        row
        for row in rows
        if _meter_of_the_account(row=row, meters=meters, problems=problems)
        and _values_fit_the_meter(row=row, problems=problems)
        and _taken_while_installed(row=row, problems=problems)
    ]

    plan = Plan()
    not_stored = stored_versus_file(
        rows=good,
        stored=await _stored_by_external_id(session=session, rows=good),
        key=lambda r: r["external_id"],
        compared=COMPARED,
        what=lambda r: f"reading {r['external_id']}",
        problems=problems,
        plan=plan,
        why="stored readings are not changed by import",
    )
    taken_dates = await _stored_dates(session=session, rows=good)
    last_stored = await _last_stored_readings(session=session, rows=good)
    new_rows = [
        row
        for row in not_stored
        if _date_is_free(row=row, taken_dates=taken_dates, problems=problems)
        and _after_the_last_stored(row=row, last_stored=last_stored, problems=problems)
    ]
    new_rows = mark_duplicates(
        rows=new_rows,
        key=lambda r: (r["personal_account_id"], r["taken_on"]),
        what="personal account and taken_on",
        problems=problems,
    )
    inserts = _with_consumption(rows=new_rows, last_stored=last_stored)
    plan.inserted = len(inserts)
    plan.apply = inserting(table=MeterReading.__table__, rows=inserts)
    return plan


async def _meters_by_serial(*, session: AsyncSession, serials: list[str]) -> dict[str, list[Any]]:
    """Serial numbers are not unique across accounts: every meter of each serial."""
    return await fetch_grouped(
        session=session,
        key="serial_number",
        sql="""
        SELECT m.id, m.serial_number, m.personal_account_id, m.digits, m.zones, m.installed_on, m.removed_on
        FROM meter m WHERE m.serial_number = ANY(CAST(:serials AS text[]))
        """,
        serials=serials,
    )


def _meter_of_the_account(*, row: Row, meters: Mapping[str, list[Any]], problems: Problems) -> bool:
    """The meter is known and is a meter of the row's personal account; sets the row's ``meter``."""
    same_serial = meters.get(row["meter_serial"], [])
    candidates = [m for m in same_serial if m.personal_account_id == row["personal_account_id"]]
    if not candidates:
        if same_serial:
            problems.add(row.line, f"meter {row['meter_serial']} is not a meter of this personal account")
        else:
            problems.add(row.line, f"unknown meter {row['meter_serial']!r}")
        return False
    row.v["meter"] = candidates[0]
    row.v["meter_id"] = candidates[0].id
    return True


def _values_fit_the_meter(*, row: Row, problems: Problems) -> bool:
    """One value per zone of the meter, each within its digits."""
    meter, values = row["meter"], row["values"]
    if len(values) != len(meter.zones):
        problems.add(
            row.line,
            f"values: {len(values)} value(s) given, meter {meter.serial_number} has zones {'|'.join(meter.zones)}",
        )
        return False
    out_of_range = [v for v in values if v >= 10**meter.digits]
    if out_of_range:
        problems.add(row.line, f"values: {out_of_range[0]} does not fit the meter's {meter.digits} digits")
        return False
    return True


def _taken_while_installed(*, row: Row, problems: Problems) -> bool:
    """Not before the meter was installed, not after it was removed."""
    meter, taken_on = row["meter"], row["taken_on"]
    if meter.installed_on and taken_on < meter.installed_on:
        problems.add(row.line, f"taken_on {taken_on} is before the meter was installed ({meter.installed_on})")
        return False
    if meter.removed_on and taken_on > meter.removed_on:
        problems.add(row.line, f"taken_on {taken_on} is after the meter was removed ({meter.removed_on})")
        return False
    return True


async def _stored_by_external_id(*, session: AsyncSession, rows: Sequence[Row]) -> dict[str, Any]:
    return await fetch_by(
        session=session,
        key="external_id",
        sql="SELECT id, external_id, personal_account_id, meter_id, taken_on, values FROM meter_reading "
        "WHERE external_id = ANY(CAST(:ids AS text[]))",
        ids=[r["external_id"] for r in rows],
    )


async def _stored_dates(*, session: AsyncSession, rows: Sequence[Row]) -> dict[tuple[int, Any], Any]:
    """The stored readings of these personal accounts on these dates, by (account, date)."""
    return await fetch_by(
        session=session,
        key=("personal_account_id", "taken_on"),
        sql="SELECT personal_account_id, taken_on, external_id FROM meter_reading "
        "WHERE personal_account_id = ANY(CAST(:ids AS bigint[])) AND taken_on = ANY(CAST(:dates AS date[]))",
        ids=sorted({r["personal_account_id"] for r in rows}),
        dates=sorted({r["taken_on"] for r in rows}),
    )


async def _last_stored_readings(*, session: AsyncSession, rows: Sequence[Row]) -> dict[int, Any]:
    """Each meter's latest stored reading, by meter id."""
    return await fetch_by(
        session=session,
        key="meter_id",
        sql="""
        SELECT DISTINCT ON (meter_id) meter_id, taken_on, values FROM meter_reading
        WHERE meter_id = ANY(CAST(:ids AS bigint[])) ORDER BY meter_id, taken_on DESC
        """,
        ids=sorted({r["meter"].id for r in rows}),
    )


def _date_is_free(*, row: Row, taken_dates: Mapping[tuple[int, Any], Any], problems: Problems) -> bool:
    """A personal account has one reading per date."""
    taken = taken_dates.get((row["personal_account_id"], row["taken_on"]))
    if taken is None:
        return True
    by = f"external id {taken.external_id}" if taken.external_id else "entered in the cabinet"
    problems.add(row.line, f"the personal account already has a reading on {row['taken_on']} ({by})")
    return False


def _after_the_last_stored(*, row: Row, last_stored: Mapping[int, Any], problems: Problems) -> bool:
    """A new reading comes after the meter's last stored one: stored consumptions are never recomputed."""
    last = last_stored.get(row["meter"].id)
    if last is None or row["taken_on"] > last.taken_on:
        return True
    problems.add(
        row.line,
        f"taken_on {row['taken_on']} is not after meter {row['meter'].serial_number}'s last stored reading "
        f"on {last.taken_on}; stored readings are never recomputed",
    )
    return False


def _with_consumption(*, rows: Sequence[Row], last_stored: Mapping[int, Any]) -> list[dict[str, Any]]:
    """The readings to insert, each zone's consumption against the previous reading of the same meter in date order."""
    inserts = []
    for meter_id, meter_rows in group_by(items=rows, key=lambda r: r["meter"].id).items():
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
    return inserts
