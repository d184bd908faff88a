"""One person cannot see or act on another's personal accounts, requests, sessions or data."""

from __future__ import annotations

from tests.accounts.account_helpers import (
    ADD,
    APPROVE,
    CHANGE,
    METER,
    NUMBER,
    PASSWORD,
    QUEUE,
    REJECT,
    UPDATE,
    VIEWER,
    active_login,
    admin_token,
    register,
    sign_in,
    token_of,
)

NODE = """query($id: ID!) { node(id: $id) { __typename
  ... on ActivationRequest { personalAccountNumber }
  ... on Account { login }
  ... on PersonalAccount { number } } }"""


async def setup(gql) -> dict:
    """owner holds 5550001; other holds 5550002 and has asked for 5550001 (pending)."""
    owner = await active_login(gql, "owner")
    other = await active_login(gql, "other", number="5550002", res="0102")
    asked = await gql(
        ADD, {"input": {"resCode": "0101", "personalAccountNumber": NUMBER, "meterSerialNumber": METER}}, token=other
    )
    payload = asked["data"]["personalAccountAdd"]
    owner_view = (await gql(VIEWER + " ", token=owner))["data"]["viewer"]
    owner_ids = await gql("{ viewer { id personalAccounts { id } activationRequests { id } } }", token=owner)
    return {
        "owner": owner,
        "other": other,
        "pending": payload["request"]["id"],
        "pending_target": payload["personalAccount"],
        "owner_view": owner_view,
        "owner_ids": owner_ids["data"]["viewer"],
    }


async def test_a_request_for_someone_elses_account_shows_nothing_of_it(world, gql):
    world_ = await setup(gql)
    assert world_["pending_target"] is None
    other_view = (await gql(VIEWER, token=world_["other"]))["data"]["viewer"]
    assert other_view["personalAccounts"] == [{"number": "5550002"}]
    pending = next(r for r in other_view["activationRequests"] if r["status"] == "PENDING")
    assert pending["personalAccount"] is None and pending["decidedBy"] is None
    # The owner's own list is unchanged by the other's request.
    assert world_["owner_view"]["personalAccounts"] == [{"number": NUMBER}]
    assert [r["account"]["login"] for r in world_["owner_view"]["activationRequests"]] == ["owner"]


async def test_someone_elses_ids_read_as_missing(world, gql):
    world_ = await setup(gql)
    ids = world_["owner_ids"]
    for value in [ids["id"], ids["personalAccounts"][0]["id"], ids["activationRequests"][0]["id"]]:
        assert (await gql(NODE, {"id": value}, token=world_["other"]))["data"]["node"] is None
        assert (await gql(NODE, {"id": value}, token=world_["owner"]))["data"]["node"] is not None
    # The other's pending request is theirs to see, not the owner's.
    assert (await gql(NODE, {"id": world_["pending"]}, token=world_["owner"]))["data"]["node"] is None
    assert (await gql(NODE, {"id": world_["pending"]}, token=world_["other"]))["data"]["node"] == {
        "__typename": "ActivationRequest",
        "personalAccountNumber": NUMBER,
    }


async def test_customers_cannot_decide_or_list_requests(world, gql):
    world_ = await setup(gql)
    for token in (world_["owner"], world_["other"]):
        for document, variables in [
            (APPROVE, {"id": world_["pending"]}),
            (REJECT, {"id": world_["pending"], "reason": "mine"}),
            (QUEUE, {}),
        ]:
            result = await gql(document, variables, token=token)
            assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Still pending: nothing was decided.
    queue = await gql(QUEUE, {"status": "PENDING"}, token=await admin_token(gql))
    assert [e["node"]["id"] for e in queue["data"]["activationRequests"]["edges"]] == [world_["pending"]]


async def test_profile_and_password_mutations_act_on_the_signed_in_login_only(world, gql):
    world_ = await setup(gql)
    await gql(UPDATE, {"input": {"phones": ["0670000000"]}}, token=world_["other"])
    await gql(CHANGE, {"c": PASSWORD, "p": "other's new secret"}, token=world_["other"])
    owner = (await gql("{ viewer { phones } }", token=world_["owner"]))["data"]["viewer"]
    assert owner == {"phones": ["+380501234567"]}
    assert (await sign_in(gql, "owner"))["__typename"] == "TokenCreateSuccess"
    # The owner's session was not among those the other's password change ended.
    assert (await gql("{ viewer { login } }", token=world_["owner"]))["data"]["viewer"] == {"login": "owner"}


async def test_a_merge_needs_the_other_logins_password(world, gql):
    world_ = await setup(gql)
    merge = """mutation($l: String!, $p: String!) { accountMerge(login: $l, password: $p) {
      __typename ... on OperationError { code } } }"""
    result = await gql(merge, {"l": "owner", "p": "a guess at it"}, token=world_["other"])
    assert result["data"]["accountMerge"]["code"] == "INVALID_CREDENTIALS"
    assert (await gql("{ viewer { personalAccounts { number } } }", token=world_["owner"]))["data"]["viewer"] == {
        "personalAccounts": [{"number": NUMBER}]
    }


async def test_a_pending_login_has_no_session_to_act_with(world, gql):
    await register(gql, login="waiting", email="waiting@example.com")
    assert (await sign_in(gql, "waiting"))["code"] == "ACCOUNT_NOT_ACTIVE"
    result = await gql(ADD, {"input": {"resCode": "0102", "personalAccountNumber": "5550002"}})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await token_of(gql, "admin", "admin staple battery")
