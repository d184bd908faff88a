"""Which input errors are top-level (README, Errors): read-field arguments have no error
union, so a bad `first` or cursor is a BAD_USER_INPUT error on that field's path (null
propagation nulls `viewer`); a period with `from` after `to` is an empty list with a
localized BAD_USER_INPUT error on that field alone; a malformed scalar literal stops the
request."""

from __future__ import annotations

import pytest

from services.demo import DEMO_PASSWORD, demo_load


@pytest.fixture(autouse=True)
async def signed_in(db, settings, gql):
    await demo_load(db, settings)
    await gql.sign_in("lysenko", DEMO_PASSWORD)


@pytest.mark.parametrize(
    "arguments",
    ["first: 101", "first: -1", 'after: "not-a-cursor"'],
)
async def test_a_bad_list_argument_is_a_field_error_and_the_rest_stays(gql, arguments):
    result = await gql(f"query {{ viewer {{ personalAccounts {{ number bills({arguments}) {{ totalCount }} }} }} }}")
    assert result["errors"], result
    for error in result["errors"]:
        assert error["extensions"]["code"] == "BAD_USER_INPUT", result
        assert error["path"][:2] == ["viewer", "personalAccounts"] and error["path"][-1] == "bills", error
    assert result["data"] == {"viewer": None}


INVERTED = """query { viewer { personalAccounts { number debt { total }
  bills(from: "2014-05-01", to: "2014-04-01") { totalCount totalAmount period { from to } edges { cursor } }
  payments(categories: [ELECTRICITY], from: "2014-04-01") { totalCount }
  readings(from: "2014-05-01", to: "2014-04-01") { totalCount }
  monthlyConsumption(from: "2014-05-01", to: "2014-04-01") { month }
} } }"""


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (None, "Дата початку періоду («from») пізніша за дату його кінця («to»)."),
        ("uk", "Дата початку періоду («from») пізніша за дату його кінця («to»)."),
        ("ru-RU,ru;q=0.9", "Дата начала периода («from») позже даты его окончания («to»)."),
        ("en", "The period's start (`from`) is after its end (`to`)."),
    ],
)
async def test_from_after_to_is_a_localized_error_on_that_field_and_the_rest_stays(gql, language, text):
    headers = {"accept-language": language} if language else None
    result = await gql(INVERTED, headers=headers)
    account = result["data"]["viewer"]["personalAccounts"][0]
    # The rest of the screen answers; the inverted lists hold no day, so nothing.
    assert (account["number"], account["debt"]["total"], account["payments"]["totalCount"]) == (
        "0101010",
        "19478.79",
        5,
    )
    assert account["bills"] == {
        "totalCount": 0,
        "totalAmount": "0.00",
        "period": {"from": "2014-05-01", "to": "2014-04-01"},
        "edges": [],
    }
    assert account["readings"]["totalCount"] == 0 and account["monthlyConsumption"] == []
    errors = sorted(result["errors"], key=lambda e: e["path"])
    assert [e["path"] for e in errors] == [
        ["viewer", "personalAccounts", 0, field] for field in ("bills", "monthlyConsumption", "readings")
    ]
    for error in errors:
        assert error["extensions"] == {"code": "BAD_USER_INPUT"} and error["message"] == text, error


async def test_a_malformed_decimal_literal_stops_the_request(gql):
    result = await gql(
        'mutation { paymentStart(input: {personalAccountId: "x", category: ELECTRICITY, amount: "1e3", '
        'idempotencyKey: "k"}) { __typename } }'
    )
    assert result.get("data") is None and result["errors"][0].get("path") is None, result
