"""Reference kinds: res, personal-accounts, meters, tariffs, links."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.importing import DEMO_DIR, ImportRejected

RES_HEADER = ["code", "name", "oblast_code", "oblast_name", "supplier_name", "edrpou", "iban", "address"]
METER_HEADER = [
    "serial_number",
    "res_code",
    "account_number",
    "model",
    "digits",
    "zones",
    "installed_on",
    "verified_on",
    "next_verification_on",
    "removed_on",
]


async def test_res_imports_idempotently_and_updates(imp):
    first = await imp.run("res", imp.RES)
    assert (first.rows, first.inserted, first.unchanged, first.updated) == (2, 2, 0, 0)
    assert await imp.scalar("SELECT count(*) FROM oblast") == 2
    before = await imp.counts()

    again = await imp.run("res", imp.RES)
    assert (again.rows, again.inserted, again.unchanged, again.updated) == (2, 0, 2, 0)
    assert await imp.counts() == before

    moved = imp.RES.replace("пл. Івана Франка, 5", "вул. Новая, 7").replace(",80,м. Київ,", ",80,місто Київ,")
    changed = await imp.run("res", moved)
    assert (changed.inserted, changed.unchanged, changed.updated) == (0, 1, 1)
    assert await imp.scalar("SELECT address FROM res WHERE code = '0102'") == "01001, м. Київ, вул. Новая, 7"
    assert await imp.scalar("SELECT name FROM oblast WHERE code = '80'") == "місто Київ"
    assert await imp.counts() == before


async def test_res_bad_rows_are_all_named(imp):
    content = imp.csv(
        RES_HEADER,
        [
            ["0101", "A", "14", "Донецька область", "S", "00131268", "UA213223130000026007233566001", "addr"],
            ["0102", "B", "14", "Донецька обл.", "S", "0013126X", "UA213223130000026007233566002", "addr"],
            ["0101", "C", "15", "Луганська", "S", "00131268", "UA213223130000026007233566001", "addr"],
            ["01 03", "D", "15", "Луганська", "S", "00131268", "DE89370400440532013000", ""],
        ],
    )
    before = await imp.counts()
    with pytest.raises(ImportRejected) as e:
        await imp.run("res", content)
    problems = [(p.line, p.message) for p in e.value.report.errors]
    assert problems == [
        (3, "edrpou: '0013126X' is not an ЄДРПОУ code of 8 (or 10) digits"),
        (3, "iban: 'UA213223130000026007233566002': the IBAN checksum is wrong"),
        (4, "duplicate in file: same code as line 2"),
        (5, "code: '01 03' is not a code (letters, digits, - or _)"),
        (5, "iban: 'DE89370400440532013000' is not a Ukrainian IBAN (UA and 27 digits)"),
        (5, "address: required"),
    ]
    assert await imp.counts() == before


async def test_res_oblast_named_twice_differently(imp):
    content = imp.csv(
        RES_HEADER,
        [
            ["0101", "A", "14", "Донецька область", "S", "00131268", "UA213223130000026007233566001", "addr"],
            ["0102", "B", "14", "Донецька обл.", "S", "00131268", "UA213223130000026007233566001", "addr"],
        ],
    )
    with pytest.raises(ImportRejected) as e:
        await imp.run("res", content)
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (3, "oblast 14 is named 'Донецька область' on line 2, here 'Донецька обл.'")
    ]


async def test_personal_accounts_import_update_and_refuse_unknown_res(imp):
    await imp.run("res", imp.RES)
    first = await imp.run("personal-accounts", imp.ACCOUNTS)
    assert (first.inserted, first.unchanged) == (3, 0)
    again = await imp.run("personal-accounts", imp.ACCOUNTS)
    assert (again.inserted, again.unchanged, again.updated) == (0, 3, 0)

    renamed = await imp.run("personal-accounts", imp.ACCOUNTS.replace("Іваненко Іван", "Іваненко Іван Іванович"))
    assert (renamed.inserted, renamed.unchanged, renamed.updated) == (0, 2, 1)
    assert (
        await imp.scalar("SELECT holder_name FROM personal_account WHERE number = '1000001'")
        == "Іваненко Іван Іванович"
    )

    before = await imp.counts()
    bad = imp.csv(
        ["res_code", "number", "holder_name", "address"],
        [["0199", "1", "X", "Y"], ["0101", "1000009", "X", "Y"], ["0101", "1000009", "X", "Z"]],
    )
    with pytest.raises(ImportRejected) as e:
        await imp.run("personal-accounts", bad)
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (2, "res_code: unknown RES '0199'"),
        (4, "duplicate in file: same res_code and number as line 3"),
    ]
    assert await imp.counts() == before


async def test_meters_import_update_verification_and_refuse_changes(imp):
    await imp.run("res", imp.RES)
    await imp.run("personal-accounts", imp.ACCOUNTS)
    first = await imp.run("meters", imp.METERS)
    assert (first.inserted, first.unchanged) == (3, 0)
    assert await imp.scalar("SELECT zones FROM meter WHERE serial_number = 'M3'") == ["PEAK", "SEMI_PEAK", "NIGHT"]
    again = await imp.run("meters", imp.METERS)
    assert (again.inserted, again.unchanged, again.updated) == (0, 3, 0)

    verified = imp.METERS.replace("2010-01-01,2018-01-01", "2017-12-20,2025-12-20")
    report = await imp.run("meters", verified)
    assert (report.updated, report.unchanged) == (1, 2)
    assert await imp.scalar("SELECT next_verification_on FROM meter WHERE serial_number = 'M1'") == dt.date(
        2025, 12, 20
    )

    before = await imp.counts()
    bad = imp.csv(
        METER_HEADER,
        [
            ["M1", "0101", "1000001", "СО-505", "6", "TOTAL", "2010-01-01", "", "", ""],  # digits cannot change
            ["M4", "0101", "1000002", "", "5", "TOTAL", "", "", "", ""],  # M2 is still current there
            ["M5", "0101", "1000001", "", "5", "DAY|PEAK", "", "", "", ""],
            ["M6", "0101", "9999999", "", "5", "TOTAL", "2014-01-02", "", "", "2014-01-01"],
        ],
    )
    with pytest.raises(ImportRejected) as e:
        await imp.run("meters", bad)
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (2, "meter M1: digits (stored 5, file 6) cannot change"),
        (3, "the personal account would have more than one current meter (M4 and M2); give the old meter's removed_on"),
        (4, "zones: 'DAY|PEAK' is not one of TOTAL, DAY|NIGHT, PEAK|SEMI_PEAK|NIGHT"),
        (5, "removed_on is before installed_on"),
        (5, "unknown personal account 9999999 in RES 0101"),
    ]
    assert await imp.counts() == before

    # Replacing a meter: the old one's removal and the new one in one file.
    replaced = imp.csv(
        METER_HEADER,
        [
            ["M2", "0101", "1000002", "НІК 2303", "6", "DAY|NIGHT", "2010-01-01", "", "", "2014-05-01"],
            ["M4", "0101", "1000002", "", "5", "TOTAL", "2014-05-01", "2014-04-01", "2030-04-01", ""],
        ],
    )
    report = await imp.run("meters", replaced)
    assert (report.inserted, report.updated) == (1, 1)
    current = await imp.rows("SELECT serial_number FROM meter WHERE removed_on IS NULL ORDER BY serial_number")
    assert [r.serial_number for r in current] == ["M1", "M3", "M4"]


async def test_meters_removal_once_after_the_last_reading_and_one_meter_per_serial(imp):
    await imp.reference()
    await imp.run(
        "readings",
        imp.csv(
            ["external_id", "res_code", "account_number", "meter_serial", "taken_on", "values"],
            [["r1", "0101", "1000001", "M1", "2014-05-31", "100"]],
        ),
    )
    await imp.run(
        "meters",
        imp.csv(METER_HEADER, [["M3", "0102", "2000001", "", "5", "PEAK|SEMI_PEAK|NIGHT", "", "", "", "2014-01-01"]]),
    )
    # A serial number that two stored meters share names neither.
    await imp.session.execute(
        __import__("sqlalchemy").text(
            "INSERT INTO meter (personal_account_id, serial_number, digits, zones) "
            "SELECT id, 'M2', 5, ARRAY['TOTAL'] FROM personal_account WHERE number = '2000001'"
        )
    )
    before = await imp.counts()
    bad = imp.csv(
        METER_HEADER,
        [
            ["M1", "0101", "1000001", "СО-505", "5", "TOTAL", "2010-01-01", "2010-01-01", "2018-01-01", "2014-05-01"],
            ["M3", "0102", "2000001", "", "5", "PEAK|SEMI_PEAK|NIGHT", "", "", "", "2014-02-01"],
            ["M2", "0101", "1000002", "НІК 2303", "6", "DAY|NIGHT", "2010-01-01", "", "", ""],
            ["M7", "0101", "1000002", "", "5", "TOTAL", "", "2014-01-01", "2013-01-01", "2014-01-02"],
        ],
    )
    with pytest.raises(ImportRejected) as e:
        await imp.run("meters", bad)
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (2, "meter M1: removed_on 2014-05-01 is before its last reading on 2014-05-31"),
        (3, "meter M3: removed_on is 2014-01-01 and cannot change (file 2014-02-01)"),
        (4, "serial number M2 is on 2 meters in the database; cannot tell which one this row means"),
        (5, "next_verification_on is before verified_on"),
    ]
    assert await imp.counts() == before


async def test_tariffs_demo_history_imports_idempotently(imp):
    content = (DEMO_DIR / "tariffs.csv").read_text(encoding="utf-8")
    first = await imp.run("tariffs", content)
    assert (first.rows, first.inserted) == (24, 24)
    assert await imp.scalar("SELECT count(*) FROM tariff") == 10
    rows = await imp.rows(
        "SELECT t.mode, b.block, b.upper_bound, b.price FROM tariff t JOIN tariff_block b ON b.tariff_id = t.id "
        "WHERE t.valid_from = '2021-10-01' ORDER BY b.block"
    )
    assert [tuple(r) for r in rows] == [
        ("WHOLE_VOLUME", 1, 250, Decimal("1.44")),
        ("WHOLE_VOLUME", 2, None, Decimal("1.68")),
    ]
    before = await imp.counts()
    again = await imp.run("tariffs", content)
    assert (again.inserted, again.unchanged) == (0, 24)
    assert await imp.counts() == before

    changed = content.replace(
        '2012-07-01,INCREMENTAL,"Побутові споживачі, з 01.07.2012",2,800,0.3648',
        '2012-07-01,INCREMENTAL,"Побутові споживачі, з 01.07.2012",2,800,0.3649',
    )
    with pytest.raises(ImportRejected) as e:
        await imp.run("tariffs", changed)
    [problem] = e.value.report.errors
    assert problem.line == 2
    assert problem.message.startswith("tariff valid from 2012-07-01 already exists with different data: blocks")
    assert await imp.counts() == before


async def test_tariff_structure_is_checked(imp):
    content = imp.csv(
        ["valid_from", "mode", "name", "block", "upper_bound", "price"],
        [
            ["2030-01-01", "INCREMENTAL", "a", "1", "300", "1.0"],
            ["2030-01-01", "INCREMENTAL", "a", "2", "200", "2.0"],
            ["2030-01-01", "INCREMENTAL", "a", "3", "", "3.0"],
            ["2031-01-01", "FLAT", "b", "1", "", "1.0"],
            ["2031-01-01", "FLAT", "b", "2", "", "2.0"],
            ["2032-01-01", "INCREMENTAL", "c", "1", "100", "1.0"],
            ["2032-01-01", "WHOLE_VOLUME", "c", "3", "", "1.0"],
            ["2033-01-01", "FLAT", "d", "1", "", "1e2"],
        ],
    )
    with pytest.raises(ImportRejected) as e:
        await imp.run("tariffs", content)
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (2, "tariff valid from 2030-01-01: block bounds must increase, got [300, 200]"),
        (5, "tariff valid from 2031-01-01: only the last block may be open"),
        (7, "tariff valid from 2032-01-01: blocks must be numbered 1..2, got [1, 3]"),
        (8, "mode differs from line 7 of the tariff valid from 2032-01-01"),
        (9, "price: '1e2' is not a decimal number with at most 4 decimals (digits and a dot only, no exponent)"),
    ]
    assert await imp.scalar("SELECT count(*) FROM tariff") == 0


async def _login(imp, login: str, status: str = "ACTIVE", role: str = "CUSTOMER") -> int:
    return await imp.scalar(
        "INSERT INTO account (login, full_name, email, password_hash, role, status) "
        "VALUES (:l, :l, :e, 'x', :r, :s) RETURNING id",
        l=login,
        e=f"{login}@example.test",
        r=role,
        s=status,
    )


async def test_links_approve_idempotently_and_activate_pending_logins(imp):
    await imp.run("res", imp.RES)
    await imp.run("personal-accounts", imp.ACCOUNTS)
    await _login(imp, "ivan")
    pending = await _login(imp, "Petro", status="PENDING")
    await _login(imp, "boss", role="ADMIN")
    content = imp.csv(
        ["login", "res_code", "account_number"],
        [["ivan", "0101", "1000001"], ["petro", "0101", "1000002"], ["ivan", "0102", "2000001"]],
    )
    first = await imp.run("links", content)
    assert (first.inserted, first.unchanged) == (3, 0)
    rows = await imp.rows(
        "SELECT a.login, pa.number, ar.status, ar.method, ar.at_registration, ar.decided_at IS NOT NULL AS decided "
        "FROM activation_request ar JOIN account a ON a.id = ar.account_id "
        "JOIN personal_account pa ON pa.id = ar.personal_account_id ORDER BY a.login, pa.number"
    )
    assert [tuple(r) for r in rows] == [
        ("Petro", "1000002", "APPROVED", "ADMIN_REVIEW", True, True),
        ("ivan", "1000001", "APPROVED", "ADMIN_REVIEW", True, True),
        ("ivan", "2000001", "APPROVED", "ADMIN_REVIEW", True, True),
    ]
    assert await imp.scalar("SELECT status FROM account WHERE id = :id", id=pending) == "ACTIVE"

    before = await imp.counts()
    again = await imp.run("links", content)
    assert (again.inserted, again.unchanged) == (0, 3)
    assert await imp.counts() == before

    bad = imp.csv(
        ["login", "res_code", "account_number"],
        [["nobody", "0101", "1000001"], ["boss", "0101", "1000001"], ["ivan", "0101", "7"]],
    )
    with pytest.raises(ImportRejected) as e:
        await imp.run("links", bad)
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (2, "login: unknown login 'nobody'"),
        (3, "login: boss is an admin; admins have no personal accounts"),
        (4, "unknown personal account 7 in RES 0101"),
    ]
    assert await imp.counts() == before
