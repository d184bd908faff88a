"""The read side on generated data: statement counts, periods, paging, access."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event

from tests.builders import debt_pay_off, history_make, personal_account_make
from services.demo import DEMO_PASSWORD, demo_basics

MAIN_SCREEN = """query($from: Date, $first: Int) { viewer { personalAccounts {
  id number holderName address
  lastReading { takenOn values { zone value consumption } }
  meter { serialNumber digits zones }
  debt { total categories { category amount } }
  bills(categories: [ELECTRICITY], from: $from, first: $first) {
    totalCount totalAmount period { from to } pageInfo { hasNextPage endCursor }
    edges { cursor node { id number issuedOn periodStart periodEnd amount status amountDue dueOn
      lines { description block zone quantity unit price coefficient amount } } } }
  payments(categories: [ELECTRICITY], from: $from, first: $first) {
    totalCount totalAmount edges { node { paidOn amount channel } } }
  internetPayments(categories: [ELECTRICITY], from: $from, first: $first) {
    totalCount totalAmount edges { node { number amount status confirmedAt } } }
} } }"""


@pytest.fixture
async def world(db, settings):
    await demo_basics(db, settings)


async def _history(db, bills: int, login="lysenko", number="9000001", start=50_000_000) -> int:
    async with db.transaction() as s:
        pa = await personal_account_make(s, number=number, login=login)
        await history_make(s, personal_account_id=pa, bills=bills, start_number=start)
    return pa


class StatementCounter:
    def __init__(self, engine) -> None:
        self.engine = engine.sync_engine
        self.statements: list[str] = []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, *args):
        self.statements.append(statement)


@pytest.mark.parametrize("bills", [10, 500])
async def test_main_screen_costs_the_same_few_statements_whatever_the_rows(world, db, app, gql, bills):
    await _history(db, bills)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    with StatementCounter(app.state.db.engine) as counter:
        result = await gql(MAIN_SCREEN, {"from": "1900-01-01", "first": 100})
    assert "errors" not in result, result
    account = result["data"]["viewer"]["personalAccounts"][0]
    assert account["bills"]["totalCount"] == bills
    assert len(account["bills"]["edges"]) == min(bills, 100)
    assert account["bills"]["edges"][0]["node"]["lines"][0]["price"] == "0.2802"
    # Viewer, links, personal accounts, ledger (bills + payments), lines, readings, meter,
    # internet payments: fixed, and not one more with 50 times the rows.
    assert len(counter.statements) <= 10, counter.statements
    test_main_screen_costs_the_same_few_statements_whatever_the_rows.counts[bills] = len(counter.statements)
    if len(test_main_screen_costs_the_same_few_statements_whatever_the_rows.counts) == 2:
        assert len(set(test_main_screen_costs_the_same_few_statements_whatever_the_rows.counts.values())) == 1


test_main_screen_costs_the_same_few_statements_whatever_the_rows.counts = {}


async def test_default_period_is_the_year_up_to_today(world, db, gql):
    pa = await _history(db, 30)
    async with db.transaction() as s:
        await debt_pay_off(s, personal_account_id=pa, paid_on=dt.date(2014, 5, 1))
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    result = await gql(MAIN_SCREEN)
    bills = result["data"]["viewer"]["personalAccounts"][0]["bills"]
    assert bills["period"] == {"from": "2013-05-26", "to": "2014-05-26"}
    # Bills on the 20th of each month: June 2013 … April 2014.
    assert bills["totalCount"] == 11
    assert [e["node"]["issuedOn"] for e in bills["edges"]][:2] == ["2014-04-20", "2014-03-20"]
    assert bills["totalAmount"] == "662.97"


LISTS = """query($from: Date, $to: Date) { viewer { personalAccounts {
  debt { total }
  bills(categories: [ELECTRICITY], from: $from, to: $to) { totalCount period { from to }
    edges { node { issuedOn status amountDue } } }
  services: bills(categories: [SERVICES], from: $from, to: $to) { period { from to } }
  payments(categories: [ELECTRICITY], from: $from, to: $to) { totalCount period { from to } }
  internetPayments(categories: [ELECTRICITY], from: $from, to: $to) { totalCount period { from to } }
  readings(from: $from, to: $to) { totalCount period { from to } }
  monthlyConsumption(from: $from, to: $to) { month kwh }
} } }"""


async def test_the_default_period_reaches_back_to_the_oldest_bill_still_owed(world, db, gql):
    # 30 monthly bills of 60.27 and 30 payments of 30.00: paid oldest first, the bills up to
    # 2012-12-20 are paid, 2013-01-20's has 4.05 left, every later one is unpaid.
    await _history(db, 30)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    account = (await gql(LISTS))["data"]["viewer"]["personalAccounts"][0]
    since = {"from": "2013-01-20", "to": "2014-05-26"}
    bills = account["bills"]
    assert bills["period"] == since and bills["totalCount"] == 16
    assert bills["edges"][-1]["node"] == {"issuedOn": "2013-01-20", "status": "PARTIALLY_PAID", "amountDue": "4.05"}
    # The other lists of the tab show the same months; a tab owing nothing keeps the year.
    for name in ("payments", "internetPayments", "readings"):
        assert (account[name]["period"], account[name]["totalCount"]) == (since, 16), name
    assert sum(m["kwh"] for m in account["monthlyConsumption"]) == 16 * 200  # the 16 readings' kWh
    assert account["services"]["period"] == {"from": "2013-05-26", "to": "2014-05-26"}
    # With only `to`, the same rule counts back from it; a given `from` is kept as it is.
    to_only = (await gql(LISTS, {"to": "2014-02-28"}))["data"]["viewer"]["personalAccounts"][0]["bills"]
    assert to_only["period"] == {"from": "2013-01-20", "to": "2014-02-28"}
    given = (await gql(LISTS, {"from": "2014-01-01"}))["data"]["viewer"]["personalAccounts"][0]["bills"]
    assert given["period"] == {"from": "2014-01-01", "to": "2014-05-26"} and given["totalCount"] == 4


async def test_first_over_100_is_refused_at_the_top_level(world, db, gql):
    await _history(db, 3)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    result = await gql(MAIN_SCREEN, {"first": 101})
    assert {e["extensions"]["code"] for e in result["errors"]} == {"BAD_USER_INPUT"}


async def test_cursors_page_through_and_stay_valid_when_rows_are_added(world, db, gql):
    pa = await _history(db, 25)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    query = """query($after: String) { viewer { personalAccounts { bills(from: "2000-01-01", first: 10, after: $after) {
      pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { number } } } } } }"""
    seen, after = [], None
    while True:
        page = (await gql(query, {"after": after}))["data"]["viewer"]["personalAccounts"][0]["bills"]
        seen += [e["node"]["number"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        if len(seen) == 10:
            # A new bill arrives between pages: the next page continues where it was.
            async with db.transaction() as s:
                from tests.builders import history_make as _  # noqa: F401
                await s.execute(
                    __import__("sqlalchemy").text(
                        "INSERT INTO bill (personal_account_id, number, category, kind, issued_on, amount, source)"
                        " VALUES (:pa, 99999999, 'ELECTRICITY', 'CORRECTION', '2014-05-25', -1.00, 'IMPORT')"
                    ),
                    {"pa": pa},
                )
    assert len(seen) == 25 and len(set(seen)) == 25
    assert seen == sorted(seen, reverse=True)


@pytest.mark.parametrize("cursor", ["garbage!", "MjAxNA", "eHh4fHl5eQ"])
async def test_bad_cursors_are_bad_user_input(world, db, gql, cursor):
    await _history(db, 3)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    query = """query($after: String) { viewer { personalAccounts { bills(first: 1, after: $after) { totalCount } } } }"""
    result = await gql(query, {"after": cursor})
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_someone_elses_ids_look_missing(world, db, gql):
    mine = await _history(db, 2, login="lysenko", number="9000001", start=50_000_000)
    await _history(db, 2, login="zakharov", number="9000002", start=60_000_000)
    await gql.sign_in("zakharov", DEMO_PASSWORD)
    theirs = (await gql(MAIN_SCREEN))["data"]["viewer"]["personalAccounts"][0]
    ids = [theirs["id"], theirs["bills"]["edges"][0]["node"]["id"]]
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    own = (await gql(MAIN_SCREEN))["data"]["viewer"]["personalAccounts"]
    assert [a["number"] for a in own] == ["9000001"]
    node = "query($id: ID!) { node(id: $id) { id } }"
    for foreign in ids + ["bm90LWEtaWQ", "!!", "UGVyc29uYWxBY2NvdW50Ojk5OTk5OTk"]:
        assert await gql(node, {"id": foreign}) == {"data": {"node": None}}
    assert (await gql(node, {"id": own[0]["id"]}))["data"]["node"] == {"id": own[0]["id"]}
    assert mine
