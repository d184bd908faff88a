"""Kind ``meters``: the meters at personal accounts.

Columns:

=====================  =====================================================
serial_number          the meter's serial number, the key
res_code               the RES of its personal account
account_number         the personal account it is installed at
model                  optional, e.g. ``СО-505``
digits                 register digits, 1..9 (a 5-digit meter reads 0..99999)
zones                  ``TOTAL``, ``DAY|NIGHT`` or ``PEAK|SEMI_PEAK|NIGHT``
installed_on           optional date
verified_on            optional date of the last verification (повірка)
next_verification_on   optional date
removed_on             optional date; empty for the current meter
=====================  =====================================================

A personal account has at most one current meter (empty removed_on).
A meter's account, model, digits, zones and installed_on never change;
verified_on and next_verification_on are updated from the file, and
removed_on may be set once (it cannot come before the meter's last reading).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models import Meter
from services.importing.cells import int_parser, opt, parse_account_number, parse_code, parse_date, req, text_parser
from services.importing.lookups import fetch, fetch_grouped, lock_personal_accounts, resolve_personal_accounts
from services.importing.report import Apply, Plan, Problems
from services.importing.rows import Row, mark_duplicates, without_problems
from services.importing.stored import differences, show
from services.importing.writing import insert_rows, update_rows

ZONE_LAYOUTS = {
    "TOTAL": ["TOTAL"],
    "DAY|NIGHT": ["DAY", "NIGHT"],
    "PEAK|SEMI_PEAK|NIGHT": ["PEAK", "SEMI_PEAK", "NIGHT"],
}


def parse_zones(value: str) -> list[str]:
    layout = ZONE_LAYOUTS.get(value.replace(" ", "").upper())
    if layout is None:
        raise ValueError(f"{value!r} is not one of {', '.join(ZONE_LAYOUTS)}")
    return layout


parse_serial = text_parser(64, pattern=r"\S+", what="a serial number without spaces")

FIELDS = (
    req("serial_number", parse_serial),
    req("res_code", parse_code),
    req("account_number", parse_account_number),
    opt("model", text_parser(100)),
    req("digits", int_parser(1, 9)),
    req("zones", parse_zones),
    opt("installed_on", parse_date),
    opt("verified_on", parse_date),
    opt("next_verification_on", parse_date),
    opt("removed_on", parse_date),
)
FIXED = ("personal_account_id", "model", "digits", "zones", "installed_on")
UPDATABLE = ("verified_on", "next_verification_on")


async def check(*, session: AsyncSession, rows: Sequence[Row], problems: Problems) -> Plan:
    rows = mark_duplicates(rows=rows, key=lambda r: r["serial_number"], what="serial_number", problems=problems)
    for row in rows:
        _dates_in_order(row=row, problems=problems)
    rows = await resolve_personal_accounts(session=session, rows=rows, problems=problems)
    rows = without_problems(rows=rows, problems=problems)
    # Serial numbers are not unique in the table: serialise on the personal accounts.
    await lock_personal_accounts(session=session, ids=(r["personal_account_id"] for r in rows))
    stored_by_serial = await _stored_meters(session=session, serials=[r["serial_number"] for r in rows])
    current = await _CurrentMeters.load(session=session, account_ids=sorted({r["personal_account_id"] for r in rows}))

    plan = Plan()
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for row in rows:
        if not _serial_names_one_meter(row=row, stored_by_serial=stored_by_serial, problems=problems):
            continue
        stored = stored_by_serial.get(row["serial_number"])
        if stored is None:
            current.installed(row=row)
            new.append(
                {**{k: row[k] for k in (*FIXED, *UPDATABLE, "removed_on")}, "serial_number": row["serial_number"]}
            )
            plan.inserted += 1
            continue
        meter = stored[0]
        if not (
            _fixed_fields_unchanged(row=row, meter=meter, problems=problems)
            and _removal_allowed(row=row, meter=meter, problems=problems)
        ):
            continue
        if row["removed_on"] != meter.removed_on:
            current.removed(row=row)
        update = _update_of(row=row, meter=meter)
        if update is None:
            plan.unchanged += 1
        else:
            changed.append(update)
            plan.updated += 1
    current.one_per_account(problems=problems)
    plan.apply = _writes(new=new, changed=changed)
    return plan


def _dates_in_order(*, row: Row, problems: Problems) -> None:
    if row["installed_on"] and row["removed_on"] and row["removed_on"] < row["installed_on"]:
        problems.add(row.line, "removed_on is before installed_on")
    if row["verified_on"] and row["next_verification_on"] and row["next_verification_on"] < row["verified_on"]:
        problems.add(row.line, "next_verification_on is before verified_on")


async def _stored_meters(*, session: AsyncSession, serials: list[str]) -> dict[str, list[Any]]:
    """The stored meters of these serial numbers (more than one where a serial repeats), with their last reading's date."""
    return await fetch_grouped(
        session=session,
        key="serial_number",
        sql="""
        SELECT m.id, m.serial_number, m.personal_account_id, m.model, m.digits, m.zones, m.installed_on,
               m.verified_on, m.next_verification_on, m.removed_on,
               (SELECT max(taken_on) FROM meter_reading mr WHERE mr.meter_id = m.id) AS last_reading_on
        FROM meter m WHERE m.serial_number = ANY(CAST(:serials AS text[]))
        """,
        serials=serials,
    )


class _CurrentMeters:
    """Which meters will be current (no removed_on) at each personal account once the file is applied."""

    def __init__(self, stored: Sequence[Any]) -> None:
        self.by_account: dict[int, dict[str, int | None]] = defaultdict(
            dict
        )  # account -> serial -> line (None: stored)
        for m in stored:
            self.by_account[m.personal_account_id][m.serial_number] = None

    @classmethod
    async def load(cls, *, session: AsyncSession, account_ids: list[int]) -> _CurrentMeters:
        return cls(
            await fetch(
                session=session,
                sql="SELECT id, serial_number, personal_account_id FROM meter "
                "WHERE personal_account_id = ANY(CAST(:ids AS bigint[])) AND removed_on IS NULL",
                ids=account_ids,
            )
        )

    def installed(self, *, row: Row) -> None:
        if row["removed_on"] is None:
            self.by_account[row["personal_account_id"]][row["serial_number"]] = row.line

    def removed(self, *, row: Row) -> None:
        self.by_account[row["personal_account_id"]].pop(row["serial_number"], None)

    def one_per_account(self, *, problems: Problems) -> None:
        """A personal account has at most one current meter: each new one beside another is a problem of its line."""
        for meters in self.by_account.values():
            if len(meters) < 2:
                continue
            for serial, line in meters.items():
                if line is not None:
                    others = ", ".join(s for s in meters if s != serial)
                    problems.add(
                        line,
                        f"the personal account would have more than one current meter ({serial} and {others}); "
                        "give the old meter's removed_on",
                    )


def _serial_names_one_meter(*, row: Row, stored_by_serial: Mapping[str, list[Any]], problems: Problems) -> bool:
    stored = stored_by_serial.get(row["serial_number"], [])
    if len(stored) > 1:
        problems.add(
            row.line,
            f"serial number {row['serial_number']} is on {len(stored)} meters in the database; "
            "cannot tell which one this row means",
        )
        return False
    return True


def _fixed_fields_unchanged(*, row: Row, meter: Any, problems: Problems) -> bool:
    """A meter's account, model, digits, zones and installation date never change."""
    diffs = differences(stored=meter._mapping, new=row.v, names=FIXED)
    if diffs:
        problems.add(row.line, f"meter {row['serial_number']}: " + ", ".join(diffs) + " cannot change")
        return False
    return True


def _removal_allowed(*, row: Row, meter: Any, problems: Problems) -> bool:
    """removed_on may be set once, and not before the meter's last reading."""
    if row["removed_on"] == meter.removed_on:
        return True
    if meter.removed_on is not None:
        problems.add(
            row.line,
            f"meter {row['serial_number']}: removed_on is {show(meter.removed_on)} and cannot change "
            f"(file {show(row['removed_on'])})",
        )
        return False
    if meter.last_reading_on is not None and row["removed_on"] < meter.last_reading_on:
        problems.add(
            row.line,
            f"meter {row['serial_number']}: removed_on {row['removed_on']} is before its last reading "
            f"on {meter.last_reading_on}",
        )
        return False
    return True


def _update_of(*, row: Row, meter: Any) -> dict[str, Any] | None:
    """The stored meter's new verification dates and removal, or None when the file changes nothing."""
    update = {"id": meter.id, **{k: row[k] for k in UPDATABLE}, "removed_on": row["removed_on"]}
    if all(getattr(meter, k) == update[k] for k in (*UPDATABLE, "removed_on")):
        return None
    return update


def _writes(*, new: Sequence[dict[str, Any]], changed: Sequence[dict[str, Any]]) -> Apply:
    async def apply(session: AsyncSession) -> None:
        await insert_rows(session=session, table=Meter.__table__, rows=new)
        await update_rows(session=session, table=Meter.__table__, rows=changed)

    return apply
