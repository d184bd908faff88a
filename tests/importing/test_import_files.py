"""The file as a whole: all bad lines named, nothing applied, headers, formats, progress, the savepoint."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import text

from services.importing import ImportRejected, ImportReport, import_csv

HEADER = ["external_id", "res_code", "account_number", "paid_on", "amount", "category", "bill_number"]


async def test_every_bad_line_is_named_and_nothing_is_applied(imp):
    await imp.reference()
    content = (
        imp.csv(
            HEADER,
            [
                ["ok-1", "0101", "1000001", "2014-04-04", "561.18", "ELECTRICITY", ""],  # good, but not applied
                ["b-2", "0199", "1000001", "2014-04-04", "1.00", "ELECTRICITY", ""],
                ["b-3", "0101", "7777777", "2014-04-04", "1.00", "ELECTRICITY", ""],
                ["b-4", "0101", "1000001", "04.04.2014", "1.00", "ELECTRICITY", ""],
                ["b-5", "0101", "1000001", "2014-04-04", "1e3", "ELECTRICITY", ""],
                ["b-6", "0101", "1000001", "2014-04-04", "1,50", "ELECTRICITY", ""],
                ["b-7", "0101", "1000001", "2014-04-04", "1.505", "ELECTRICITY", ""],
                ["ok-1", "0101", "1000001", "2014-04-05", "2.00", "ELECTRICITY", ""],
                ["b-9", "0101", "1000001", "2014-04-04", "1.00", "GAS", ""],
                ["b-10", "0101", "1000001", "", "1.00", "ELECTRICITY", ""],
                ["b-11", "0101", "1000001", "2014-04-04", "1.00", "ELECTRICITY", "424242"],
            ],
        )
        + "b-12,0101,1000001\n"
    )
    before = await imp.counts()
    with pytest.raises(ImportRejected) as e:
        await imp.run("bank-payments", content)
    report = e.value.report
    assert (report.kind, report.rows, report.inserted, report.unchanged) == ("bank-payments", 12, 0, 0)
    assert [(p.line, p.message) for p in report.errors] == [
        (3, "res_code: unknown RES '0199'"),
        (4, "unknown personal account 7777777 in RES 0101"),
        (5, "paid_on: '04.04.2014' is not a date YYYY-MM-DD"),
        (6, "amount: '1e3' is not a decimal number with at most 2 decimals (digits and a dot only, no exponent)"),
        (7, "amount: '1,50': use a dot for decimals"),
        (8, "amount: '1.505' is not a decimal number with at most 2 decimals (digits and a dot only, no exponent)"),
        (9, "duplicate in file: same external_id as line 2"),
        (10, "category: 'GAS' is not one of ELECTRICITY, ELECTRICITY_SCHEDULE, ACTS, ACTS_SCHEDULE, SERVICES"),
        (11, "paid_on: required"),
        (12, "bill_number: unknown bill 424242"),
        (13, "expected 7 fields, found 3"),
    ]
    assert "nothing imported" in str(e.value) and "line 3: res_code: unknown RES '0199'" in str(e.value)
    assert await imp.counts() == before


async def test_a_conflict_with_a_stored_record_refuses_the_whole_file(imp):
    await imp.reference()
    first = imp.csv(HEADER, [["p-1", "0101", "1000001", "2014-04-04", "561.18", "ELECTRICITY", ""]])
    await imp.run("bank-payments", first)
    before = await imp.counts()
    second = imp.csv(
        HEADER,
        [
            ["p-2", "0101", "1000001", "2014-04-05", "10.00", "ELECTRICITY", ""],
            ["p-1", "0101", "1000001", "2014-04-04", "561.81", "ELECTRICITY", ""],
        ],
    )
    with pytest.raises(ImportRejected) as e:
        await imp.run("bank-payments", second)
    assert [p.line for p in e.value.report.errors] == [3]
    assert await imp.counts() == before


async def test_header_problems_are_reported_on_line_1(imp):
    await imp.reference()
    content = "external_id,res_code,account,paid_on,amount,category,note\nx,0101,1000001,2014-01-01,1.00,ELECTRICITY,\n"
    with pytest.raises(ImportRejected) as e:
        await imp.run("bank-payments", content)
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (
            1,
            "unknown column 'account'; the columns are: external_id, res_code, account_number, paid_on, amount, category, bill_number",
        ),
        (
            1,
            "unknown column 'note'; the columns are: external_id, res_code, account_number, paid_on, amount, category, bill_number",
        ),
        (1, "missing column 'account_number'"),
    ]
    assert e.value.report.rows == 1
    with pytest.raises(ImportRejected) as e:
        await imp.run("bank-payments", "")
    assert [(p.line, p.message) for p in e.value.report.errors] == [(1, "the file is empty: a header row is expected")]


async def test_bom_spaces_optional_columns_and_blank_lines_are_accepted(imp):
    await imp.reference()
    # Excel's BOM, spaces around cells, the optional bill_number column left out, a blank line.
    content = "\ufeffexternal_id, res_code ,account_number,paid_on,amount,category\n\n p-1 ,0101,1000001,2014-04-04, 20 ,ELECTRICITY\n"
    report = await imp.run("bank-payments", content)
    assert (report.rows, report.inserted) == (1, 1)
    assert await imp.scalar("SELECT amount FROM payment WHERE external_id = 'p-1'") == 20


async def test_progress_counts_every_row(imp):
    await imp.reference()
    rows = [[f"p-{i}", "0101", "1000001", "2014-04-04", "1.00", "ELECTRICITY", ""] for i in range(1234)]
    seen: list[int] = []
    report = await import_csv(
        session=imp.session, kind="bank-payments", stream=io.StringIO(imp.csv(HEADER, rows)), progress=seen.append
    )
    assert report == ImportReport("bank-payments", 1234, 1234, 0, [], 0)
    assert sum(seen) == 1234 and len(seen) >= 3
    assert await imp.scalar("SELECT count(*) FROM payment") == 1234


async def test_unknown_kind(imp):
    with pytest.raises(ValueError, match="unknown kind 'payments'"):
        await imp.run("payments", "a\n")


async def test_the_callers_transaction_survives_a_failed_write(imp):
    """Writes run in a savepoint: if one fails (here a concurrent insert, simulated by a trigger), nothing stays."""
    await imp.reference()
    await imp.session.execute(
        text(
            """
            CREATE FUNCTION refuse_p2() RETURNS trigger AS $$
            BEGIN IF NEW.external_id = 'p-2' THEN RAISE EXCEPTION 'simulated failure'; END IF; RETURN NEW; END $$
            LANGUAGE plpgsql;
            """
        )
    )
    await imp.session.execute(
        text("CREATE TRIGGER refuse_p2 BEFORE INSERT ON payment FOR EACH ROW EXECUTE FUNCTION refuse_p2()")
    )
    content = imp.csv(
        HEADER,
        [
            ["p-1", "0101", "1000001", "2014-04-04", "1.00", "ELECTRICITY", ""],
            ["p-2", "0101", "1000001", "2014-04-04", "1.00", "ELECTRICITY", ""],
        ],
    )
    with pytest.raises(Exception, match="simulated failure"):
        await imp.run("bank-payments", content)
    assert await imp.scalar("SELECT count(*) FROM payment") == 0


async def test_a_file_that_is_not_utf8_is_refused(imp):
    await imp.reference()
    raw = "external_id,res_code,account_number,paid_on,amount,category\np-1,0101,1000001,2014-04-04,1.00,ELECTRICITY\n"
    stream = io.TextIOWrapper(io.BytesIO(raw.encode() + "p-2,0101,Іван\n".encode("cp1251")), encoding="utf-8")
    with pytest.raises(ImportRejected) as e:
        await import_csv(session=imp.session, kind="bank-payments", stream=stream)
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (1, "the file is not UTF-8 text (save it as CSV UTF-8)")
    ]
    assert await imp.scalar("SELECT count(*) FROM payment") == 0
