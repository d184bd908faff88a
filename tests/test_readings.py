"""Meter readings: preview, submit, every rule, and exactly-once under concurrency."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import event, func, select, text

from models import Bill, BillLine, MeterReading, OutboxMessage
from resolvers.ids import global_id
from services.demo import DEMO_PASSWORD, demo_basics
from tests.builders import metered_account_make, tariffs_make

PREVIEW = """query($input: MeterReadingInput!) { meterReadingPreview(input: $input) {
  __typename
  ... on ReadingPreview { takenOn consumption amount previous { takenOn values { zone value } }
    values { zone value consumption } lines { description block zone quantity unit price coefficient amount } }
  ... on ValidationError { code fields { path code message } }
  ... on OperationError { code message } } }"""
SUBMIT = """mutation($input: MeterReadingInput!) { meterReadingSubmit(input: $input) {
  __typename
  ... on MeterReadingSubmitSuccess { replayed
    reading { id takenOn consumption source values { zone value consumption } bill { number } }
    bill { id number amount issuedOn dueOn periodStart periodEnd status kind category
      reading { takenOn values { value } } lines { block zone quantity price coefficient amount } }
    personalAccount { debt { categories { category amount } } lastReading { takenOn values { value } } } }
  ... on ValidationError { code fields { path code } }
  ... on OperationError { code message } } }"""


@pytest.fixture
async def account(db, settings, gql):
    """The manual's situation: 48200 kWh on 27.04.2014, one zone, 5 digits."""
    await demo_basics(db, settings)
    async with db.transaction() as s:
        await tariffs_make(s)
        pa = await metered_account_make(
            s,
            number="7000001",
            login="lysenko",
            zones=["TOTAL"],
            last_values=[48200],
            last_taken_on=dt.date(2014, 4, 27),
        )
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    return global_id("PersonalAccount", pa)


def reading(pa_id, day="2014-05-26", **zones):
    return {
        "input": {
            "personalAccountId": pa_id,
            "takenOn": day,
            "values": [{"zone": z, "value": v} for z, v in (zones or {"TOTAL": 48500}).items()],
        }
    }


async def test_preview_is_the_manuals_calculation_and_changes_nothing(account, gql, db):
    result = (await gql(PREVIEW, reading(account)))["data"]["meterReadingPreview"]
    assert result["__typename"] == "ReadingPreview"
    assert result["consumption"] == 300
    assert result["previous"] == {"takenOn": "2014-04-27", "values": [{"zone": "TOTAL", "value": 48200}]}
    assert result["values"] == [{"zone": "TOTAL", "value": 48500, "consumption": 300}]
    assert [(l["block"], l["quantity"], l["price"], l["amount"]) for l in result["lines"]] == [
        (1, "141", "0.2802", "39.51"),
        (2, "159", "0.3648", "58.00"),
    ]
    assert result["amount"] == "97.51"
    async with db.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(MeterReading))).scalar_one() == 1
        assert (await s.execute(select(func.count()).select_from(Bill))).scalar_one() == 0


async def test_the_preview_shows_the_lines_the_submit_stores(account, gql, db):
    shown = (await gql(PREVIEW, reading(account)))["data"]["meterReadingPreview"]["lines"]
    bill = (await gql(SUBMIT, reading(account)))["data"]["meterReadingSubmit"]["bill"]
    fields = ("block", "zone", "quantity", "price", "coefficient", "amount")
    assert [{k: line[k] for k in fields} for line in shown] == bill["lines"]
    async with db.sessions() as s:
        stored = (await s.execute(select(BillLine.description, BillLine.unit).order_by(BillLine.position))).all()
    assert [(line["description"], line["unit"]) for line in shown] == [tuple(r) for r in stored]


async def test_submit_forms_the_bill_once_and_a_replay_returns_it(account, gql, db):
    first = (await gql(SUBMIT, reading(account)))["data"]["meterReadingSubmit"]
    assert first["__typename"] == "MeterReadingSubmitSuccess", first
    assert first["replayed"] is False
    bill = first["bill"]
    assert (bill["amount"], bill["issuedOn"], bill["dueOn"]) == ("97.51", "2014-05-26", "2014-06-20")
    assert (bill["periodStart"], bill["periodEnd"]) == ("2014-04-28", "2014-05-26")
    assert (bill["kind"], bill["category"], bill["status"]) == ("CONSUMPTION", "ELECTRICITY", "UNPAID")
    assert bill["reading"] == {"takenOn": "2014-05-26", "values": [{"value": 48500}]}
    assert first["reading"]["source"] == "CABINET" and first["reading"]["bill"]["number"] == bill["number"]
    assert first["personalAccount"]["lastReading"]["values"] == [{"value": 48500}]
    assert first["personalAccount"]["debt"]["categories"][0] == {"category": "ELECTRICITY", "amount": "97.51"}

    again = (await gql(SUBMIT, reading(account)))["data"]["meterReadingSubmit"]
    assert again["replayed"] is True
    assert again["bill"]["number"] == bill["number"] and again["reading"]["id"] == first["reading"]["id"]
    async with db.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(Bill))).scalar_one() == 1
        mails = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "bill_formed"))).scalars().all()
    assert len(mails) == 1
    assert bill["number"] in mails[0].subject and "97.51" in mails[0].body
    assert mails[0].to_address == "lysenko@demo.uens.example"


async def test_bill_numbers_continue_after_the_highest_seen(account, gql, db):
    async with db.transaction() as s:
        await s.execute(text("SELECT setval('bill_number_seq', 13942589)"))
    bill = (await gql(SUBMIT, reading(account)))["data"]["meterReadingSubmit"]["bill"]
    assert bill["number"] == "13942590"  # the manual's «Был сформирован новый счёт №13942590»


@pytest.mark.parametrize(
    ("day", "zones", "kind", "code", "path"),
    [
        ("2014-05-27", {"TOTAL": 48500}, "ValidationError", "READING_DATE_IN_FUTURE", ["input", "takenOn"]),
        ("2014-04-27", {"TOTAL": 48201}, "OperationError", "READING_DATE_TAKEN", None),
        ("2014-04-20", {"TOTAL": 48100}, "ValidationError", "READING_DATE_NOT_AFTER_LAST", ["input", "takenOn"]),
        ("2014-05-26", {"DAY": 48500}, "ValidationError", "READING_ZONES_MISMATCH", ["input", "values"]),
        ("2014-05-26", {"TOTAL": 100000}, "ValidationError", "READING_OUT_OF_RANGE", ["input", "values", "0", "value"]),
        ("2014-05-26", {"TOTAL": -1}, "ValidationError", "READING_OUT_OF_RANGE", ["input", "values", "0", "value"]),
        (
            "2014-05-26",
            {"TOTAL": 48100},
            "ValidationError",
            "READING_LESS_THAN_PREVIOUS",
            ["input", "values", "0", "value"],
        ),
        # 29 days × 240 kWh = 6960 is the cap
        ("2014-05-26", {"TOTAL": 48200 + 6961}, "ValidationError", "READING_IMPLAUSIBLE", ["input", "values"]),
    ],
)
async def test_each_reading_rule_has_its_code_and_stores_nothing(account, gql, db, day, zones, kind, code, path):
    for operation, field in ((PREVIEW, "meterReadingPreview"), (SUBMIT, "meterReadingSubmit")):
        result = (await gql(operation, reading(account, day, **zones)))["data"][field]
        assert (result["__typename"], result["code"]) == (kind, code), result
        if path:
            assert path in [f["path"] for f in result["fields"]]
    async with db.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(MeterReading))).scalar_one() == 1
        assert (await s.execute(select(func.count()).select_from(Bill))).scalar_one() == 0


async def test_the_cap_itself_is_plausible(account, gql):
    result = (await gql(PREVIEW, reading(account, TOTAL=48200 + 6960)))["data"]["meterReadingPreview"]
    assert result["__typename"] == "ReadingPreview"


async def test_no_meter_no_previous_reading_and_no_tariff(db, settings, gql):
    await demo_basics(db, settings)
    async with db.transaction() as s:
        from tests.builders import personal_account_make

        bare = await personal_account_make(s, number="7000002", login="lysenko")
        fresh = await metered_account_make(
            s, number="7000003", login="lysenko", zones=["TOTAL"], last_values=None, last_taken_on=dt.date(2014, 1, 1)
        )
        untariffed = await metered_account_make(
            s, number="7000004", login="lysenko", zones=["TOTAL"], last_values=[10], last_taken_on=dt.date(2014, 4, 27)
        )
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    for pa, code in ((bare, "NO_METER"), (fresh, "NO_PREVIOUS_READING"), (untariffed, "NO_TARIFF")):
        result = (await gql(SUBMIT, reading(global_id("PersonalAccount", pa), TOTAL=20)))["data"]["meterReadingSubmit"]
        assert (result["__typename"], result["code"]) == ("OperationError", code)


async def test_rollover_on_five_digits_and_its_implausible_twin(db, settings, gql):
    await demo_basics(db, settings)
    settings.business_date = dt.date(2024, 7, 31)
    async with db.transaction() as s:
        await tariffs_make(s)
        pa = await metered_account_make(
            s,
            number="7000005",
            login="lysenko",
            zones=["TOTAL"],
            last_values=[99950],
            last_taken_on=dt.date(2024, 6, 30),
        )
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    pa_id = global_id("PersonalAccount", pa)
    twin = (await gql(PREVIEW, reading(pa_id, "2024-07-31", TOTAL=50000)))["data"]["meterReadingPreview"]
    assert twin["code"] == "READING_LESS_THAN_PREVIOUS"
    result = (await gql(SUBMIT, reading(pa_id, "2024-07-31", TOTAL=30)))["data"]["meterReadingSubmit"]
    assert result["reading"]["consumption"] == 80
    assert result["bill"]["amount"] == "345.60"
    assert result["bill"]["lines"] == [
        {"block": 1, "zone": "TOTAL", "quantity": "80", "price": "4.3200", "coefficient": "1.0", "amount": "345.60"}
    ]


async def test_two_zone_bill_is_the_golden_example(db, settings, gql):
    await demo_basics(db, settings)
    settings.business_date = dt.date(2017, 4, 30)
    async with db.transaction() as s:
        await tariffs_make(s)
        pa = await metered_account_make(
            s,
            number="7000006",
            login="lysenko",
            zones=["DAY", "NIGHT"],
            last_values=[1000, 2000],
            last_taken_on=dt.date(2017, 3, 31),
        )
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    result = (await gql(SUBMIT, reading(global_id("PersonalAccount", pa), "2017-04-30", DAY=1100, NIGHT=2250)))["data"][
        "meterReadingSubmit"
    ]
    lines = [(l["block"], l["zone"], l["quantity"], l["amount"]) for l in result["bill"]["lines"]]
    assert lines == [
        (1, "DAY", "29", "26.10"),
        (1, "NIGHT", "71", "31.95"),
        (2, "DAY", "71", "119.28"),
        (2, "NIGHT", "179", "150.36"),
    ]
    assert result["bill"]["amount"] == "327.69"


async def test_fifty_identical_submissions_form_one_bill(account, gql, db):
    results = await asyncio.gather(*[gql(SUBMIT, reading(account)) for _ in range(50)])
    payloads = [r["data"]["meterReadingSubmit"] for r in results]
    assert all(p["__typename"] == "MeterReadingSubmitSuccess" for p in payloads), payloads
    assert sorted(p["replayed"] for p in payloads) == [False] + [True] * 49
    assert len({p["bill"]["number"] for p in payloads}) == 1
    async with db.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(Bill))).scalar_one() == 1
        assert (await s.execute(select(func.count()).select_from(MeterReading))).scalar_one() == 2


async def test_fifty_different_values_on_one_date_one_wins(account, gql, db):
    results = await asyncio.gather(*[gql(SUBMIT, reading(account, TOTAL=48300 + i)) for i in range(50)])
    kinds = sorted(
        (r["data"]["meterReadingSubmit"]["__typename"], r["data"]["meterReadingSubmit"].get("code")) for r in results
    )
    assert kinds == [("MeterReadingSubmitSuccess", None)] + [("OperationError", "READING_DATE_TAKEN")] * 49


async def test_two_dates_at_once_cannot_bill_the_same_kwh(account, gql, db):
    settings_day = "2014-05-26"
    results = await asyncio.gather(
        gql(SUBMIT, reading(account, "2014-05-20", TOTAL=48400)),
        gql(SUBMIT, reading(account, settings_day, TOTAL=48500)),
    )
    async with db.sessions() as s:
        rows = (
            await s.execute(select(MeterReading.taken_on, MeterReading.consumption).order_by(MeterReading.taken_on))
        ).all()
        billed = (await s.execute(select(func.sum(BillLine.quantity)))).scalar_one()
    # Whatever the order, the kWh billed are exactly the meter's advance since 48200.
    stored = {r.taken_on: r.consumption for r in rows}
    assert billed == sum(c for c in stored.values() if c is not None) <= 300
    assert any(r["data"]["meterReadingSubmit"]["__typename"] == "MeterReadingSubmitSuccess" for r in results)


async def _accounts(db, settings, count: int, zones=("TOTAL",)) -> list[int]:
    await demo_basics(db, settings)
    async with db.transaction() as s:
        await tariffs_make(s)
        return [
            await metered_account_make(
                s,
                number=f"71000{i:02d}",
                login="lysenko",
                zones=list(zones),
                last_values=[100] * len(zones),
                last_taken_on=dt.date(2014, 4, 27),
            )
            for i in range(count)
        ]


async def test_twenty_concurrent_submits_on_different_accounts_get_unique_numbers_after_the_highest(db, settings, gql):
    ids = await _accounts(db, settings, 20)
    async with db.transaction() as s:
        await s.execute(text("SELECT setval('bill_number_seq', 500000)"))
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    results = await asyncio.gather(*[gql(SUBMIT, reading(global_id("PersonalAccount", pa), TOTAL=200)) for pa in ids])
    numbers = [int(r["data"]["meterReadingSubmit"]["bill"]["number"]) for r in results]
    assert len(set(numbers)) == 20 and min(numbers) > 500000
    async with db.sessions() as s:
        stored = (await s.execute(select(Bill.number))).scalars().all()
    assert sorted(stored) == sorted(numbers)


async def _submit_in(session, settings, pa: int, value: int = 200):
    from services.readings import ZoneReading, reading_submit

    return await reading_submit(
        session=session,
        settings=settings,
        personal_account_id=pa,
        taken_on=dt.date(2014, 5, 26),
        values=[ZoneReading("TOTAL", value)],
        account_id=None,
        language="uk",
    )


async def test_a_rolled_back_submit_leaves_a_gap_its_number_never_comes_again(db, settings, gql):
    first, second = await _accounts(db, settings, 2)
    async with db.sessions() as s:
        await s.begin()
        outcome = await _submit_in(s, settings, first)
        lost = (await s.execute(select(Bill.number).where(Bill.id == outcome.bill_id))).scalar_one()
        await s.rollback()
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    after = (await gql(SUBMIT, reading(global_id("PersonalAccount", second), TOTAL=200)))["data"]["meterReadingSubmit"]
    assert int(after["bill"]["number"]) > lost
    retried = (await gql(SUBMIT, reading(global_id("PersonalAccount", first), TOTAL=200)))["data"]["meterReadingSubmit"]
    assert retried["replayed"] is False and int(retried["bill"]["number"]) > int(after["bill"]["number"])


async def _waiting_for_a_lock(db) -> int:
    """Backends of this database waiting for a lock someone else holds."""
    async with db.sessions() as s:
        return (
            await s.execute(
                text(
                    """SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                       WHERE NOT l.granted AND a.datname = current_database()"""
                )
            )
        ).scalar_one()


async def test_submits_on_different_personal_accounts_do_not_wait_for_each_other(db, settings, gql):
    held, other = await _accounts(db, settings, 2)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    async with db.sessions() as s:
        await s.begin()
        # A whole submit of `held`, its transaction left open: its locks, its bill number.
        await _submit_in(s, settings, held)
        task = asyncio.create_task(gql(SUBMIT, reading(global_id("PersonalAccount", other), TOTAL=200)))
        waited = 0
        while not task.done() and not waited:
            waited = await _waiting_for_a_lock(db)
        await s.commit()
    result = (await task)["data"]["meterReadingSubmit"]
    assert waited == 0, "the other personal account's submit waited for a lock"
    assert result["__typename"] == "MeterReadingSubmitSuccess" and result["replayed"] is False
    async with db.sessions() as s:
        assert len(set((await s.execute(select(Bill.number))).scalars().all())) == 2


async def test_a_submit_for_the_same_personal_account_waits_for_the_open_one(db, settings, gql):
    """The personal account's row is what serialises its submits (and the one thing locked)."""
    (held,) = await _accounts(db, settings, 1)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    async with db.sessions() as s:
        await s.begin()
        await _submit_in(s, settings, held)
        task = asyncio.create_task(gql(SUBMIT, reading(global_id("PersonalAccount", held), TOTAL=200)))
        while not await _waiting_for_a_lock(db):
            assert not task.done(), "the second submit did not wait for the first"
        await s.commit()
    result = (await task)["data"]["meterReadingSubmit"]
    assert result["replayed"] is True


class _Statements(list):
    """The statements the app ran, and in `checkouts` how many times it took a connection."""

    def __init__(self, app) -> None:
        super().__init__()
        self.engine = app.state.db.engine.sync_engine
        self.checkouts = 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        event.listen(self.engine.pool, "checkout", self._checkout)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)
        event.remove(self.engine.pool, "checkout", self._checkout)

    def _record(self, conn, cursor, statement, *args):
        self.append(statement)

    def _checkout(self, *args):
        self.checkouts += 1


async def test_a_submit_is_a_few_statements_whatever_its_lines(db, settings, gql, app):
    one_zone = (await _accounts(db, settings, 1))[0]
    async with db.transaction() as s:
        two_zones = await metered_account_make(
            s,
            number="7200001",
            login="lysenko",
            zones=["DAY", "NIGHT"],
            last_values=[100, 100],
            last_taken_on=dt.date(2014, 4, 27),
        )
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    counts = {}
    for pa, zones in ((one_zone, {"TOTAL": 400}), (two_zones, {"DAY": 300, "NIGHT": 200})):
        with _Statements(app) as seen:
            result = (await gql(SUBMIT, reading(global_id("PersonalAccount", pa), **zones)))["data"][
                "meterReadingSubmit"
            ]
        counts[len(result["bill"]["lines"])] = len(seen)
        # The write alone: the caller is checked in it, and the answer is what it stored and read.
        assert seen.checkouts == 1, seen.checkouts
    with _Statements(app) as seen:
        replay = (await gql(SUBMIT, reading(global_id("PersonalAccount", one_zone), TOTAL=400)))["data"][
            "meterReadingSubmit"
        ]
    assert replay["replayed"] is True
    assert set(counts) == {2, 4}  # 2 lines and 4 lines cost the same statements
    assert len(set(counts.values())) == 1, counts
    # In the transaction: the caller and the lock, the facts, (the tariffs, parsed once per
    # process), the reading with its bill and lines, the mail with the ledger; no reads after.
    assert counts[2] <= 5, counts
    assert len(seen) <= counts[2] + 2


async def test_someone_elses_personal_account_is_not_found(account, db, gql):
    await gql.sign_in("zakharov", DEMO_PASSWORD)
    for operation, field in ((PREVIEW, "meterReadingPreview"), (SUBMIT, "meterReadingSubmit")):
        for pa_id in (account, "garbage", global_id("Bill", 1)):
            result = (await gql(operation, reading(pa_id)))["data"][field]
            assert (result["__typename"], result["code"]) == ("ValidationError", "NOT_FOUND")
            assert [f["path"] for f in result["fields"]] == [["input", "personalAccountId"]]


async def test_an_admin_submitting_for_a_missing_personal_account_gets_not_found(db, settings, gql):
    from resolvers.ids import global_id
    from services.demo import DEMO_PASSWORD, demo_basics

    await demo_basics(db, settings)
    await gql.sign_in("admin", DEMO_PASSWORD)
    result = await gql(
        """mutation($i: MeterReadingInput!) { meterReadingSubmit(input: $i) { __typename ... on Error { code } } }""",
        {
            "i": {
                "personalAccountId": global_id("PersonalAccount", 1_000_000_000),
                "takenOn": "2014-05-20",
                "values": [{"zone": "TOTAL", "value": 48300}],
            }
        },
    )
    assert result["data"]["meterReadingSubmit"] == {"__typename": "ValidationError", "code": "NOT_FOUND"}, result


def _sql(statement: str) -> str:
    """A statement's first words: which it is."""
    return " ".join(statement.split()[:4])


async def test_a_submit_and_a_replay_send_these_statements(db, settings, gql, statements):
    warm, pa = await _accounts(db, settings, 2)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    await gql(SUBMIT, reading(global_id("PersonalAccount", warm), TOTAL=400))  # the tariffs parsed
    submit = reading(global_id("PersonalAccount", pa), TOTAL=400)
    with statements() as new:
        first = (await gql(SUBMIT, submit))["data"]["meterReadingSubmit"]
    with statements() as replay:
        again = (await gql(SUBMIT, submit))["data"]["meterReadingSubmit"]
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["bill"] == first["bill"] and again["reading"] == first["reading"]
    assert again["personalAccount"] == first["personalAccount"]
    # The token check with the lock, the facts, the reading with its bill and lines, the mail
    # with the ledger the answer shows: nothing is read again after the commit.
    assert [_sql(s) for s in new.statements] == [
        "WITH viewer AS (",
        "SELECT m.id AS meter_id,",
        "WITH reading AS (",
        "WITH mail AS (",
    ]
    # A replay stores nothing: the token check with the lock, the facts, and what it answers
    # (the stored reading, its bill's lines, the ledger).
    assert [_sql(s) for s in replay.statements] == [
        "WITH viewer AS (",
        "SELECT m.id AS meter_id,",
        "SELECT r.id, r.personal_account_id, r.meter_id,",
    ]


async def _sequence_and_counts(db) -> tuple:
    async with db.sessions() as s:
        return (
            await s.execute(
                text(
                    """SELECT (SELECT last_value FROM bill_number_seq), (SELECT is_called FROM bill_number_seq),
                         (SELECT count(*) FROM meter_reading), (SELECT count(*) FROM bill),
                         (SELECT count(*) FROM bill_line), (SELECT count(*) FROM outbox_message)"""
                )
            )
        ).one()


async def test_a_replay_takes_no_bill_number_and_a_refusal_changes_nothing(account, gql, db):
    first = (await gql(SUBMIT, reading(account)))["data"]["meterReadingSubmit"]
    assert first["replayed"] is False
    before = await _sequence_and_counts(db)
    again = (await gql(SUBMIT, reading(account)))["data"]["meterReadingSubmit"]
    assert again["replayed"] is True and again["bill"]["number"] == first["bill"]["number"]
    assert await _sequence_and_counts(db) == before
    refused = [
        (reading(account, "2014-05-25", TOTAL=48600), "ValidationError"),  # not after the last reading
        (reading(account, TOTAL=48600), "OperationError"),  # the date taken, other values
        (reading(account, "2014-05-30", TOTAL=100000), "ValidationError"),  # in the future, out of range
        (reading(account, "2014-05-30", DAY=48600), "ValidationError"),  # zones the meter has not
    ]
    for variables, kind in refused:
        assert (await gql(SUBMIT, variables))["data"]["meterReadingSubmit"]["__typename"] == kind, variables
    assert await _sequence_and_counts(db) == before


async def test_a_tariff_changed_prices_the_next_reading(account, gql, db):
    """Tariffs are parsed once per process, keyed by a digest of their rows: a change to any
    row is seen by the next preview and submit."""
    assert (await gql(PREVIEW, reading(account)))["data"]["meterReadingPreview"]["amount"] == "97.51"
    async with db.transaction() as s:
        await s.execute(text("UPDATE tariff_block SET price = 1"))
    assert (await gql(PREVIEW, reading(account)))["data"]["meterReadingPreview"]["amount"] == "300.00"
    bill = (await gql(SUBMIT, reading(account)))["data"]["meterReadingSubmit"]["bill"]
    assert bill["amount"] == "300.00"


async def test_the_submits_answer_is_what_a_later_read_shows(db, settings, gql):
    """The answer is built from what the write stored and read, not read again: it must be
    what any read shows afterwards, for a new reading and for its replay."""
    (pa,) = await _accounts(db, settings, 1, zones=("DAY", "NIGHT"))
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    selections = {
        "reading": "id takenOn consumption source meterSerialNumber values { zone value consumption } bill { number }",
        "bill": """id number amount issuedOn dueOn periodStart periodEnd status amountDue kind category
          reading { id takenOn values { value } } lines { description block zone quantity unit price coefficient amount }""",
        "personalAccount": """number debt { total categories { category amount } }
          lastReading { id takenOn values { zone value consumption } } bills(first: 2) { edges { node { number status } } }""",
    }
    submit = (
        "mutation($input: MeterReadingInput!) { meterReadingSubmit(input: $input) { __typename "
        "... on MeterReadingSubmitSuccess { replayed "
        + " ".join(f"{name} {{ {fields} }}" for name, fields in selections.items())
        + " } } }"
    )
    variables = reading(global_id("PersonalAccount", pa), DAY=300, NIGHT=200)
    answers = [(await gql(submit, variables))["data"]["meterReadingSubmit"] for _ in range(2)]
    assert [a["replayed"] for a in answers] == [False, True], answers
    later = await gql(
        "query($r: ID!, $b: ID!, $p: ID!) { "
        f"reading: node(id: $r) {{ ... on MeterReading {{ {selections['reading']} }} }} "
        f"bill: node(id: $b) {{ ... on Bill {{ {selections['bill']} }} }} "
        f"personalAccount: node(id: $p) {{ ... on PersonalAccount {{ {selections['personalAccount']} }} }} }}",
        {"r": answers[0]["reading"]["id"], "b": answers[0]["bill"]["id"], "p": global_id("PersonalAccount", pa)},
    )
    assert "errors" not in later, later
    for answer in answers:
        assert {name: answer[name] for name in selections} == later["data"]
