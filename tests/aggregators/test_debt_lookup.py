"""debtLookup: the same debt the customer sees, the holder as initials, clear refusals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import event, insert

from models import Bill, Payment
from models.base import BillKind, ChargeCategory, PaymentChannel, RecordSource
from services.demo import DEMO_PASSWORD, demo_load
from tests.aggregators.aggregator_helpers import CUSTOMER, LOOKUP, NUMBER, account_make, api, client_make, post


async def _more_categories(db, pa: int) -> None:
    """An act, a service, a schedule instalment, a bill after the business date, an ACTS payment."""
    rows = [
        (ChargeCategory.ACTS, BillKind.ACT, dt.date(2014, 3, 1), "412.50"),
        (ChargeCategory.SERVICES, BillKind.SERVICE, dt.date(2014, 4, 2), "120.00"),
        (ChargeCategory.ELECTRICITY_SCHEDULE, BillKind.INSTALLMENT, dt.date(2014, 5, 1), "100.00"),
        # Issued after the business date (2014-05-26): not debt yet, for anyone.
        (ChargeCategory.SERVICES, BillKind.SERVICE, dt.date(2014, 6, 2), "999.00"),
    ]
    async with db.transaction() as s:
        for i, (category, kind, issued_on, amount) in enumerate(rows):
            await s.execute(
                insert(Bill).values(
                    personal_account_id=pa,
                    number=70_000_000 + i,
                    category=category,
                    kind=kind,
                    issued_on=issued_on,
                    amount=Decimal(amount),
                    source=RecordSource.IMPORT,
                )
            )
        await s.execute(
            insert(Payment).values(
                personal_account_id=pa,
                paid_on=dt.date(2014, 3, 5),
                amount=Decimal("12.50"),
                category=ChargeCategory.ACTS,
                channel=PaymentChannel.BANK,
            )
        )


async def test_lookup_shows_the_debt_the_customer_sees(world, db, gql):
    pa = await account_make(db)
    await _more_categories(db, pa)
    key = await client_make(db, scopes=["debt:read"])
    looked = (await gql(LOOKUP, {"res": "0101", "number": NUMBER}, headers=api(key)))["data"]["debtLookup"]
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    accounts = (await gql(CUSTOMER))["data"]["viewer"]["personalAccounts"]
    customer = next(a for a in accounts if a["number"] == NUMBER)
    assert looked["__typename"] == "DebtLookup"
    assert looked["debt"] == customer["debt"]
    # 3 × 60.27 − 3 × 30.00 = 90.81; acts 412.50 − 12.50; the instalment; services without June's bill.
    assert looked["debt"] == {
        "total": "710.81",
        "categories": [
            {"category": "ELECTRICITY", "amount": "90.81"},
            {"category": "ELECTRICITY_SCHEDULE", "amount": "100.00"},
            {"category": "ACTS", "amount": "400.00"},
            {"category": "ACTS_SCHEDULE", "amount": "0.00"},
            {"category": "SERVICES", "amount": "120.00"},
        ],
    }
    assert looked["resCode"] == "0101"
    assert looked["personalAccountNumber"] == NUMBER
    assert looked["holderName"] == "Лысенко А. А."


async def test_any_personal_account_can_be_looked_up_linked_or_not(world, db, gql):
    await account_make(db, number="9000009", login=None, bills=1)
    key = await client_make(db)
    looked = (await gql(LOOKUP, {"res": "0101", "number": " 9000009 "}, headers=api(key)))["data"]["debtLookup"]
    assert looked["__typename"] == "DebtLookup"
    assert looked["personalAccountNumber"] == "9000009"
    assert looked["debt"]["total"] == "30.27"


async def test_unknown_res(world, db, gql):
    await account_make(db)
    key = await client_make(db)
    looked = (await gql(LOOKUP, {"res": "9999", "number": NUMBER}, headers=api(key)))["data"]["debtLookup"]
    assert looked["__typename"] == "ValidationError"
    assert looked["code"] == "UNKNOWN_RES"
    assert [(f["path"], f["code"]) for f in looked["fields"]] == [(["resCode"], "UNKNOWN_RES")]


async def test_unknown_personal_account(world, db, gql):
    await account_make(db)
    key = await client_make(db)
    # The number exists, but in another RES.
    looked = (await gql(LOOKUP, {"res": "0102", "number": NUMBER}, headers=api(key)))["data"]["debtLookup"]
    assert looked["__typename"] == "ValidationError"
    assert looked["code"] == "PERSONAL_ACCOUNT_NOT_FOUND"
    assert [(f["path"], f["code"]) for f in looked["fields"]] == [
        (["personalAccountNumber"], "PERSONAL_ACCOUNT_NOT_FOUND")
    ]
    assert looked["message"] == "Особовий рахунок не знайдено."


@pytest.mark.parametrize(
    ("res", "number", "expected"),
    [
        ("", "", [(["resCode"], "REQUIRED"), (["personalAccountNumber"], "REQUIRED")]),
        ("0" * 17, "1" * 33, [(["resCode"], "TOO_LONG"), (["personalAccountNumber"], "TOO_LONG")]),
        ("01 01", "90'00001", [(["resCode"], "INVALID_FORMAT"), (["personalAccountNumber"], "INVALID_FORMAT")]),
        # A known RES with a malformed number: only the number is wrong.
        ("0101", "9000001;", [(["personalAccountNumber"], "INVALID_FORMAT")]),
        # A malformed RES with a good number: the RES is wrong, the number is not judged.
        ("01%", NUMBER, [(["resCode"], "INVALID_FORMAT")]),
    ],
)
async def test_malformed_codes_are_listed_together(world, db, gql, res, number, expected):
    await account_make(db, bills=0)
    key = await client_make(db)
    looked = (await gql(LOOKUP, {"res": res, "number": number}, headers=api(key)))["data"]["debtLookup"]
    assert looked["__typename"] == "ValidationError"
    assert [(f["path"], f["code"]) for f in looked["fields"]] == expected


async def test_the_manuals_account_0101010(db, settings, gql):
    """DESIGN's worked example: the aggregator sees the manual's figures, as Лысенко does,
    and a posted payment pays the oldest open bills first."""
    await demo_load(db, settings)
    key = await client_make(db)
    lookup = {"res": "0101", "number": "0101010"}
    looked = (await gql(LOOKUP, lookup, headers=api(key)))["data"]["debtLookup"]
    assert looked["holderName"] == "Лысенко А. А."
    assert [c["amount"] for c in looked["debt"]["categories"]] == ["1870.54", "771.36", "8149.11", "8098.62", "589.16"]

    async def customer() -> dict:
        await gql.sign_in("lysenko", DEMO_PASSWORD)
        accounts = (await gql(CUSTOMER))["data"]["viewer"]["personalAccounts"]
        gql.token = None
        return next(a for a in accounts if a["number"] == "0101010")

    assert looked["debt"] == (await customer())["debt"]

    posted = await post(gql, key, personalAccountNumber="0101010", amount="1300.00")
    assert posted["duplicate"] is False
    after = await customer()
    assert after["debt"]["categories"][0] == {"category": "ELECTRICITY", "amount": "570.54"}
    assert (await gql(LOOKUP, lookup, headers=api(key)))["data"]["debtLookup"]["debt"] == after["debt"]
    status = {e["node"]["number"]: (e["node"]["status"], e["node"]["amountDue"]) for e in after["bills"]["edges"]}
    # 1283.53 closes 13942517, 12.45 closes 13942524, the last 4.02 starts on 13942526.
    assert status["13942517"] == ("PAID", "0.00")
    assert status["13942524"] == ("PAID", "0.00")
    assert status["13942526"] == ("PARTIALLY_PAID", "313.90")
    assert status["13942531"] == ("UNPAID", "256.64")


@pytest.mark.parametrize("bills", [3, 60])
async def test_a_lookup_is_the_key_check_and_one_statement_whatever_the_history(world, db, gql, statements, bills):
    # The RES, the personal account and its ledger (bills and payments) come in one statement;
    # the API key's check is the other. Not one more with 20 times the rows.
    await account_make(db, bills=bills)
    key = await client_make(db, scopes=["debt:read"])
    with statements() as counter:
        looked = (await gql(LOOKUP, {"res": "0101", "number": NUMBER}, headers=api(key)))["data"]["debtLookup"]
    assert looked["__typename"] == "DebtLookup", looked
    assert looked["debt"]["total"] == f"{Decimal('30.27') * bills:.2f}"
    assert len(counter.statements) == 2, counter.statements


async def test_a_lone_lookup_runs_outside_any_transaction(world, db, app, gql):
    # The operation's only field: its one statement is its own snapshot, so no BEGIN and
    # ROLLBACK go with it. Two lookups in one operation share a snapshot (one moment for both).
    await account_make(db)
    key = await client_make(db, scopes=["debt:read"])
    seen: list[tuple[str, bool, int]] = []

    checked_out: list = []

    def checkout(dbapi_connection, *args) -> None:
        checked_out.append(dbapi_connection.driver_connection)

    def record(conn, cursor, statement, *args) -> None:
        # In a transaction: SQLAlchemy's (the snapshot's session began) or asyncpg's own. A read
        # on a pooled connection with no engine Connection (conn None) is on the one last
        # checked out: the requests here run one after another.
        driver = conn.connection.driver_connection if conn is not None else checked_out[-1]
        in_transaction = (conn is not None and conn.in_transaction()) or driver.is_in_transaction()
        seen.append((statement, in_transaction, id(driver)))

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine.pool, "checkout", checkout)
    try:
        alone = await gql(LOOKUP, {"res": "0101", "number": NUMBER}, headers=api(key))
        lookups_alone = [in_transaction for statement, in_transaction, _ in seen if "bill b" in statement]
        seen.clear()
        two = """query($res: String!, $number: String!) {
          a: debtLookup(resCode: $res, personalAccountNumber: $number) { ... on DebtLookup { debt { total } } }
          b: debtLookup(resCode: $res, personalAccountNumber: $number) { ... on DebtLookup { debt { total } } } }"""
        together = await gql(two, {"res": "0101", "number": NUMBER}, headers=api(key))
        lookups_together = [
            (in_transaction, driver) for statement, in_transaction, driver in seen if "bill b" in statement
        ]
        key_checks = [statement for statement, *_ in seen if "api_client" in statement]
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine.pool, "checkout", checkout)
    assert alone["data"]["debtLookup"]["debt"]["total"] == "90.81", alone
    assert together["data"]["a"] == together["data"]["b"] == {"debt": {"total": "90.81"}}, together
    assert lookups_alone == [False], seen
    # Both in one transaction on one connection (one snapshot), after one key check between them.
    assert [t for t, _ in lookups_together] == [True, True], seen
    assert lookups_together[0][1] == lookups_together[1][1], seen
    assert len(key_checks) == 1, seen
