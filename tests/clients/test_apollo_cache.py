"""Apollo Client's normalized cache keeps the main screen when another query selects only
the debt, with the typePolicies the README gives ({ Debt: { merge: true } })."""

from __future__ import annotations

import json

import pytest

from services.demo import DEMO_PASSWORD, demo_load
from tests.clients.conftest import node_run
from tests.test_read_side import MAIN_SCREEN

DEBT_ONLY = "query DebtOnly { viewer { personalAccounts { id debt { total } } } }"
VARIABLES = {"from": "2013-05-26", "first": 20}


@pytest.fixture
async def token(db, settings, gql) -> str:
    await demo_load(db, settings)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    return gql.token


async def test_the_main_screen_survives_a_debt_only_query(node, live_server, token):
    result = node_run(
        node, "apollo_cache.mjs", f"{live_server}/graphql", token, MAIN_SCREEN, DEBT_ONLY, json.dumps(VARIABLES), "on"
    )
    assert result == {"warnings": [], "readBack": True, "same": True}


async def test_without_the_policy_apollo_warns_that_the_debt_is_replaced(node, live_server, token):
    # Why the README gives the policy: Debt has no identity of its own.
    result = node_run(
        node, "apollo_cache.mjs", f"{live_server}/graphql", token, MAIN_SCREEN, DEBT_ONLY, json.dumps(VARIABLES), "off"
    )
    assert any("Cache data may be lost" in w and "PersonalAccount.debt" in w for w in result["warnings"]), result
    assert result["readBack"] is False
