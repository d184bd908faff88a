"""Which input errors are top-level (README, Errors): read-field arguments have no error
union, so a bad `first`, cursor or period is a BAD_USER_INPUT error on that field's path
(null propagation nulls `viewer`); a malformed scalar literal stops the request."""
from __future__ import annotations

import pytest

from services.demo import DEMO_PASSWORD, demo_load


@pytest.fixture(autouse=True)
async def signed_in(db, settings, gql):
    await demo_load(db, settings)
    await gql.sign_in("lysenko", DEMO_PASSWORD)


@pytest.mark.parametrize(
    "arguments",
    ["first: 101", "first: -1", 'after: "not-a-cursor"', 'from: "2014-05-01", to: "2014-04-01"'],
)
async def test_a_bad_list_argument_is_a_field_error_and_the_rest_stays(gql, arguments):
    result = await gql(f"query {{ viewer {{ personalAccounts {{ number bills({arguments}) {{ totalCount }} }} }} }}")
    assert result["errors"], result
    for error in result["errors"]:
        assert error["extensions"]["code"] == "BAD_USER_INPUT", result
        assert error["path"][:2] == ["viewer", "personalAccounts"] and error["path"][-1] == "bills", error
    assert result["data"] == {"viewer": None}


async def test_a_malformed_decimal_literal_stops_the_request(gql):
    result = await gql(
        'mutation { paymentStart(input: {personalAccountId: "x", category: ELECTRICITY, amount: "1e3", '
        'idempotencyKey: "k"}) { __typename } }'
    )
    assert result.get("data") is None and result["errors"][0].get("path") is None, result
