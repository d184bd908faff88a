"""The main screen's fast path answers byte for byte what the general executor answers."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from sqlalchemy import select, text

from models import PersonalAccount
from schema.main_screen import MAIN_SCREEN, is_main_screen
from services.demo import DEMO_PASSWORD, demo_load
from tests.builders import debt_pay_off, history_make, link, personal_account_make

VARIABLE_SETS = [
    {},
    {"from": "2014-04-01"},
    {"from": "2013-01-01", "to": "2014-04-30", "first": 3},
    {"from": "1900-01-01", "first": 100},
    {"first": 0},
]


async def _both(http, settings, token, variables, query=MAIN_SCREEN):
    answers = []
    for fast in (False, True):
        settings.fast_paths = fast
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
        )
        answers.append(response.content)
    return answers


@pytest.fixture
async def world(db, settings, gql):
    await demo_load(db, settings)
    async with db.transaction() as s:
        extra = await personal_account_make(s, number="9100001", login="lysenko")
        await history_make(s, personal_account_id=extra, bills=30, start_number=80_000_000)
        await link(s, login="zakharov", personal_account_id=extra)  # two logins on one account
    tokens = {}
    for login in ("lysenko", "zakharov", "admin"):
        tokens[login] = (await gql.sign_in(login, DEMO_PASSWORD))["accessToken"]
    return tokens


@pytest.mark.parametrize("variables", VARIABLE_SETS)
async def test_fast_and_general_answers_are_byte_identical(world, http, settings, variables):
    for login, token in world.items():
        general, fast = await _both(http, settings, token, variables)
        assert b'"errors"' not in general, general
        assert fast == general, login


async def test_after_a_payment_reading_and_reversal_they_still_agree(world, http, settings, gql):
    gql.token = world["lysenko"]
    pa = (await gql("{ viewer { personalAccounts { id } } }"))["data"]["viewer"]["personalAccounts"][0]["id"]
    await gql(
        """mutation($i: MeterReadingInput!) { meterReadingSubmit(input: $i) { __typename } }""",
        {"i": {"personalAccountId": pa, "takenOn": "2014-05-26", "values": [{"zone": "TOTAL", "value": 48500}]}},
    )
    general, fast = await _both(http, settings, world["lysenko"], {})
    assert fast == general


@pytest.mark.parametrize(
    ("variables", "token"),
    [
        ({"first": 101}, "lysenko"),
        ({"from": "2014-02-30"}, "lysenko"),
        ({"from": "2015-01-01", "to": "2014-01-01"}, "lysenko"),
        ({}, None),
        ({}, "garbage"),
    ],
)
async def test_every_error_case_is_the_general_executors(world, http, settings, variables, token):
    token = world.get(token, token)
    general, fast = await _both(http, settings, token, variables)
    assert b'"errors"' in general
    assert fast == general


@pytest.mark.parametrize("spoiled", ["expired", "revoked", "blocked"])
async def test_a_spoiled_token_gets_the_general_executors_answer(world, http, settings, db, gql, spoiled):
    # The fast path asks the same token check as every request: what it refuses, it refuses.
    token = world["lysenko"]
    if spoiled == "expired":
        async with db.transaction() as s:
            await s.execute(
                text("UPDATE auth_token SET expires_at = now() - interval '1 minute' WHERE kind = 'ACCESS'")
            )
    elif spoiled == "revoked":
        gql.token = token
        assert (await gql("mutation { tokenRevoke(everywhere: true) { __typename } }"))["data"]
    else:
        async with db.transaction() as s:
            await s.execute(text("UPDATE account SET status = 'BLOCKED' WHERE login = 'lysenko'"))
    general, fast = await _both(http, settings, token, {})
    assert b'"UNAUTHENTICATED"' in general and b'"personalAccounts"' not in general, general
    assert fast == general


async def _fast_statements(statements, http, settings, token) -> tuple[list[str], bytes]:
    settings.fast_paths = True
    with statements() as counted:
        response = await http.post(
            "/graphql", json={"query": MAIN_SCREEN}, headers={"authorization": f"Bearer {token}"}
        )
    return counted.statements, response.content


async def test_the_fast_path_is_the_token_check_and_one_statement(world, http, settings, statements, db):
    # 9100001's history is half paid, its oldest unpaid bills older than the year: paid off
    # here, every default period of lysenko's screen is the year up to today.
    async with db.transaction() as s:
        extra = (await s.execute(select(PersonalAccount.id).where(PersonalAccount.number == "9100001"))).scalar_one()
        await debt_pay_off(s, personal_account_id=extra, paid_on=dt.date(2014, 5, 1))
    counted, body = await _fast_statements(statements, http, settings, world["lysenko"])
    assert orjson.loads(body)["data"]["viewer"]["personalAccounts"][0]["number"] == "0101010"
    assert len(counted) == 2 and "auth_token" in counted[0], counted


async def test_a_default_period_reaching_back_reads_the_older_lines_in_one_more_statement(
    world, http, settings, statements
):
    # Zakharov's 0101030 owes on bills of February and March 2013, over a year before today.
    counted, fast = await _fast_statements(statements, http, settings, world["zakharov"])
    screen = orjson.loads(fast)["data"]["viewer"]["personalAccounts"][0]
    assert screen["number"] == "0101030" and screen["bills"]["period"]["from"] == "2013-02-19"
    assert [e["node"]["lines"][0]["amount"] for e in screen["bills"]["edges"]] == ["25.50", "34.18"]
    assert len(counted) == 3
    general, _ = await _both(http, settings, world["zakharov"], {})
    assert fast == general


def test_only_the_exact_document_is_known():
    assert is_main_screen(MAIN_SCREEN)
    assert is_main_screen("  " + MAIN_SCREEN.replace("\n", "   \n "))
    assert not is_main_screen(MAIN_SCREEN.replace("holderName", "holderName __typename"))
    assert not is_main_screen(MAIN_SCREEN.replace("MainScreen", "Other"))
