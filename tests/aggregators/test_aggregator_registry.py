"""aggregatorPayments: the calling client's own posts, by Kyiv date of paidAt, newest first."""

from __future__ import annotations

import pytest

from tests.aggregators.aggregator_helpers import REGISTRY, account_make, api, client_make, codes, post


async def _registry(gql, key, **variables) -> dict:
    result = await gql(REGISTRY, variables, headers=api(key))
    assert "errors" not in result, result
    return result["data"]["aggregatorPayments"]


async def test_only_own_posts_with_count_and_sum_newest_first(world, db, gql):
    await account_make(db)
    await account_make(db, number="9000002", login=None, bills=0)
    mine = await client_make(db, name="mine")
    theirs = await client_make(db, name="theirs")
    await post(gql, mine, transactionId="A1", amount="10.00", paidAt="2014-05-20T09:00:00+03:00")
    await post(gql, mine, transactionId="A2", amount="20.50", paidAt="2014-05-25T09:00:00+03:00", category="SERVICES")
    await post(
        gql,
        mine,
        transactionId="A3",
        amount="5.25",
        paidAt="2014-05-22T09:00:00+03:00",
        personalAccountNumber="9000002",
    )
    await post(gql, theirs, transactionId="A1", amount="999.00", paidAt="2014-05-21T09:00:00+03:00")

    registry = await _registry(gql, mine)
    assert registry["period"] == {"from": "2013-05-26", "to": "2014-05-26"}
    assert registry["totalCount"] == 3
    assert registry["totalAmount"] == "35.75"
    nodes = [e["node"] for e in registry["edges"]]
    assert [n["transactionId"] for n in nodes] == ["A2", "A3", "A1"]
    assert nodes[0] == {
        "transactionId": "A2",
        "resCode": "0101",
        "personalAccountNumber": "9000001",
        "category": "SERVICES",
        "amount": "20.50",
        "paidAt": "2014-05-25T06:00:00Z",
        "postedAt": nodes[0]["postedAt"],
    }
    other = await _registry(gql, theirs)
    assert (other["totalCount"], other["totalAmount"]) == (1, "999.00")
    assert [e["node"]["amount"] for e in other["edges"]] == ["999.00"]


async def test_an_empty_registry(world, db, gql):
    key = await client_make(db)
    registry = await _registry(gql, key, **{"from": "2014-05-01", "to": "2014-05-31"})
    assert registry == {
        "totalCount": 0,
        "totalAmount": "0.00",
        "period": {"from": "2014-05-01", "to": "2014-05-31"},
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None},
        "edges": [],
    }


async def test_days_are_kyiv_days(world, db, gql):
    await account_make(db)
    key = await client_make(db)
    # 21:30 UTC on 20 May is 00:30 on 21 May in Kyiv (UTC+3 in summer); 20:59 UTC is still the 20th.
    await post(gql, key, transactionId="late", paidAt="2014-05-20T21:30:00Z")
    await post(gql, key, transactionId="early", paidAt="2014-05-20T20:59:59Z")
    on_21 = await _registry(gql, key, **{"from": "2014-05-21", "to": "2014-05-21"})
    on_20 = await _registry(gql, key, **{"from": "2014-05-20", "to": "2014-05-20"})
    assert [e["node"]["transactionId"] for e in on_21["edges"]] == ["late"]
    assert [e["node"]["transactionId"] for e in on_20["edges"]] == ["early"]
    # Winter: UTC+2. 22:00 UTC on 14 January is midnight on the 15th.
    await post(gql, key, transactionId="winter", paidAt="2014-01-14T22:00:00Z")
    on_15 = await _registry(gql, key, **{"from": "2014-01-15", "to": "2014-01-15"})
    assert [e["node"]["transactionId"] for e in on_15["edges"]] == ["winter"]


async def test_the_default_period_ends_on_the_business_date(world, db, gql):
    await account_make(db)
    key = await client_make(db)
    await post(gql, key, transactionId="today", paidAt="2014-05-26T23:59:00+03:00")
    await post(gql, key, transactionId="tomorrow", paidAt="2014-05-27T00:01:00+03:00")
    await post(gql, key, transactionId="year-ago", paidAt="2013-05-26T00:00:00+03:00")
    await post(gql, key, transactionId="too-old", paidAt="2013-05-25T23:59:00+03:00")
    registry = await _registry(gql, key)
    assert [e["node"]["transactionId"] for e in registry["edges"]] == ["today", "year-ago"]
    assert registry["totalCount"] == 2


async def test_pages_follow_cursors_and_totals_cover_the_period(world, db, gql):
    await account_make(db)
    key = await client_make(db)
    for i in range(7):
        # Two posts share each instant: the id breaks the tie.
        await post(
            gql, key, transactionId=f"P{i}", amount=f"{i + 1}.00", paidAt=f"2014-05-{10 + i // 2:02}T12:00:00+03:00"
        )
    seen, after, pages = [], None, []
    while True:
        page = await _registry(gql, key, first=3, after=after)
        assert (page["totalCount"], page["totalAmount"]) == (7, "28.00")
        pages.append(page["pageInfo"])
        seen += [e["node"]["transactionId"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["P6", "P5", "P4", "P3", "P2", "P1", "P0"]
    assert [p["hasPreviousPage"] for p in pages] == [False, True, True]
    # A new post does not move the cursor: the next page continues where it was.
    first_page = await _registry(gql, key, first=3)
    await post(gql, key, transactionId="P7", paidAt="2014-05-20T12:00:00+03:00")
    rest = await _registry(gql, key, first=10, after=first_page["pageInfo"]["endCursor"])
    assert [e["node"]["transactionId"] for e in rest["edges"]] == ["P3", "P2", "P1", "P0"]


async def test_first_over_100_and_bad_cursors_are_bad_user_input(world, db, gql):
    key = await client_make(db)
    cursors = [
        "garbage!",
        "MjAxNA",
        "eHh4fHl5eQ",
        "MDAwMS0wMS0wMVQwMDowMDowMCswMzowMHw1",  # year 1
        "MjAxNC0wNS0wMVQwMDowMDowMCswMDowMHw5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ",  # id beyond bigint
        "MjAxNC0wNS0wMVQwMDowMDowMHw1",  # no offset
    ]
    for variables in ({"first": 101}, {"first": -1}, *({"after": c} for c in cursors)):
        assert codes(await gql(REGISTRY, variables, headers=api(key))) == {"BAD_USER_INPUT"}, variables


async def test_from_after_to_is_an_empty_registry_with_an_error_on_it(world, db, gql):
    key = await client_make(db)
    await account_make(db)
    await post(gql, key, transactionId="P1", paidAt="2014-05-01T12:00:00+03:00")
    result = await gql(
        REGISTRY, {"from": "2014-05-02", "to": "2014-05-01"}, headers={**api(key), "accept-language": "en"}
    )
    assert result["data"]["aggregatorPayments"]["totalCount"] == 0
    assert result["data"]["aggregatorPayments"]["period"] == {"from": "2014-05-02", "to": "2014-05-01"}
    assert result["errors"] == [
        {
            "message": "The period's start (`from`) is after its end (`to`).",
            "path": ["aggregatorPayments"],
            "extensions": {"code": "BAD_USER_INPUT"},
        }
    ]


@pytest.mark.parametrize(("start", "end"), [("0001-01-01", "0001-12-31"), ("9999-01-01", "9999-12-31")])
async def test_extreme_periods_are_just_empty(world, db, gql, start, end):
    key = await client_make(db)
    registry = await _registry(gql, key, **{"from": start, "to": end})
    assert registry["totalCount"] == 0


async def test_aggregator_payments_carry_no_customer_data(world, db, gql):
    result = await gql('{ __type(name: "AggregatorPayment") { fields { name } } }')
    assert {f["name"] for f in result["data"]["__type"]["fields"]} == {
        "transactionId",
        "resCode",
        "personalAccountNumber",
        "category",
        "amount",
        "paidAt",
        "postedAt",
    }
