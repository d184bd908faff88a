"""API keys and scopes: who may call the aggregator fields, and what aggregators never see."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from models import ApiClient
from resolvers.ids import global_id
from services.demo import DEMO_PASSWORD
from services.tokens import token_digest
from tests.aggregators.aggregator_helpers import (
    LOOKUP,
    NUMBER,
    POST,
    REGISTRY,
    account_make,
    api,
    client_make,
    codes,
    counts,
    post_input,
)

CALLS = {
    "lookup": (LOOKUP, {"res": "0101", "number": NUMBER}),
    "post": (POST, {"input": post_input()}),
    "registry": (REGISTRY, {}),
}


@pytest.mark.parametrize("call", CALLS)
async def test_no_credentials_is_unauthenticated(world, db, gql, call):
    await account_make(db)
    query, variables = CALLS[call]
    result = await gql(query, variables)
    assert codes(result) == {"UNAUTHENTICATED"}
    assert result["data"] is None
    assert await counts(db) == (0, 0)


@pytest.mark.parametrize("call", CALLS)
async def test_a_persons_token_is_forbidden(world, db, gql, call):
    await account_make(db)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    query, variables = CALLS[call]
    result = await gql(query, variables)
    assert codes(result) == {"FORBIDDEN"}
    assert await counts(db) == (0, 0)


async def test_an_admins_token_is_forbidden_too(world, db, gql):
    await account_make(db)
    await gql.sign_in("admin", DEMO_PASSWORD)
    assert codes(await gql(LOOKUP, {"res": "0101", "number": NUMBER})) == {"FORBIDDEN"}


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Basic dXNlcjpwYXNz", "ApiKey", "ApiKey    "])
async def test_garbage_credentials_are_unauthenticated(world, db, gql, header):
    await account_make(db)
    result = await gql(LOOKUP, {"res": "0101", "number": NUMBER}, headers={"authorization": header})
    assert codes(result) == {"UNAUTHENTICATED"}


@pytest.mark.parametrize("call", CALLS)
async def test_unknown_key_is_unauthenticated(world, db, gql, call):
    await account_make(db)
    key = await client_make(db)
    query, variables = CALLS[call]
    result = await gql(query, variables, headers=api(key[:-2] + "xx"))
    assert codes(result) == {"UNAUTHENTICATED"}
    assert await counts(db) == (0, 0)


@pytest.mark.parametrize("call", CALLS)
async def test_revoked_key_is_unauthenticated(world, db, gql, call):
    await account_make(db)
    key = await client_make(db)
    query, variables = CALLS[call]
    assert "errors" not in await gql(query, variables, headers=api(key))
    async with db.transaction() as s:
        await s.execute(update(ApiClient).values(revoked_at=dt.datetime.now(dt.UTC)))
    assert codes(await gql(query, variables, headers=api(key))) == {"UNAUTHENTICATED"}


async def test_the_scheme_is_case_insensitive(world, db, gql):
    await account_make(db)
    key = await client_make(db)
    result = await gql(LOOKUP, {"res": "0101", "number": NUMBER}, headers={"authorization": f"apikey {key}"})
    assert result["data"]["debtLookup"]["__typename"] == "DebtLookup"


async def test_debt_read_alone_may_look_up_but_not_post_or_list(world, db, gql):
    await account_make(db)
    key = await client_make(db, scopes=["debt:read"])
    assert "errors" not in await gql(*CALLS["lookup"], headers=api(key))
    assert codes(await gql(*CALLS["post"], headers=api(key))) == {"FORBIDDEN"}
    assert codes(await gql(*CALLS["registry"], headers=api(key))) == {"FORBIDDEN"}
    assert await counts(db) == (0, 0)


async def test_payments_write_alone_may_post_and_list_but_not_look_up(world, db, gql):
    await account_make(db)
    key = await client_make(db, scopes=["payments:write"])
    assert codes(await gql(*CALLS["lookup"], headers=api(key))) == {"FORBIDDEN"}
    posted = (await gql(*CALLS["post"], headers=api(key)))["data"]["aggregatorPaymentPost"]
    assert posted["__typename"] == "AggregatorPaymentPostSuccess"
    listed = (await gql(*CALLS["registry"], headers=api(key)))["data"]["aggregatorPayments"]
    assert listed["totalCount"] == 1


async def test_aggregators_see_no_viewer_and_no_nodes(world, db, gql):
    pa = await account_make(db)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    own = (await gql("{ viewer { personalAccounts { id bills { edges { node { id } } } } } }"))["data"]["viewer"]
    ids = [own["personalAccounts"][0]["id"], own["personalAccounts"][0]["bills"]["edges"][0]["node"]["id"]]
    assert ids[0] == global_id("PersonalAccount", pa)
    gql.token = None
    key = await client_make(db)
    query = "query($id: ID!) { viewer { login } node(id: $id) { id } }"
    for value in [*ids, global_id("Account", 1), "garbage"]:
        assert await gql(query, {"id": value}, headers=api(key)) == {"data": {"viewer": None, "node": None}}


async def test_keys_are_random_and_stored_only_as_sha256(world, db):
    first = await client_make(db, name="one")
    second = await client_make(db, name="two")
    assert first != second and len(first) >= 43  # 256 bits in URL-safe base64
    async with db.sessions() as s:
        stored = (await s.execute(select(ApiClient.name, ApiClient.key_hash).order_by(ApiClient.name))).all()
    assert [(r.name, r.key_hash) for r in stored] == [("one", token_digest(first)), ("two", token_digest(second))]
    assert all(first.encode() not in r.key_hash and second.encode() not in r.key_hash for r in stored)
