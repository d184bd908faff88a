"""personalAccountAdd: one more personal account for a login, with the same evidence rules."""

from __future__ import annotations

from tests.accounts.account_helpers import (
    ADD,
    APPROVE,
    LAST_PAYMENT,
    METER,
    NUMBER,
    VIEWER,
    active_login,
    admin_token,
    field_codes,
    outbox,
)


async def add(gql, token: str, headers: dict | None = None, **values) -> dict:
    values.setdefault("resCode", "0101")
    values.setdefault("personalAccountNumber", NUMBER)
    return (await gql(ADD, {"input": values}, token=token, headers=headers))["data"]["personalAccountAdd"]


async def second_login(gql) -> str:
    """A login holding 5550002 (RES 0102), about to ask for 5550001 (RES 0101)."""
    return await active_login(gql, "holder", number="5550002", res="0102")


async def test_matching_evidence_links_at_once(world, gql, db):
    token = await second_login(gql)
    payload = await add(gql, token, headers={"accept-language": "en"}, meterSerialNumber=METER)
    assert payload["__typename"] == "PersonalAccountAddSuccess"
    assert payload["personalAccount"]["number"] == NUMBER
    request = payload["request"]
    assert (request["status"], request["method"], request["personalAccount"]) == (
        "APPROVED",
        "METER_NUMBER",
        {"number": NUMBER},
    )
    viewer = (await gql(VIEWER, token=token))["data"]["viewer"]
    assert viewer["personalAccounts"] == [{"number": "5550002"}, {"number": NUMBER}]
    # A node ID from the answer works with node().
    node = await gql(
        "query($id: ID!) { node(id: $id) { ... on PersonalAccount { number } } }",
        {"id": payload["personalAccount"]["id"]},
        token=token,
    )
    assert node["data"]["node"] == {"number": NUMBER}
    approved = await outbox(db, kind="activation_approved", to_address="holder@example.com")
    assert [m.language for m in approved] == ["uk", "en"]  # registration, then this request


async def test_the_last_payment_links_too(world, gql):
    token = await second_login(gql)
    payload = await add(gql, token, lastPaymentAmount=str(LAST_PAYMENT))
    assert payload["request"]["method"] == "LAST_PAYMENT_AMOUNT"


async def test_without_matching_evidence_the_request_waits(world, gql, db):
    token = await second_login(gql)
    payload = await add(gql, token, lastPaymentAmount="1.00")
    assert payload["personalAccount"] is None
    assert (payload["request"]["status"], payload["request"]["method"]) == ("PENDING", None)
    # Not linked yet: the request does not open the record.
    assert payload["request"]["personalAccount"] is None
    viewer = (await gql(VIEWER, token=token))["data"]["viewer"]
    assert viewer["personalAccounts"] == [{"number": "5550002"}]
    assert [
        (r["personalAccountNumber"], r["status"], r["lastPaymentAmount"]) for r in viewer["activationRequests"]
    ] == [(NUMBER, "PENDING", "1.00"), ("5550002", "APPROVED", None)]
    approved = await gql(APPROVE, {"id": payload["request"]["id"]}, token=await admin_token(gql))
    assert approved["data"]["activationApprove"]["request"]["status"] == "APPROVED"
    viewer = (await gql(VIEWER, token=token))["data"]["viewer"]
    assert viewer["personalAccounts"] == [{"number": "5550002"}, {"number": NUMBER}]


async def test_one_request_per_personal_account(world, gql):
    token = await second_login(gql)
    linked = await add(gql, token, resCode="0102", personalAccountNumber="5550002", meterSerialNumber=METER)
    assert (linked["__typename"], linked["code"]) == ("OperationError", "PERSONAL_ACCOUNT_ALREADY_LINKED")
    assert (await add(gql, token))["request"]["status"] == "PENDING"
    pending = await add(gql, token, meterSerialNumber=METER)
    assert pending["code"] == "PERSONAL_ACCOUNT_ALREADY_LINKED"


async def test_a_rejected_request_may_be_made_again(world, gql):
    token = await second_login(gql)
    first = await add(gql, token)
    admin = await admin_token(gql)
    await gql(
        'mutation($id: ID!) { activationReject(id: $id, reason: "Не збігається") { __typename } }',
        {"id": first["request"]["id"]},
        token=admin,
    )
    again = await add(gql, token, meterSerialNumber=METER)
    assert again["request"]["status"] == "APPROVED"


async def test_held_by_another_login_it_waits_and_the_holder_is_told(world, gql, db):
    await active_login(gql, "owner")  # holds 5550001
    token = await second_login(gql)
    payload = await add(gql, token, meterSerialNumber=METER)
    assert payload["personalAccount"] is None and payload["request"]["status"] == "PENDING"
    [told] = await outbox(db, kind="personal_account_requested")
    assert told.to_address == "owner@example.com" and "holder" in told.body


async def test_unknown_res_and_number_and_bad_fields(world, gql, db):
    token = await second_login(gql)
    assert field_codes(await add(gql, token, resCode="9999")) == {"input/resCode": "UNKNOWN_RES"}
    assert field_codes(await add(gql, token, personalAccountNumber="404")) == {
        "input/personalAccountNumber": "PERSONAL_ACCOUNT_NOT_FOUND"
    }
    payload = await add(gql, token, resCode="", personalAccountNumber="a b", lastPaymentAmount="0.001")
    assert field_codes(payload) == {
        "input/resCode": "REQUIRED",
        "input/personalAccountNumber": "INVALID_FORMAT",
        "input/lastPaymentAmount": "INVALID_FORMAT",
    }
    assert len((await gql(VIEWER, token=token))["data"]["viewer"]["activationRequests"]) == 1


async def test_evidence_guesses_are_throttled(world, gql, settings):
    token = await second_login(gql)
    admin = await admin_token(gql)
    for i in range(settings.throttle_free_failures + 1):
        payload = await add(gql, token, meterSerialNumber=f"GUESS-{i}")
        assert payload["request"]["status"] == "PENDING"
        # Withdraw the guess by asking an admin to reject it, so the next one may be made.
        await gql(
            'mutation($id: ID!) { activationReject(id: $id, reason: "guess") { __typename } }',
            {"id": payload["request"]["id"]},
            token=admin,
        )
    refused = await add(gql, token, meterSerialNumber=METER)
    assert (refused["__typename"], refused["code"]) == ("OperationError", "TOO_MANY_ATTEMPTS")
    assert refused["retryAfter"] >= 1


async def test_adding_needs_sign_in(world, gql):
    result = await gql(ADD, {"input": {"resCode": "0101", "personalAccountNumber": NUMBER}})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
