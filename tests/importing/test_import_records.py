"""Historical kinds: readings, bills, bill-lines, acts, schedules, bank-payments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.importing import ImportRejected

READING_HEADER = ["external_id", "res_code", "account_number", "meter_serial", "taken_on", "values"]
BILL_HEADER = [
    "number",
    "res_code",
    "account_number",
    "category",
    "kind",
    "issued_on",
    "period_start",
    "period_end",
    "reading_external_id",
    "due_on",
    "amount",
]
LINE_HEADER = [
    "bill_number",
    "position",
    "description",
    "tariff_valid_from",
    "block",
    "zone",
    "quantity",
    "unit",
    "price",
    "coefficient",
    "amount",
]
SCHEDULE_HEADER = [
    "res_code",
    "account_number",
    "schedule_number",
    "category",
    "agreed_on",
    "total",
    "correction_bill_number",
    "instalment_due_on",
    "instalment_amount",
    "instalment_bill_number",
]
PAYMENT_HEADER = ["external_id", "res_code", "account_number", "paid_on", "amount", "category", "bill_number"]
ACT_HEADER = ["res_code", "account_number", "number", "drawn_up_on", "description", "kwh", "amount", "bill_number"]

READINGS = [
    ["r1", "0101", "1000001", "M1", "2014-05-31", "99950"],
    ["r2", "0101", "1000001", "M1", "2014-06-30", "30"],  # rollover on 5 digits: 80 kWh
    ["r3", "0101", "1000001", "M1", "2014-07-31", "530"],
    ["d1", "0101", "1000002", "M2", "2017-03-31", "1000|2000"],
    ["d2", "0101", "1000002", "M2", "2017-04-30", "1100|2250"],
]


async def _readings(imp):
    await imp.reference()
    return await imp.run("readings", imp.csv(READING_HEADER, READINGS))


async def test_readings_compute_consumption_with_rollover_and_are_idempotent(imp):
    report = await _readings(imp)
    assert (report.rows, report.inserted) == (5, 5)
    rows = await imp.rows(
        "SELECT external_id, zones, values, consumptions, consumption, source FROM meter_reading ORDER BY external_id"
    )
    assert [tuple(r) for r in rows] == [
        ("d1", ["DAY", "NIGHT"], [1000, 2000], None, None, "IMPORT"),
        ("d2", ["DAY", "NIGHT"], [1100, 2250], [100, 250], 350, "IMPORT"),
        ("r1", ["TOTAL"], [99950], None, None, "IMPORT"),
        ("r2", ["TOTAL"], [30], [80], 80, "IMPORT"),
        ("r3", ["TOTAL"], [530], [500], 500, "IMPORT"),
    ]
    before = await imp.counts()
    again = await imp.run("readings", imp.csv(READING_HEADER, READINGS))
    assert (again.inserted, again.unchanged) == (0, 5)
    assert await imp.counts() == before

    # A later file continues from the stored readings; no plausibility cap for history.
    later = await imp.run("readings", imp.csv(READING_HEADER, [["r4", "0101", "1000001", "M1", "2014-08-01", "99000"]]))
    assert later.inserted == 1
    assert await imp.scalar("SELECT consumption FROM meter_reading WHERE external_id = 'r4'") == 98470


async def test_readings_refuse_bad_and_conflicting_rows(imp):
    await _readings(imp)
    before = await imp.counts()
    bad = imp.csv(
        READING_HEADER,
        [
            ["r3", "0101", "1000001", "M1", "2014-07-31", "531"],  # stored with 530
            ["r9", "0101", "1000001", "M1", "2014-07-31", "530"],  # the date is taken
            ["r10", "0101", "1000001", "M1", "2014-07-01", "600"],  # before the last stored reading
            ["r11", "0101", "1000001", "M1", "2014-09-01", "100000"],  # six digits on a 5-digit meter
            ["r12", "0101", "1000001", "M1", "2014-09-01", "1|2"],
            ["r13", "0101", "1000001", "M2", "2014-09-01", "1|2"],  # M2 is another account's meter
            ["r14", "0101", "1000001", "M1", "2014-09-31", "1"],
            ["r15", "0101", "1000001", "M1", "2014-10-01", "-5"],
        ],
    )
    with pytest.raises(ImportRejected) as e:
        await imp.run("readings", bad)
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (
            2,
            "reading r3 already exists with different data: values (stored 530, file 531); stored readings are not changed by import",
        ),
        (3, "the personal account already has a reading on 2014-07-31 (external id r3)"),
        (
            4,
            "taken_on 2014-07-01 is not after meter M1's last stored reading on 2014-07-31; stored readings are never recomputed",
        ),
        (5, "values: 100000 does not fit the meter's 5 digits"),
        (6, "values: 2 value(s) given, meter M1 has zones TOTAL"),
        (7, "meter M2 is not a meter of this personal account"),
        (8, "taken_on: '2014-09-31' is not a valid date"),
        (9, "values: '-5' is not 1 to 3 whole numbers split by '|'"),
    ]
    assert await imp.counts() == before


async def test_readings_duplicate_dates_in_file(imp):
    await imp.reference()
    with pytest.raises(ImportRejected) as e:
        await imp.run(
            "readings",
            imp.csv(
                READING_HEADER,
                [
                    ["a", "0101", "1000001", "M1", "2014-01-01", "1"],
                    ["b", "0101", "1000001", "M1", "2014-01-01", "2"],
                    ["a", "0101", "1000001", "M1", "2014-01-02", "3"],
                ],
            ),
        )
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (3, "duplicate in file: same personal account and taken_on as line 2"),
        (4, "duplicate in file: same external_id as line 2"),
    ]


async def test_readings_need_a_known_meter_in_service_on_the_date(imp):
    await imp.reference()
    await imp.run(
        "meters",
        imp.csv(
            ["serial_number", "res_code", "account_number", "model", "digits", "zones", "installed_on", "removed_on"],
            [["M2", "0101", "1000002", "НІК 2303", "6", "DAY|NIGHT", "2010-01-01", "2014-05-01"]],
        ),
    )
    with pytest.raises(ImportRejected) as e:
        await imp.run(
            "readings",
            imp.csv(
                READING_HEADER,
                [
                    ["x1", "0101", "1000001", "M9", "2014-01-01", "1"],
                    ["x2", "0101", "1000001", "M1", "2009-12-31", "1"],
                    ["x3", "0101", "1000002", "M2", "2014-05-02", "1|2"],
                    ["x4", "0101", "1000002", "M2", "2014-05-01", "1|2"],  # on the removal date: fine
                ],
            ),
        )
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (2, "unknown meter 'M9'"),
        (3, "taken_on 2009-12-31 is before the meter was installed (2010-01-01)"),
        (4, "taken_on 2014-05-02 is after the meter was removed (2014-05-01)"),
    ]


BILLS = [
    [
        "900001",
        "0101",
        "1000001",
        "ELECTRICITY",
        "CONSUMPTION",
        "2014-07-01",
        "2014-06-01",
        "2014-06-30",
        "r2",
        "",
        "22.42",
    ],
    ["900002", "0101", "1000001", "ELECTRICITY", "CORRECTION", "2014-07-05", "", "", "", "", "-5.00"],
    ["900003", "0101", "1000001", "SERVICES", "SERVICE", "2014-12-05", "", "", "", "2014-12-31", "150.00"],
    ["900004", "0101", "1000001", "ACTS", "ACT", "2014-07-10", "", "", "", "", "957.60"],
]


async def _bills(imp):
    await _readings(imp)
    return await imp.run("bills", imp.csv(BILL_HEADER, BILLS))


NEXT_BILL_NUMBER = "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM bill_number_seq"


async def test_bills_import_link_readings_default_due_and_move_the_bill_numbers_past_them(imp):
    report = await _bills(imp)
    assert (report.rows, report.inserted) == (4, 4)
    rows = await imp.rows(
        "SELECT b.number, b.due_on, b.source, mr.external_id FROM bill b LEFT JOIN meter_reading mr ON mr.id = b.reading_id ORDER BY b.number"
    )
    assert [tuple(r) for r in rows] == [
        (900001, dt.date(2014, 8, 20), "IMPORT", "r2"),
        (900002, dt.date(2014, 8, 20), "IMPORT", None),
        (900003, dt.date(2014, 12, 31), "IMPORT", None),
        (900004, dt.date(2014, 8, 20), "IMPORT", None),
    ]
    assert await imp.scalar(NEXT_BILL_NUMBER) == 900005

    before = await imp.counts()
    again = await imp.run("bills", imp.csv(BILL_HEADER, BILLS))
    assert (again.inserted, again.unchanged) == (0, 4)
    assert await imp.counts() == before

    # The sequence never goes back; a lower imported number leaves it where it is.
    await imp.scalar("SELECT setval('bill_number_seq', 950000)")
    await imp.run(
        "bills",
        imp.csv(BILL_HEADER, [["5", "0101", "1000002", "SERVICES", "SERVICE", "2014-01-01", "", "", "", "", "1.00"]]),
    )
    assert await imp.scalar(NEXT_BILL_NUMBER) == 950001
    # Nor when it had been moved but not yet used (next 950005, the highest stored 950004).
    await imp.scalar("SELECT setval('bill_number_seq', 950005, false)")
    await imp.run(
        "bills",
        imp.csv(
            BILL_HEADER, [["950004", "0101", "1000002", "SERVICES", "SERVICE", "2014-01-01", "", "", "", "", "1.00"]]
        ),
    )
    assert await imp.scalar(NEXT_BILL_NUMBER) == 950005
    # A number at or past the next one moves it on, past the highest.
    await imp.run(
        "bills",
        imp.csv(
            BILL_HEADER, [["950005", "0101", "1000002", "SERVICES", "SERVICE", "2014-01-01", "", "", "", "", "1.00"]]
        ),
    )
    assert await imp.scalar(NEXT_BILL_NUMBER) == 950006


async def test_bills_refuse_conflicts_and_inconsistent_rows(imp):
    await _bills(imp)
    before = await imp.counts()
    bad = imp.csv(
        BILL_HEADER,
        [
            [
                "900001",
                "0101",
                "1000001",
                "ELECTRICITY",
                "CONSUMPTION",
                "2014-07-01",
                "2014-06-01",
                "2014-06-30",
                "r2",
                "",
                "22.43",
            ],
            ["900010", "0101", "1000001", "ELECTRICITY", "ACT", "2014-07-01", "", "", "", "", "1.00"],
            ["900011", "0101", "1000001", "ELECTRICITY", "CONSUMPTION", "2014-08-01", "", "", "", "", "1.00"],
            [
                "900012",
                "0101",
                "1000001",
                "ELECTRICITY",
                "CONSUMPTION",
                "2014-08-01",
                "2014-07-01",
                "2014-07-31",
                "r2",
                "",
                "1.00",
            ],
            ["900013", "0101", "1000001", "SERVICES", "SERVICE", "2014-08-01", "", "", "", "", "-1.00"],
            [
                "900014",
                "0102",
                "2000001",
                "ELECTRICITY",
                "CONSUMPTION",
                "2014-08-01",
                "2014-07-01",
                "2014-07-31",
                "r3",
                "",
                "1.00",
            ],
            [
                "900015",
                "0101",
                "1000001",
                "ELECTRICITY",
                "CONSUMPTION",
                "2014-07-30",
                "2014-07-01",
                "2014-07-31",
                "",
                "",
                "1.00",
            ],
        ],
    )
    with pytest.raises(ImportRejected) as e:
        await imp.run("bills", bad)
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (
            2,
            "bill 900001 already exists with different data: amount (stored 22.42, file 22.43); bills are immutable (a mistake is corrected by a CORRECTION bill)",
        ),
        (3, "a bill of kind ACT cannot be in category ELECTRICITY (allowed: ACTS)"),
        (4, "a CONSUMPTION bill needs period_start and period_end"),
        (5, "reading_external_id: reading r2 was taken on 2014-06-30, the period ends 2014-07-31"),
        (6, "amount: only a CORRECTION may be negative, this is a SERVICE bill"),
        (7, "reading_external_id: reading r3 is of another personal account"),
        (8, "period_end is after issued_on: a bill is formed after its period"),
    ]
    assert await imp.counts() == before


LINES = [
    ["900001", "1", "Електроенергія, блок 1", "2012-07-01", "1", "TOTAL", "80", "кВт·год", "0.2802", "1", "22.42"],
    ["900002", "1", "Коригування", "", "", "", "", "", "", "", "-5.00"],
    ["900003", "1", "Заміна лічильника", "", "", "", "1", "послуга", "100.00", "", "100.00"],
    ["900003", "2", "Виїзд бригади", "", "", "", "1", "послуга", "50.00", "", "50.00"],
]


async def test_bill_lines_import_and_must_sum_to_the_bill(imp):
    await _bills(imp)
    report = await imp.run("bill-lines", imp.csv(LINE_HEADER, LINES))
    assert (report.rows, report.inserted) == (4, 4)
    before = await imp.counts()
    again = await imp.run("bill-lines", imp.csv(LINE_HEADER, LINES))
    assert (again.inserted, again.unchanged) == (0, 4)
    assert await imp.counts() == before

    bad = imp.csv(
        LINE_HEADER,
        [
            ["900004", "1", "Акт", "2012-07-01", "3", "TOTAL", "1000", "кВт·год", "0.9576", "1", "957.60"],
            ["900004", "2", "Ще щось", "", "", "", "", "", "", "", "0.01"],
            ["900003", "3", "Додатково", "", "", "", "", "", "", "", "0.00"],
            [
                "900001",
                "1",
                "Електроенергія, блок 1",
                "2012-07-01",
                "1",
                "TOTAL",
                "80",
                "кВт·год",
                "0.2802",
                "1",
                "22.41",
            ],
        ],
    )
    with pytest.raises(ImportRejected) as e:
        await imp.run("bill-lines", bad)
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (2, "the lines of bill 900004 sum to 957.61, the bill's amount is 957.60"),
        (4, "bill 900003 already has its 2 line(s); a bill's lines are imported once"),
        (
            5,
            "line 1 of bill 900001 already exists with different data: amount (stored 22.42, file 22.41); bills are immutable",
        ),
    ]
    assert await imp.counts() == before


async def test_bill_lines_check_tariff_price_and_arithmetic(imp):
    await _bills(imp)
    bad = imp.csv(
        LINE_HEADER,
        [
            ["900004", "1", "Акт", "2012-07-01", "3", "TOTAL", "1000", "кВт·год", "0.9577", "1", "957.60"],
            ["900001", "1", "Е", "2012-07-01", "4", "TOTAL", "80", "кВт·год", "0.2802", "1", "22.42"],
            ["900003", "1", "Послуга", "", "", "", "2", "послуга", "100.00", "", "150.00"],
            ["900003", "3", "Послуга", "", "", "", "", "", "", "", "0.00"],
            ["999999", "1", "?", "2099-01-01", "", "", "", "", "", "", "1.00"],
        ],
    )
    with pytest.raises(ImportRejected) as e:
        await imp.run("bill-lines", bad)
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (2, "price 0.9577 is not the price 0.9576 of block 3 of the tariff valid from 2012-07-01"),
        (2, "amount 957.60 does not match quantity × price × coefficient = 957.70"),
        (3, "block: the tariff valid from 2012-07-01 has no block 4"),
        (4, "amount 150.00 does not match quantity × price × coefficient = 200.00"),
        (4, "bill 900003: positions must be 1..2, got [1, 3]"),
        (6, "bill_number: unknown bill 999999"),
    ]


async def test_bill_lines_name_a_tariff_for_a_block_and_repeat_all_stored_lines(imp):
    await _bills(imp)
    await imp.run("bill-lines", imp.csv(LINE_HEADER, LINES))
    before = await imp.counts()
    bad = imp.csv(
        LINE_HEADER,
        [
            LINES[2],  # bill 900003 has two stored lines: the file gives one
            ["900004", "1", "Акт", "", "3", "TOTAL", "1000", "кВт·год", "0.9576", "1", "957.60"],
            ["900004", "2", "Ще", "2099-01-01", "", "", "", "", "", "", "0.00"],
        ],
    )
    with pytest.raises(ImportRejected) as e:
        await imp.run("bill-lines", bad)
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (2, "bill 900003 has 2 stored line(s), the file gives 1"),
        (3, "block needs tariff_valid_from"),
        (4, "tariff_valid_from: no tariff valid from 2099-01-01"),
    ]
    assert await imp.counts() == before


async def test_acts_import_idempotently_and_check_their_bill(imp):
    await _bills(imp)
    acts = [["0101", "1000001", "A-1", "2014-07-09", "Самовільне підключення", "1000", "957.60", "900004"]]
    report = await imp.run("acts", imp.csv(ACT_HEADER, acts))
    assert report.inserted == 1
    before = await imp.counts()
    assert (await imp.run("acts", imp.csv(ACT_HEADER, acts))).unchanged == 1
    bad = imp.csv(
        ACT_HEADER,
        [
            ["0101", "1000001", "A-1", "2014-07-09", "Інший опис", "1000", "957.60", "900004"],
            ["0101", "1000001", "A-2", "2014-07-09", "Акт", "", "150.00", "900003"],
            ["0101", "1000001", "A-3", "2014-07-11", "Акт", "", "957.60", "900004"],
        ],
    )
    with pytest.raises(ImportRejected) as e:
        await imp.run("acts", bad)
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (
            2,
            "act A-1 already exists with different data: description (stored Самовільне підключення, file Інший опис); stored records are not changed by import",
        ),
        (3, "bill_number: bill 900003 is a SERVICE bill, expected ACT"),
        (3, "bill_number: bill 900003 is in category SERVICES, expected ACTS"),
        (4, "bill_number: bill 900004 was issued before the act was drawn up"),
        (4, "bill_number: bill 900004 already bills act A-1"),
        (4, "bill_number: bill 900004 is also given on line 2"),
    ]
    assert await imp.counts() == before


SCHEDULE_BILLS = [
    ["700001", "0101", "1000001", "ACTS", "CORRECTION", "2014-08-01", "", "", "", "", "-900.00"],
    ["700002", "0101", "1000001", "ACTS_SCHEDULE", "INSTALLMENT", "2014-09-01", "", "", "", "", "300.00"],
    ["700003", "0101", "1000001", "ACTS_SCHEDULE", "INSTALLMENT", "2014-10-01", "", "", "", "", "300.00"],
    ["700004", "0101", "1000001", "ACTS_SCHEDULE", "INSTALLMENT", "2014-11-01", "", "", "", "", "300.00"],
]
SCHEDULE = [
    ["0101", "1000001", "G-1", "ACTS_SCHEDULE", "2014-08-01", "900.00", "700001", "2014-09-01", "300.00", "700002"],
    ["0101", "1000001", "G-1", "ACTS_SCHEDULE", "2014-08-01", "900.00", "700001", "2014-10-01", "300.00", "700003"],
    ["0101", "1000001", "G-1", "ACTS_SCHEDULE", "2014-08-01", "900.00", "700001", "2014-11-01", "300.00", "700004"],
]


async def test_schedules_import_idempotently(imp):
    await imp.reference()
    await imp.run("bills", imp.csv(BILL_HEADER, SCHEDULE_BILLS))
    report = await imp.run("schedules", imp.csv(SCHEDULE_HEADER, SCHEDULE))
    assert (report.rows, report.inserted) == (3, 3)
    rows = await imp.rows(
        "SELECT s.number, s.category, s.total, cb.number AS correction, i.due_on, i.amount, ib.number AS bill "
        "FROM repayment_schedule s JOIN bill cb ON cb.id = s.correction_bill_id JOIN instalment i ON i.schedule_id = s.id "
        "JOIN bill ib ON ib.id = i.bill_id ORDER BY i.due_on"
    )
    assert [tuple(r)[-3:] for r in rows] == [
        (dt.date(2014, 9, 1), Decimal("300.00"), 700002),
        (dt.date(2014, 10, 1), Decimal("300.00"), 700003),
        (dt.date(2014, 11, 1), Decimal("300.00"), 700004),
    ]
    assert tuple(rows[0])[:4] == ("G-1", "ACTS_SCHEDULE", Decimal("900.00"), 700001)
    before = await imp.counts()
    again = await imp.run("schedules", imp.csv(SCHEDULE_HEADER, SCHEDULE))
    assert (again.inserted, again.unchanged) == (0, 3)
    assert await imp.counts() == before

    # The same schedule with an instalment moved is a conflict.
    moved = [r[:] for r in SCHEDULE]
    moved[2][7], moved[2][9] = "2014-11-02", ""
    with pytest.raises(ImportRejected) as e:
        await imp.run("schedules", imp.csv(SCHEDULE_HEADER, moved))
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (
            2,
            "schedule G-1 already exists with different data: instalments (stored only: 2014-11-01 300.00; "
            "file only: 2014-11-02 300.00); "
            "stored schedules are not changed by import",
        ),
    ]
    assert await imp.counts() == before


async def test_schedule_instalments_must_sum_to_the_total(imp):
    await imp.reference()
    await imp.run("bills", imp.csv(BILL_HEADER, SCHEDULE_BILLS))
    before = await imp.counts()
    short = [r[:] for r in SCHEDULE[:2]] + [
        ["0101", "1000001", "G-1", "ACTS_SCHEDULE", "2014-08-01", "900.00", "700001", "2014-11-01", "299.99", ""]
    ]
    with pytest.raises(ImportRejected) as e:
        await imp.run("schedules", imp.csv(SCHEDULE_HEADER, short))
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (2, "the instalments of schedule G-1 sum to 899.99, its total is 900.00"),
    ]
    wrong = [r[:] for r in SCHEDULE]
    for r in wrong:
        r[3] = "ELECTRICITY_SCHEDULE"
    wrong[0][7] = "2014-07-01"
    with pytest.raises(ImportRejected) as e:
        await imp.run("schedules", imp.csv(SCHEDULE_HEADER, wrong))
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (2, "instalment_due_on 2014-07-01 is before the schedule was agreed (2014-08-01)"),
        (2, "correction_bill_number: bill 700001 is in category ACTS, expected ELECTRICITY"),
        (2, "instalment_bill_number: bill 700002 is in category ACTS_SCHEDULE, expected ELECTRICITY_SCHEDULE"),
        (3, "instalment_bill_number: bill 700003 is in category ACTS_SCHEDULE, expected ELECTRICITY_SCHEDULE"),
        (4, "instalment_bill_number: bill 700004 is in category ACTS_SCHEDULE, expected ELECTRICITY_SCHEDULE"),
    ]
    assert await imp.counts() == before


PAYMENTS = [
    ["p1", "0101", "1000001", "2014-07-03", "22.42", "ELECTRICITY", "900001"],
    ["p2", "0101", "1000001", "2014-07-04", "100.00", "ACTS", ""],
]


async def test_bank_payments_import_idempotently_and_refuse_conflicts(imp):
    await _bills(imp)
    report = await imp.run("bank-payments", imp.csv(PAYMENT_HEADER, PAYMENTS))
    assert report.inserted == 2
    rows = await imp.rows(
        "SELECT external_id, channel, amount, bill_id IS NOT NULL AS for_bill FROM payment ORDER BY external_id"
    )
    assert [tuple(r) for r in rows] == [
        ("p1", "BANK", Decimal("22.42"), True),
        ("p2", "BANK", Decimal("100.00"), False),
    ]
    before = await imp.counts()
    again = await imp.run("bank-payments", imp.csv(PAYMENT_HEADER, PAYMENTS))
    assert (again.inserted, again.unchanged) == (0, 2)
    bad = imp.csv(
        PAYMENT_HEADER,
        [
            ["p1", "0101", "1000001", "2014-07-03", "22.24", "ELECTRICITY", "900001"],
            ["p3", "0101", "1000001", "2014-07-03", "1.00", "SERVICES", "900001"],
            ["p4", "0101", "1000002", "2014-07-03", "1.00", "ELECTRICITY", "900001"],
            ["p5", "0101", "1000002", "2014-07-03", "0.00", "ELECTRICITY", ""],
        ],
    )
    with pytest.raises(ImportRejected) as e:
        await imp.run("bank-payments", bad)
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (
            2,
            "payment p1 already exists with different data: amount (stored 22.42, file 22.24); stored records are not changed by import",
        ),
        (3, "bill_number: bill 900001 is in category ELECTRICITY, expected SERVICES"),
        (4, "bill_number: bill 900001 belongs to personal account 1000001 in RES 0101"),
        (5, "amount: 0.00 must be greater than 0"),
    ]
    assert await imp.counts() == before
