"""The manual's own screens on the demo data, loaded through the import."""

from __future__ import annotations

import pytest

from services.demo import DEMO_PASSWORD, demo_load

SCREEN = """query($from: Date) { viewer { login personalAccounts {
  number holderName address res { code name oblast { name } }
  lastReading { takenOn values { zone value } }
  meter { serialNumber digits zones }
  debt { total categories { category amount } }
  bills(categories: [ELECTRICITY], from: $from) { totalCount totalAmount period { from to }
    edges { node { number issuedOn periodStart periodEnd amount status amountDue kind lines { amount } } } }
  payments(categories: [ELECTRICITY], from: $from) { totalCount totalAmount edges { node { paidOn amount channel } } }
  internetPayments(categories: [ELECTRICITY], from: $from) { totalCount edges { node { number amount confirmedAt status } } }
} } }"""


@pytest.fixture
async def manual(db, settings, gql):
    await demo_load(db, settings)
    await gql.sign_in("lysenko", DEMO_PASSWORD)


async def test_the_main_screen_is_the_manuals_figure_5_and_6(manual, gql):
    account = (await gql(SCREEN, {"from": "2014-04-01"}))["data"]["viewer"]["personalAccounts"][0]
    assert (account["number"], account["holderName"]) == ("0101010", "Лысенко Александра Афанасьевна")
    assert account["lastReading"] == {"takenOn": "2014-04-27", "values": [{"zone": "TOTAL", "value": 48200}]}
    assert account["meter"] == {"serialNumber": "01010100", "digits": 5, "zones": ["TOTAL"]}
    assert [c["amount"] for c in account["debt"]["categories"]] == ["1870.54", "771.36", "8149.11", "8098.62", "589.16"]
    assert [c["category"] for c in account["debt"]["categories"]] == [
        "ELECTRICITY",
        "ELECTRICITY_SCHEDULE",
        "ACTS",
        "ACTS_SCHEDULE",
        "SERVICES",
    ]
    bills = [
        (
            e["node"]["number"],
            e["node"]["issuedOn"],
            e["node"]["periodStart"],
            e["node"]["periodEnd"],
            e["node"]["amount"],
            e["node"]["status"],
        )
        for e in account["bills"]["edges"]
    ]
    assert bills == [
        ("13942531", "2014-04-30", "2014-04-11", "2014-04-27", "256.64", "UNPAID"),
        ("13942529", "2014-04-15", None, None, "-50.00", "PAID"),
        ("13942526", "2014-04-14", "2014-04-10", "2014-04-10", "317.92", "UNPAID"),
        ("13942524", "2014-04-10", "2014-04-09", "2014-04-09", "12.45", "UNPAID"),
        ("13942517", "2014-04-08", "2014-04-03", "2014-04-08", "1519.71", "PARTIALLY_PAID"),
        ("13942515", "2014-04-04", "2014-04-02", "2014-04-02", "414.96", "PAID"),
        ("13942510", "2014-04-04", "2014-03-28", "2014-04-01", "146.22", "PAID"),
    ]
    partially = account["bills"]["edges"][4]["node"]
    assert partially["amountDue"] == "1283.53"
    for edge in account["bills"]["edges"]:
        node = edge["node"]
        if node["kind"] == "CONSUMPTION":
            assert sum(float(l["amount"]) for l in node["lines"]) == pytest.approx(float(node["amount"]))
    assert [(e["node"]["paidOn"], e["node"]["amount"]) for e in account["payments"]["edges"]] == [
        ("2014-04-10", "10.00"),
        ("2014-04-10", "100.55"),
        ("2014-04-10", "20.00"),
        ("2014-04-10", "55.63"),
        ("2014-04-04", "561.18"),
    ]
    internet = [
        (e["node"]["number"], e["node"]["amount"], e["node"]["confirmedAt"], e["node"]["status"])
        for e in account["internetPayments"]["edges"]
    ]
    assert internet == [
        (1714, "10.00", "2014-04-10T10:18:42Z", "PROCESSED"),
        (1708, "100.55", "2014-04-10T09:50:05Z", "PROCESSED"),
        (1707, "20.00", "2014-04-10T09:45:11Z", "PROCESSED"),
        (1706, "55.63", "2014-04-10T09:42:40Z", "PROCESSED"),
    ]


async def test_the_default_period_shows_the_april_screens(manual, gql):
    account = (await gql(SCREEN))["data"]["viewer"]["personalAccounts"][0]
    assert account["bills"]["period"] == {"from": "2013-05-26", "to": "2014-05-26"}
    assert account["bills"]["totalCount"] == 7
    assert account["bills"]["totalAmount"] == "2617.90"
    assert account["payments"]["totalCount"] == 5 and account["payments"]["totalAmount"] == "747.36"
    assert account["internetPayments"]["totalCount"] == 4


async def test_the_tabs_from_one_query_each(manual, gql):
    tabs = await gql("""{ viewer { personalAccounts {
      schedules: bills(categories: [ELECTRICITY_SCHEDULE, ACTS_SCHEDULE], from: "2012-01-01") { totalCount }
      acts: bills(categories: [ACTS], from: "2012-01-01") { totalCount }
      services: bills(categories: [SERVICES], from: "2012-01-01") { totalCount }
      repaymentSchedules { number category total instalments { dueOn amount bill { number status } } }
      violationActs { number drawnUpOn amount bill { number } }
      meter { serialNumber digits zones verifiedOn nextVerificationOn }
      monthlyConsumption(from: "2014-01-01") { month kwh amount }
    } } }""")
    account = tabs["data"]["viewer"]["personalAccounts"][0]
    schedules = {s["category"]: s for s in account["repaymentSchedules"]}
    assert set(schedules) == {"ELECTRICITY_SCHEDULE", "ACTS_SCHEDULE"}
    for schedule in schedules.values():
        due = [i for i in schedule["instalments"] if i["dueOn"] <= "2014-05-26"]
        later = [i for i in schedule["instalments"] if i["dueOn"] > "2014-05-26"]
        # An instalment is a bill from its due date on, and not debt before.
        assert all(i["bill"] is not None for i in due) and all(i["bill"] is None for i in later)
        assert sum(float(i["amount"]) for i in schedule["instalments"]) == pytest.approx(float(schedule["total"]))
    assert account["violationActs"] and all(a["bill"] for a in account["violationActs"])
    assert (
        account["schedules"]["totalCount"] > 0
        and account["acts"]["totalCount"] > 0
        and account["services"]["totalCount"] > 0
    )
    assert sum(m["kwh"] for m in account["monthlyConsumption"]) > 0


async def test_zakharov_sees_only_his_account(db, settings, gql):
    await demo_load(db, settings)
    await gql.sign_in("zakharov", DEMO_PASSWORD)
    accounts = (await gql(SCREEN))["data"]["viewer"]["personalAccounts"]
    assert [
        (a["number"], a["res"]["name"], a["lastReading"]["values"][0]["value"], a["lastReading"]["takenOn"])
        for a in accounts
    ] == [("0101030", "Київ1", 3603, "2013-03-19")]


async def test_the_manuals_reading_example_on_the_demo(manual, gql):
    pa = (await gql("{ viewer { personalAccounts { id } } }"))["data"]["viewer"]["personalAccounts"][0]["id"]
    result = await gql(
        """mutation($input: MeterReadingInput!) { meterReadingSubmit(input: $input) {
          ... on MeterReadingSubmitSuccess { bill { number amount } reading { consumption } } } }""",
        {"input": {"personalAccountId": pa, "takenOn": "2014-05-26", "values": [{"zone": "TOTAL", "value": 48500}]}},
    )
    # «Был сформирован новый счёт №13942590», 300 kWh, 97.51
    assert result["data"]["meterReadingSubmit"] == {
        "bill": {"number": "13942590", "amount": "97.51"},
        "reading": {"consumption": 300},
    }


async def test_the_chart_splits_a_reading_over_its_months_as_its_bill_lines_do(manual, gql):
    pa = (await gql("{ viewer { personalAccounts { id } } }"))["data"]["viewer"]["personalAccounts"][0]["id"]
    await gql(
        """mutation($input: MeterReadingInput!) { meterReadingSubmit(input: $input) { __typename } }""",
        {"input": {"personalAccountId": pa, "takenOn": "2014-05-26", "values": [{"zone": "TOTAL", "value": 48500}]}},
    )
    chart = await gql("""{ viewer { personalAccounts {
      monthlyConsumption(from: "2014-05-01") { month kwh amount } } } }""")
    # 28.04-26.05.2014: the bill's lines give April's 3 days 31 kWh and May's 26 days 269 (DESIGN §3);
    # its 97.51 is shared by those kWh in whole kopecks.
    assert chart["data"]["viewer"]["personalAccounts"][0]["monthlyConsumption"] == [
        {"month": "2014-04-01", "kwh": 31, "amount": "10.08"},
        {"month": "2014-05-01", "kwh": 269, "amount": "87.43"},
    ]


async def test_loading_the_demo_twice_changes_nothing(db, settings, gql):
    await demo_load(db, settings)
    await demo_load(db, settings)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    account = (await gql(SCREEN))["data"]["viewer"]["personalAccounts"][0]
    assert account["debt"]["total"] == "19478.79"


async def test_an_instalment_becomes_a_bill_on_its_due_date(manual, gql, settings):
    query = """{ viewer { personalAccounts { debt { categories { category amount } }
      repaymentSchedules { category instalments { dueOn amount bill { number kind issuedOn } } } } } }"""
    before = (await gql(query))["data"]["viewer"]["personalAccounts"][0]
    schedule = next(s for s in before["repaymentSchedules"] if s["category"] == "ELECTRICITY_SCHEDULE")
    upcoming = next(i for i in schedule["instalments"] if i["bill"] is None)
    assert upcoming["dueOn"] > "2014-05-26"

    import datetime as dt

    settings.business_date = dt.date.fromisoformat(upcoming["dueOn"])
    after = (await gql(query))["data"]["viewer"]["personalAccounts"][0]
    schedule = next(s for s in after["repaymentSchedules"] if s["category"] == "ELECTRICITY_SCHEDULE")
    now_due = next(i for i in schedule["instalments"] if i["dueOn"] == upcoming["dueOn"])
    assert now_due["bill"]["kind"] == "INSTALLMENT" and now_due["bill"]["issuedOn"] == upcoming["dueOn"]
    debts = lambda a: {c["category"]: float(c["amount"]) for c in a["debt"]["categories"]}  # noqa: E731
    assert debts(after)["ELECTRICITY_SCHEDULE"] == pytest.approx(
        debts(before)["ELECTRICITY_SCHEDULE"] + float(upcoming["amount"])
    )
    # The schedule moved its debt out of ELECTRICITY for good: nothing comes back there.
    assert debts(after)["ELECTRICITY"] == debts(before)["ELECTRICITY"]
