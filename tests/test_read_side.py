"""The read side on generated data: statement counts, periods, paging, access."""

from __future__ import annotations

import datetime as dt

import pytest

from bench.read_side_documents import APOLLO_MAIN_SCREEN, MAIN_SCREEN, READ_SIDE_DOCUMENTS
from services.demo import DEMO_PASSWORD, demo_basics
from tests.builders import debt_pay_off, history_make, personal_account_make


@pytest.fixture
async def world(db, settings):
    await demo_basics(db, settings)


async def _history(db, bills: int, login="lysenko", number="9000001", start=50_000_000) -> int:
    async with db.transaction() as s:
        pa = await personal_account_make(s, number=number, login=login)
        await history_make(s, personal_account_id=pa, bills=bills, start_number=start)
    return pa


# The read side's documents (bench/read_side_documents.py): each is at most 4 statements, the
# token check included, at 10 bills and at 500.
STATEMENTS_AT = {}


@pytest.mark.parametrize("bills", [10, 500])
@pytest.mark.parametrize("name", sorted(READ_SIDE_DOCUMENTS))
async def test_every_read_side_document_costs_at_most_four_statements(
    world, db, statements, gql, settings, name, bills
):
    from resolvers.ids import global_id

    pa = await _history(db, bills)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    variables = {"from": "1900-01-01", "first": 100, "id": global_id("PersonalAccount", pa)}
    document = READ_SIDE_DOCUMENTS[name]
    declared = {v for v in ("from", "first", "id", "after") if f"${v}" in document}
    with statements() as counter:
        result = await gql(document, {k: v for k, v in variables.items() if k in declared})
    assert "errors" not in result, result
    data = result["data"]
    answered = [data["node"]] if "node" in data else data["viewer"]["personalAccounts"]
    assert answered and answered[0] is not None and answered[0]["id"], data
    assert len(counter.statements) <= 4, counter.statements
    if "viewer" in document:
        # The token check, the links and what the selection needs: one statement (read ahead).
        assert len(counter.statements) == 1, counter.statements
    # Not one more with 50 times the rows.
    STATEMENTS_AT.setdefault(name, {})[bills] = len(counter.statements)
    if len(STATEMENTS_AT[name]) == 2:
        assert STATEMENTS_AT[name][10] == STATEMENTS_AT[name][500], STATEMENTS_AT[name]


@pytest.mark.parametrize("name", sorted(n for n, document in READ_SIDE_DOCUMENTS.items() if "viewer" in document))
async def test_a_viewer_document_is_its_one_statement_with_no_transaction_around_it(world, db, app, gql, name):
    # Everything it selects comes from the read ahead (cursors, lines and links included), so the
    # statement is its own snapshot: no BEGIN and ROLLBACK, two round trips fewer.
    from sqlalchemy import event

    await _history(db, 30)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    engine = app.state.db.engine.sync_engine
    checked_out: list = []
    seen: list[tuple[str, bool]] = []

    def checkout(dbapi_connection, *args) -> None:
        checked_out.append(dbapi_connection.driver_connection)

    def record(conn, cursor, statement, *args) -> None:
        # A read with no engine Connection around it (conn None) is on the one last checked out.
        driver = conn.connection.driver_connection if conn is not None else checked_out[-1]
        seen.append((statement, (conn is not None and conn.in_transaction()) or driver.is_in_transaction()))

    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine.pool, "checkout", checkout)
    try:
        result = await gql(READ_SIDE_DOCUMENTS[name])
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine.pool, "checkout", checkout)
    assert "errors" not in result, result
    assert [in_transaction for _, in_transaction in seen] == [False], seen


async def test_the_main_screen_answers_the_same_whatever_the_text(world, db, gql, settings):
    # The README's document and Apollo's (typenames, fragments, another order): the same values.
    await _history(db, 30)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    variables = {"from": "1900-01-01", "first": 100}
    plain = (await gql(MAIN_SCREEN, variables))["data"]
    apollo = (await gql(APOLLO_MAIN_SCREEN, variables))["data"]

    def without_typenames_and_ids(value):
        if isinstance(value, dict):
            return {
                k: without_typenames_and_ids(v)
                for k, v in sorted(value.items())
                if k not in ("__typename", "id", "cursor")
            }
        if isinstance(value, list):
            return [without_typenames_and_ids(v) for v in value]
        return value

    pick = without_typenames_and_ids(apollo)
    want = without_typenames_and_ids(plain)

    # Apollo's selection holds every field of the README's, and the same values for them.
    def common(a, b):
        if isinstance(a, dict):
            return {k: common(a[k], b[k]) for k in a if k in b}
        if isinstance(a, list):
            return [common(x, y) for x, y in zip(a, b, strict=True)]
        return a

    assert common(want, pick) == want
    assert pick["viewer"]["personalAccounts"][0]["bills"]["totalCount"] == 30


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
    query = (
        """query($after: String) { viewer { personalAccounts { bills(first: 1, after: $after) { totalCount } } } }"""
    )
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


async def test_the_bench_floor_follows_the_default_period(world, db, gql, settings):
    # bench/floor.py's statements answer as the app does, old unpaid bills included: the lists
    # of the main screen and the bills tab reach back to 2013-01-20 as the app's do.
    import json

    import asyncpg

    from bench.floor import FLOOR
    from bench.pg import dsn
    from bench.read_side_documents import BILLS_TAB

    await _history(db, 30)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    authorization = f"Bearer {gql.token}"
    conn = await asyncpg.connect(dsn(settings.database_url), server_settings={"timezone": "UTC"})
    try:
        for slug, document in (("main-screen", MAIN_SCREEN), ("bills-tab", BILLS_TAB)):
            app_answer = await gql(document)
            sql, params_of = FLOOR[slug]
            floor_answer = json.loads(await conn.fetchval(sql, *params_of(authorization, {}, settings.today())))
            assert floor_answer == app_answer, slug
        bills = app_answer["data"]["viewer"]["personalAccounts"][0]["bills"]
        assert bills["totalCount"] == 16
    finally:
        await conn.close()


@pytest.mark.parametrize("document", [MAIN_SCREEN, READ_SIDE_DOCUMENTS["mobile"]])
async def test_the_one_statement_refuses_expired_revoked_and_blocked_tokens(world, db, gql, settings, document):
    # The read ahead checks the token in its statement: the same errors as the token check's.
    from sqlalchemy import text

    await _history(db, 3)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    assert "errors" not in await gql(document)
    steps = [
        ("UPDATE auth_token SET expires_at = now() - interval '1 second'", "TOKEN_EXPIRED"),
        ("UPDATE auth_token SET expires_at = now() + interval '1 hour'", None),
        ("UPDATE auth_session SET revoked_at = now()", "UNAUTHENTICATED"),
        ("UPDATE auth_session SET revoked_at = NULL", None),
        ("UPDATE account SET status = 'BLOCKED' WHERE login = 'lysenko'", "UNAUTHENTICATED"),
    ]
    for sql, refused in steps:
        async with db.transaction() as s:
            await s.execute(text(sql))
        result = await gql(document)
        if refused is None:
            assert result["data"]["viewer"]["personalAccounts"], result
            continue
        assert result["data"] is None or result["data"].get("viewer") is None, result
        error = result["errors"][0]["extensions"]
        assert error["code"] == "UNAUTHENTICATED", result
        assert (error.get("reason") == "TOKEN_EXPIRED") == (refused == "TOKEN_EXPIRED"), result


async def test_the_read_follows_the_selection(world, db, gql, settings, statements):
    # Mobile reads the debt as sums, no list; the main screen reads the ledger, its lists and the
    # lines of the bills it can show; Apollo's text (typenames, fragments) reads the same parts.
    from services.viewer_records import statement

    await _history(db, 30)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    seen = {}
    for name in ("mobile", "main screen", "main screen as Apollo sends it"):
        with statements() as counter:
            result = await gql(READ_SIDE_DOCUMENTS[name])
        assert "errors" not in result and len(counter.statements) == 1, (name, result)
        seen[name] = counter.statements[0]
    mobile = seen["mobile"]
    assert (
        "AS debt" in mobile
        and "AS bills" not in mobile
        and "AS readings" not in mobile
        and ") AS lines\n" not in mobile
    )
    assert "AS internet" not in mobile and "AS meter" not in mobile
    screen = seen["main screen"]
    for part in ("AS bills", "AS payments", "AS internet", "AS meter", "AS last_reading", ") AS lines"):
        assert part in screen, part
    assert "AS readings" not in screen and "AS debt" not in screen
    assert seen["main screen as Apollo sends it"] == screen
    assert statement.cache_info().currsize >= 2
    # The debt as sums is the allocation's debt: the same figure either way.
    debt = (await gql(READ_SIDE_DOCUMENTS["mobile"]))["data"]["viewer"]["personalAccounts"][0]["debt"]["total"]
    full = (await gql(MAIN_SCREEN))["data"]["viewer"]["personalAccounts"][0]["debt"]["total"]
    assert debt == full


BILL_LINES = """query($from: Date, $to: Date, $first: Int, $after: String) { viewer { personalAccounts {
  bills(from: $from, to: $to, first: $first, after: $after) {
    pageInfo { endCursor } edges { node { issuedOn lines { amount } } } } } } }"""


async def test_the_window_of_bill_lines_follows_each_requests_arguments(world, db, gql, statements, settings):
    # What the selection needs is kept per document; the bills whose lines are read ahead
    # are worked out from each request's own arguments: every variant is still one statement
    # with every bill's lines (a window kept from an earlier request would miss some, and the
    # lines would be read by a second statement).
    await _history(db, 40)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    first_page = None
    for variables in [
        {"from": "2013-06-01", "first": 3},
        {"from": "2011-01-01", "to": "2012-01-01", "first": 20},
        {"from": "1900-01-01", "first": 5},
        {"first": 2},
        None,  # then `after` the first page's end
    ]:
        if variables is None:
            variables = {"from": "1900-01-01", "first": 5, "after": first_page}
        with statements() as counted:
            result = await gql(BILL_LINES, variables)
        bills = result["data"]["viewer"]["personalAccounts"][0]["bills"]
        assert bills["edges"] and all(edge["node"]["lines"] for edge in bills["edges"]), (variables, bills)
        assert len(counted.statements) == 1, (variables, counted.statements)
        if variables.get("first") == 5 and "after" not in variables:
            first_page = bills["pageInfo"]["endCursor"]
    assert first_page


@pytest.mark.parametrize("name", sorted(READ_SIDE_DOCUMENTS))
async def test_what_a_request_read_goes_when_it_is_answered(world, db, gql, name):
    # Reference counting frees a request's rows once its answer is built: no cycle (a loader
    # refers to itself through its batch function) keeps them for the cycle collector, whose
    # passes over many young objects are pauses in the p99.
    import gc

    from resolvers.ids import global_id
    from services import account_records, viewer_records

    rows = (
        account_records.MeterRow,
        account_records.ReadingRow,
        account_records.BillRow,
        account_records.PaymentRow,
        account_records.InternetPaymentRow,
        account_records.LineRow,
        viewer_records.PersonalAccountRow,
    )
    pa = await _history(db, 10)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    document = READ_SIDE_DOCUMENTS[name]
    variables = {"from": "1900-01-01", "first": 100, "id": global_id("PersonalAccount", pa)}
    declared = {k: v for k, v in variables.items() if f"${k}" in document}
    assert "errors" not in await gql(document, declared)
    gc.collect()
    gc.disable()
    try:
        result = await gql(document, declared)
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, rows)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert "errors" not in result, result
    assert not left, f"{len(left)} rows freed only by the cycle collector, e.g. {left[0]!r}"[:300]
