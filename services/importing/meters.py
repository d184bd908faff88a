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
from collections.abc import Sequence

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Meter
from services.importing.cells import int_parser, opt, parse_account_number, parse_code, parse_date, req, text_parser
from services.importing.lookups import fetch, lock_personal_accounts, resolve_personal_accounts
from services.importing.report import Plan, Problems
from services.importing.rows import Row, mark_duplicates
from services.importing.stored import differences, show
from services.importing.writing import insert_rows

ZONE_LAYOUTS = {"TOTAL": ["TOTAL"], "DAY|NIGHT": ["DAY", "NIGHT"], "PEAK|SEMI_PEAK|NIGHT": ["PEAK", "SEMI_PEAK", "NIGHT"]}


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
        if row["installed_on"] and row["removed_on"] and row["removed_on"] < row["installed_on"]:
            problems.add(row.line, "removed_on is before installed_on")
        if row["verified_on"] and row["next_verification_on"] and row["next_verification_on"] < row["verified_on"]:
            problems.add(row.line, "next_verification_on is before verified_on")
    rows = await resolve_personal_accounts(session=session, rows=rows, problems=problems)
    rows = [r for r in rows if not problems.bad(r.line)]
    # Serial numbers are not unique in the table: serialise on the personal accounts.
    await lock_personal_accounts(session=session, ids=(r["personal_account_id"] for r in rows))

    serials = [r["serial_number"] for r in rows]
    stored_by_serial: dict[str, list] = defaultdict(list)
    for m in await fetch(
        session=session,
        sql="""
        SELECT m.id, m.serial_number, m.personal_account_id, m.model, m.digits, m.zones, m.installed_on,
               m.verified_on, m.next_verification_on, m.removed_on,
               (SELECT max(taken_on) FROM meter_reading mr WHERE mr.meter_id = m.id) AS last_reading_on
        FROM meter m WHERE m.serial_number = ANY(CAST(:serials AS text[]))
        """,
        serials=serials,
    ):
        stored_by_serial[m.serial_number].append(m)
    account_ids = sorted({r["personal_account_id"] for r in rows})
    current_meters = await fetch(
        session=session,
        sql="SELECT id, serial_number, personal_account_id FROM meter "
        "WHERE personal_account_id = ANY(CAST(:ids AS bigint[])) AND removed_on IS NULL",
        ids=account_ids,
    )

    plan = Plan()
    new, changed = [], []
    # Which meters will be current at each account once the file is applied.
    current: dict[int, dict[str, int | None]] = defaultdict(dict)  # account -> serial -> line (None: stored)
    for m in current_meters:
        current[m.personal_account_id][m.serial_number] = None
    for row in rows:
        stored_list = stored_by_serial.get(row["serial_number"], [])
        if len(stored_list) > 1:
            problems.add(
                row.line,
                f"serial number {row['serial_number']} is on {len(stored_list)} meters in the database; "
                "cannot tell which one this row means",
            )
            continue
        values = {k: row[k] for k in ("personal_account_id", "model", "digits", "zones", "installed_on")}
        if not stored_list:
            if row["removed_on"] is None:
                current[row["personal_account_id"]][row["serial_number"]] = row.line
            new.append({**values, **{k: row[k] for k in (*UPDATABLE, "removed_on")}, "serial_number": row["serial_number"]})
            plan.inserted += 1
            continue
        stored = stored_list[0]
        diffs = differences(stored=stored._mapping, new=values, names=FIXED)
        if diffs:
            problems.add(row.line, f"meter {row['serial_number']}: " + ", ".join(diffs) + " cannot change")
            continue
        removed = stored.removed_on
        if row["removed_on"] != stored.removed_on:
            if stored.removed_on is not None:
                problems.add(
                    row.line,
                    f"meter {row['serial_number']}: removed_on is {show(stored.removed_on)} and cannot change "
                    f"(file {show(row['removed_on'])})",
                )
                continue
            if stored.last_reading_on is not None and row["removed_on"] < stored.last_reading_on:
                problems.add(
                    row.line,
                    f"meter {row['serial_number']}: removed_on {row['removed_on']} is before its last reading "
                    f"on {stored.last_reading_on}",
                )
                continue
            removed = row["removed_on"]
            current[row["personal_account_id"]].pop(row["serial_number"], None)
        update_values = {k: row[k] for k in UPDATABLE}
        if removed != stored.removed_on or any(getattr(stored, k) != update_values[k] for k in UPDATABLE):
            changed.append({"b_id": stored.id, **update_values, "removed_on": removed})
            plan.updated += 1
        else:
            plan.unchanged += 1
    for meters in current.values():
        if len(meters) > 1:
            for serial, line in meters.items():
                if line is not None:
                    others = ", ".join(s for s in meters if s != serial)
                    problems.add(
                        line,
                        f"the personal account would have more than one current meter ({serial} and {others}); "
                        "give the old meter's removed_on",
                    )

    async def apply(session: AsyncSession) -> None:
        table = Meter.__table__
        if new:
            await insert_rows(session=session, table=table, rows=new)
        if changed:
            await session.execute(
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(
                    verified_on=bindparam("verified_on"),
                    next_verification_on=bindparam("next_verification_on"),
                    removed_on=bindparam("removed_on"),
                ),
                changed,
            )

    plan.apply = apply
    return plan
