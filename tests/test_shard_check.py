"""scripts/shard_check.py: statements read from the server's log, classified against the Citus
plan of docs/scaling.md, and the plan's lists checked against the schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from models import Base
from scripts import shard_check
from scripts.shard_check import (
    COORDINATOR_ONLY,
    FAN_OUT,
    KEY_FILTERED,
    OTHER,
    REFERENCE_ONLY,
    Classifier,
    placement_problems,
    plan_of,
    schema_columns,
    statements_of_log,
)

PLAN_FILE = Path(__file__).resolve().parent.parent / "docs" / "scaling.md"
PLAN = plan_of(PLAN_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def classify():
    classifier = Classifier(PLAN, schema_columns())
    return lambda sql: classifier.statement(sql).of(PLAN)


def test_every_table_of_the_schema_is_in_exactly_one_list():
    assert placement_problems(PLAN, Base.metadata.tables) == []
    # The check would catch a table added without a decision, and one placed twice.
    assert placement_problems(PLAN, [*Base.metadata.tables, "new_table"]) == ["new_table: in no list"]
    twice = plan_of(PLAN_FILE.read_text(encoding="utf-8").replace("\n- oblast\n", "\n- oblast\n- bill\n", 1))
    assert any(p.startswith("bill: in ") for p in placement_problems(twice, Base.metadata.tables))


def test_the_plan_gives_each_fan_out_shape_a_reason():
    assert PLAN.fan_out, "docs/scaling.md lists no fan-out statements"
    for fingerprint, reason in PLAN.fan_out.items():
        assert len(reason) > 15, (fingerprint, reason)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT b.id FROM bill b WHERE b.personal_account_id = $1 AND b.issued_on >= $2",
        "SELECT id FROM bill WHERE personal_account_id IN ($1::BIGINT, $2::BIGINT)",
        "SELECT * FROM payment WHERE personal_account_id = ANY($1::bigint[]) ORDER BY paid_on",
        "SELECT number FROM personal_account WHERE id = $1",
        "UPDATE meter SET removed_on = $2 WHERE personal_account_id = $1 AND id = $3",
        "DELETE FROM document WHERE personal_account_id = $1 AND key = $2",
        "INSERT INTO bill (personal_account_id, number, amount) VALUES ($1, $2, $3)",
    ],
)
def test_a_statement_pinned_to_the_key_is_key_filtered(classify, sql):
    assert classify(sql) == KEY_FILTERED


@pytest.mark.parametrize(
    "sql",
    [
        # Co-located joins: on the key, with one side pinned.
        "SELECT l.amount FROM bill b JOIN bill_line l ON l.personal_account_id = b.personal_account_id AND l.bill_id = b.id"
        " WHERE b.personal_account_id = $1",
        "SELECT p.number, m.serial_number FROM personal_account p JOIN meter m ON m.personal_account_id = p.id WHERE p.id = $1",
        # The ids given as rows of a function of parameters.
        "SELECT b.id FROM unnest($1::bigint[]) AS p(id) JOIN bill b ON b.personal_account_id = p.id",
        # A CTE pinned, then joined on the key.
        "WITH mine AS (SELECT id FROM personal_account WHERE id = ANY($1)) "
        "SELECT b.id FROM bill b JOIN mine ON b.personal_account_id = mine.id",
        # A correlated subquery pinned through its outer row.
        "SELECT p.id, (SELECT count(*) FROM bill b WHERE b.personal_account_id = p.id) FROM personal_account p WHERE p.id = $1",
        # IN (subquery) pinned itself.
        "SELECT id FROM payment WHERE personal_account_id IN (SELECT id FROM personal_account WHERE id = $1)",
    ],
)
def test_joins_on_the_key_and_subqueries_stay_key_filtered(classify, sql):
    assert classify(sql) == KEY_FILTERED


@pytest.mark.parametrize(
    "sql",
    [
        # Joined on something else than the key: a shard cannot answer it alone.
        "SELECT l.amount FROM bill b JOIN bill_line l ON l.bill_id = b.id WHERE b.personal_account_id = $1",
        # A pinned CTE does not pin a table it does not join on the key.
        "WITH mine AS (SELECT id FROM personal_account WHERE id = $1) SELECT count(*) FROM bill, mine",
        # A correlated subquery not pinned.
        "SELECT p.id, (SELECT count(*) FROM bill b WHERE b.number > $2) FROM personal_account p WHERE p.id = $1",
        # OR does not pin.
        "SELECT id FROM bill WHERE personal_account_id = $1 OR number = $2",
        # A UNION is as pinned as its least pinned branch.
        "SELECT id FROM bill WHERE personal_account_id = $1 UNION ALL SELECT id FROM payment WHERE bill_id = $2",
    ],
)
def test_a_join_or_subquery_off_the_key_fans_out(classify, sql):
    assert classify(sql) == FAN_OUT


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE bill SET due_on = $1 WHERE number = $2",
        "SELECT max(number) FROM internet_payment",
        "DELETE FROM meter_reading WHERE taken_on < $1",
        "INSERT INTO bill_line (bill_id, position, amount) VALUES ($1, $2, $3)",
        "SELECT a.login FROM account a JOIN activation_request r ON r.account_id = a.id"
        " JOIN personal_account p ON p.id = r.personal_account_id WHERE a.id = $1",
    ],
)
def test_a_distributed_table_without_its_key_fans_out(classify, sql):
    assert classify(sql) == FAN_OUT


def test_reference_and_coordinator_tables(classify):
    assert classify("SELECT t.price FROM tariff t JOIN tariff_block b ON b.tariff_id = t.id WHERE t.res_id = $1") == (
        REFERENCE_ONLY
    )
    assert classify("SELECT id FROM account WHERE lower(email) = lower($1)") == COORDINATOR_ONLY
    assert classify("UPDATE outbox_message SET sent_at = $1 WHERE id = $2") == COORDINATOR_ONLY
    assert classify("SELECT a.id FROM account a JOIN res r ON r.id = $1 WHERE a.login = $2") == COORDINATOR_ONLY


@pytest.mark.parametrize(
    "sql",
    [
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;",
        "COMMIT;",
        "ROLLBACK;",
        "SET LOCAL statement_timeout = 5000",
        "LISTEN payment_updates",
        "NOTIFY payment_updates, 'x'",
        "SHOW transaction isolation level",
        "SELECT pg_advisory_xact_lock($1)",
        "SELECT pg_catalog.version()",
        "SELECT relname FROM pg_catalog.pg_class WHERE relname = $1",
        "CREATE TABLE bill_copy (id bigint)",
        "ALTER TABLE bill ADD COLUMN x int",
        "SELECT version_num FROM alembic_version",
    ],
)
def test_utility_and_catalogue_statements_are_not_queries_on_the_app_tables(classify, sql):
    assert classify(sql) == OTHER


def test_statements_are_read_from_the_server_log_whole():
    log = [
        "2026-12-06 22:30:00.123 UTC [10] <cabinet> LOG:  statement: BEGIN;\n",
        "2026-12-06 22:30:00.124 UTC [10] <cabinet> LOG:  execute __asyncpg_stmt_1__: SELECT b.id\n",
        "\tFROM bill b\n",
        "\t\tWHERE b.personal_account_id = $1\n",
        "2026-12-06 22:30:00.124 UTC [10] <cabinet> DETAIL:  parameters: $1 = '5'\n",
        "2026-12-06 22:30:00.125 UTC [11] <> LOG:  execute <unnamed>: SELECT 1\n",
        '2026-12-06 22:30:00.126 UTC [11] <> ERROR:  relation "x" does not exist\n',
        "2026-12-06 22:30:00.126 UTC [11] <> STATEMENT:  SELECT * FROM x\n",
        "2026-12-06 22:30:00.127 UTC [12] <cabinet> LOG:  checkpoint starting: time\n",
        "2026-12-06 22:30:00.128 UTC [10] <cabinet> LOG:  execute fetch from s1/p1: SELECT 2\n",
    ]
    assert list(statements_of_log(log)) == [
        ("cabinet", "BEGIN;"),
        ("cabinet", "SELECT b.id\nFROM bill b\n\tWHERE b.personal_account_id = $1"),
        ("", "SELECT 1"),
        ("cabinet", "SELECT 2"),
    ]


def test_the_check_fails_on_a_fan_out_shape_the_plan_does_not_list(tmp_path, capsys):
    capture = tmp_path / "statements.log"
    lines = [
        {"application": "cabinet", "sql": "SELECT id FROM bill WHERE personal_account_id = $1"},
        {"application": "cabinet", "sql": "SELECT id FROM bill WHERE personal_account_id = $1"},
        {"application": "cabinet", "sql": "COMMIT;"},
        # The tests' own connections are not the app's.
        {"application": "", "sql": "SELECT count(*) FROM bill_line"},
    ]
    capture.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert shard_check.main([str(capture), "--check", str(PLAN_FILE)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"^key-filtered +2 ", printed, re.MULTILINE), printed

    with capture.open("a") as out:
        out.write(
            json.dumps({"application": "cabinet", "sql": "SELECT count(*) FROM bill_line WHERE amount > $1"}) + "\n"
        )
    assert shard_check.main([str(capture), "--check", str(PLAN_FILE)]) == 1
    assert "is not in the plan" in capsys.readouterr().err


async def test_the_capture_tells_a_tests_own_statements_from_the_apps(db):
    """The capture's marker: a statement sent from test code is the test's; one sent from the
    app's code (even when a test calls it) is the app's, and where it came from is noted."""
    from sqlalchemy import event, text

    from models import Bill
    from services.personal_accounts import owner_of
    from tests import conftest

    seen: list[str] = []
    record = lambda conn, cursor, statement, *rest: seen.append(statement)
    engine = db.engine.sync_engine
    # As the capture listens (it marks, a later listener sees what it made of the statement).
    event.listen(engine, "before_cursor_execute", conftest._tests_own_statement, retval=True)
    event.listen(engine, "before_cursor_execute", record)
    try:
        async with db.transaction() as session:
            await session.execute(text("SELECT 1"))
            await owner_of(session=session, table=Bill, ids=[1])
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine, "before_cursor_execute", conftest._tests_own_statement)
    mine = [s for s in seen if s.startswith(shard_check.TESTS_OWN)]
    apps = [s for s in seen if "FROM bill" in s]
    assert [s.removeprefix(shard_check.TESTS_OWN) for s in mine] == ["SELECT 1"]
    assert apps and not apps[0].startswith(shard_check.TESTS_OWN)
    assert "services/personal_accounts.py:owner_of" in conftest._ORIGINS[apps[0]]
