"""The admins' review: the queue, approve, reject, one decision only, who may decide."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select, text

from models import Account, ActivationRequest, AuditEntry
from models.base import AccountStatus, ActivationStatus
from resolvers.ids import global_id, pk_of
from tests.accounts.account_helpers import (
    ADD,
    APPROVE,
    METER,
    NUMBER,
    QUEUE,
    REJECT,
    VIEWER,
    active_login,
    admin_token,
    field_codes,
    outbox,
    register,
    sign_in,
)


async def pending_ids(db) -> list[str]:
    async with db.sessions() as s:
        rows = (await s.execute(select(ActivationRequest.id).order_by(ActivationRequest.id))).scalars()
        return [global_id("ActivationRequest", pk) for pk in rows]


async def test_the_queue_lists_oldest_first_with_filters_and_pages(world, gql, db):
    for i, res in enumerate(["0101", "0102", "0101", "0101"]):
        number = NUMBER if res == "0101" else "5550002"
        await register(gql, login=f"person{i}", email=f"p{i}@example.com", resCode=res, personalAccountNumber=number)
    await register(gql, login="linked", email="linked@example.com", meterSerialNumber=METER)
    gql.token = await admin_token(gql)
    everything = (await gql(QUEUE))["data"]["activationRequests"]
    assert everything["totalCount"] == 5
    assert [e["node"]["account"]["login"] for e in everything["edges"]] == [
        "person0",
        "person1",
        "person2",
        "person3",
        "linked",
    ]
    created = [e["node"]["createdAt"] for e in everything["edges"]]
    assert created == sorted(created)
    pending = (await gql(QUEUE, {"status": "PENDING"}))["data"]["activationRequests"]
    assert pending["totalCount"] == 4
    in_kyiv = (await gql(QUEUE, {"status": "PENDING", "res": "0102"}))["data"]["activationRequests"]
    assert [e["node"]["account"]["login"] for e in in_kyiv["edges"]] == ["person1"]
    assert in_kyiv["edges"][0]["node"]["res"] == {"code": "0102"}
    assert (await gql(QUEUE, {"res": "nowhere"}))["data"]["activationRequests"]["totalCount"] == 0
    # Admins see the evidence and the record it targets.
    first = everything["edges"][0]["node"]
    assert first["personalAccount"] == {"number": NUMBER}

    page1 = (await gql(QUEUE, {"status": "PENDING", "first": 3}))["data"]["activationRequests"]
    assert [e["node"]["account"]["login"] for e in page1["edges"]] == ["person0", "person1", "person2"]
    assert page1["pageInfo"]["hasNextPage"] is True and page1["pageInfo"]["hasPreviousPage"] is False
    assert page1["totalCount"] == 4
    # A request added meanwhile lands at the end and does not shift the next page.
    await register(gql, login="latecomer", email="late@example.com")
    after = page1["pageInfo"]["endCursor"]
    page2 = (await gql(QUEUE, {"status": "PENDING", "first": 3, "after": after}))["data"]["activationRequests"]
    assert [e["node"]["account"]["login"] for e in page2["edges"]] == ["person3", "latecomer"]
    assert page2["pageInfo"]["hasNextPage"] is False and page2["pageInfo"]["hasPreviousPage"] is True


async def test_the_queue_refuses_large_pages_and_bad_cursors(world, gql):
    gql.token = await admin_token(gql)
    too_many = await gql(QUEUE, {"first": 101})
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    bad = await gql(QUEUE, {"after": "not a cursor"})
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_the_queue_is_for_admins_only(world, gql):
    anonymous = await gql(QUEUE)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    customer = await active_login(gql, "customer")
    forbidden = await gql(QUEUE, token=customer)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert forbidden["data"] is None


async def test_approving_activates_the_pending_login_and_mails_it(world, gql, db):
    await gql(
        "mutation($i: AccountRegisterInput!) { accountRegister(input: $i) { __typename } }",
        {
            "i": {
                "fullName": "Петренко Іван",
                "login": "petrenko",
                "email": "petrenko@example.com",
                "phones": ["0501234567"],
                "password": "correct horse battery",
                "resCode": "0101",
                "personalAccountNumber": NUMBER,
                "acceptedTermsVersion": "2014-01",
            }
        },
        headers={"accept-language": "en"},
    )
    [request_id] = await pending_ids(db)
    admin = await admin_token(gql)
    result = (await gql(APPROVE, {"id": request_id}, token=admin))["data"]["activationApprove"]
    assert result["__typename"] == "ActivationDecideSuccess"
    request = result["request"]
    assert (request["status"], request["method"]) == ("APPROVED", "ADMIN_REVIEW")
    assert request["decidedBy"] == {"login": "admin"} and request["decidedAt"]
    signed_in = await sign_in(gql, "petrenko")
    assert signed_in["__typename"] == "TokenCreateSuccess"
    mine = (await gql(VIEWER, token=signed_in["accessToken"]))["data"]["viewer"]
    assert mine["personalAccounts"] == [{"number": NUMBER}]
    # The requester sees the record, not who decided.
    assert mine["activationRequests"][0]["personalAccount"] == {"number": NUMBER}
    assert mine["activationRequests"][0]["decidedBy"] is None
    approved = await outbox(db, kind="activation_approved")
    # Decided later, so written in the language the person registered in.
    assert [(m.to_address, m.language) for m in approved] == [("petrenko@example.com", "en")]


async def test_a_request_is_decided_once(world, gql, db):
    await register(gql)
    [request_id] = await pending_ids(db)
    admin = await admin_token(gql)
    assert (await gql(APPROVE, {"id": request_id}, token=admin))["data"]["activationApprove"]["__typename"] == (
        "ActivationDecideSuccess"
    )
    again = (await gql(APPROVE, {"id": request_id}, token=admin))["data"]["activationApprove"]
    assert (again["__typename"], again["code"]) == ("OperationError", "ACTIVATION_ALREADY_DECIDED")
    reject = (await gql(REJECT, {"id": request_id, "reason": "late"}, token=admin))["data"]["activationReject"]
    assert reject["code"] == "ACTIVATION_ALREADY_DECIDED"
    assert len(await outbox(db, kind="activation_approved")) == 1
    assert await outbox(db, kind="activation_rejected") == []


async def _lock_waiters(db) -> int:
    async with db.sessions() as s:
        return (
            await s.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        ).scalar_one()


async def _until_lock_waiters(db, count: int) -> None:
    for _ in range(5000):
        if await _lock_waiters(db) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never {count} sessions waiting for the request's lock")


async def _decide_queued(db, gql, request_id: str, decisions: list[str]) -> list[dict]:
    """Each decision in its own request and session, queued in this order on the request's
    row lock (held meanwhile by another session), then all let go at once."""
    admin = await admin_token(gql)
    documents = {
        "approve": (APPROVE, {"id": request_id}),
        "reject": (REJECT, {"id": request_id, "reason": "Не збігається"}),
    }
    pk = pk_of(request_id, "ActivationRequest")
    async with db.sessions() as blocker:
        await blocker.begin()
        await blocker.execute(select(ActivationRequest.id).where(ActivationRequest.id == pk).with_for_update())
        tasks = []
        for i, decision in enumerate(decisions, start=1):
            document, variables = documents[decision]
            tasks.append(asyncio.create_task(gql(document, variables, token=admin)))
            await _until_lock_waiters(db, i)
        await blocker.commit()
    results = await asyncio.gather(*tasks)
    return [next(iter(r["data"].values())) for r in results]


@pytest.mark.parametrize(
    "decisions",
    [
        ["reject", "approve"],
        ["approve", "reject"],
        ["reject", "reject"],
        ["approve", "reject", "approve"],
        ["reject", "approve", "approve"],
    ],
)
async def test_concurrent_decisions_on_one_request_leave_one(world, gql, db, decisions):
    await register(gql, login="petrenko", email="petrenko@example.com")
    [request_id] = await pending_ids(db)
    payloads = await _decide_queued(db, gql, request_id, decisions)
    winners = [p for p in payloads if p["__typename"] == "ActivationDecideSuccess"]
    assert len(winners) == 1, payloads
    assert [p.get("code") for p in payloads if p is not winners[0]] == ["ACTIVATION_ALREADY_DECIDED"] * (
        len(decisions) - 1
    ), payloads
    approved, rejected = await outbox(db, kind="activation_approved"), await outbox(db, kind="activation_rejected")
    async with db.sessions() as s:
        login = (await s.execute(select(Account).where(Account.login == "petrenko"))).scalar_one_or_none()
    if winners[0]["request"]["status"] == "APPROVED":
        assert (len(approved), len(rejected), login.status) == (1, 0, AccountStatus.ACTIVE)
    else:
        assert (len(approved), len(rejected), login) == (0, 1, None)


async def test_a_rejected_registration_answers_already_decided_after_its_login_is_gone(world, gql, db):
    await register(gql, login="petrenko", email="petrenko@example.com")
    [request_id] = await pending_ids(db)
    admin = await admin_token(gql)
    first = (await gql(REJECT, {"id": request_id, "reason": "Не збігається"}, token=admin))["data"]["activationReject"]
    assert first["__typename"] == "ActivationDecideSuccess"
    for document, variables in [(REJECT, {"id": request_id, "reason": "ще раз"}), (APPROVE, {"id": request_id})]:
        again = next(iter((await gql(document, variables, token=admin))["data"].values()))
        assert (again["__typename"], again["code"]) == ("OperationError", "ACTIVATION_ALREADY_DECIDED"), again
    # The request stays as the decision's record, without its login, and nothing more was sent.
    async with db.sessions() as s:
        row = (await s.execute(select(ActivationRequest))).scalar_one()
    assert (row.status, row.account_id, row.rejection_reason) == (ActivationStatus.REJECTED, None, "Не збігається")
    assert len(await outbox(db, kind="activation_rejected")) == 1
    assert await outbox(db, kind="activation_approved") == []
    # With no login to name it is in no list and no node (Account is non-null there).
    assert (await gql(QUEUE, token=admin))["data"]["activationRequests"]["totalCount"] == 0
    node = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": request_id}, token=admin)
    assert node == {"data": {"node": None}}


async def test_rejecting_a_registration_removes_the_pending_login(world, gql, db):
    await register(gql, login="petrenko", email="petrenko@example.com")
    [request_id] = await pending_ids(db)
    admin = await admin_token(gql)
    result = await gql(REJECT, {"id": request_id, "reason": "  Номер лічильника не збігається  "}, token=admin)
    request = result["data"]["activationReject"]["request"]
    assert (request["status"], request["rejectionReason"]) == ("REJECTED", "Номер лічильника не збігається")
    assert request["account"] == {"login": "petrenko"}
    assert request["decidedBy"] == {"login": "admin"}
    async with db.sessions() as s:
        assert (await s.execute(select(Account).where(Account.login == "petrenko"))).first() is None
        [audit] = (await s.execute(select(AuditEntry).where(AuditEntry.action == "activation_rejected"))).scalars()
    assert json.loads(audit.details)["login"] == "petrenko"
    # The letter still goes, to the address it was written to.
    [mail] = await outbox(db, kind="activation_rejected")
    assert (mail.to_address, mail.account_id) == ("petrenko@example.com", None)
    assert "Номер лічильника не збігається" in mail.body
    # The login name and email are free again.
    again = await register(gql, login="Petrenko", email="PETRENKO@example.com", meterSerialNumber=METER)
    assert again == {"__typename": "AccountRegisterSuccess", "activated": True}
    assert await outbox(db, kind="registration_email_taken") == []


async def test_rejecting_a_later_request_keeps_the_login(world, gql, db):
    token = await active_login(gql, "holder", number="5550002", res="0102")
    added = await gql(ADD, {"input": {"resCode": "0101", "personalAccountNumber": NUMBER}}, token=token)
    request_id = added["data"]["personalAccountAdd"]["request"]["id"]
    admin = await admin_token(gql)
    rejected = (await gql(REJECT, {"id": request_id, "reason": "Не ваш рахунок"}, token=admin))["data"][
        "activationReject"
    ]
    assert rejected["request"]["status"] == "REJECTED"
    viewer = (await gql(VIEWER, token=token))["data"]["viewer"]
    assert viewer["status"] == "ACTIVE"
    assert viewer["personalAccounts"] == [{"number": "5550002"}]
    statuses = {(r["personalAccountNumber"], r["status"], r["rejectionReason"]) for r in viewer["activationRequests"]}
    assert statuses == {("5550002", "APPROVED", None), (NUMBER, "REJECTED", "Не ваш рахунок")}
    # Not linked, so the rejected request does not show the record.
    rejected_row = next(r for r in viewer["activationRequests"] if r["status"] == "REJECTED")
    assert rejected_row["personalAccount"] is None
    [mail] = await outbox(db, kind="activation_rejected")
    assert mail.to_address == "holder@example.com"


@pytest.mark.parametrize(("reason", "code"), [("", "REQUIRED"), ("   ", "REQUIRED"), ("x" * 1001, "TOO_LONG")])
async def test_a_rejection_needs_a_reason_of_at_most_1000_characters(world, gql, db, reason, code):
    await register(gql)
    [request_id] = await pending_ids(db)
    admin = await admin_token(gql)
    payload = (await gql(REJECT, {"id": request_id, "reason": reason}, token=admin))["data"]["activationReject"]
    assert payload["__typename"] == "ValidationError"
    assert field_codes(payload) == {"reason": code}
    ok = (await gql(REJECT, {"id": request_id, "reason": "x" * 1000}, token=admin))["data"]["activationReject"]
    assert ok["__typename"] == "ActivationDecideSuccess"


async def test_customers_may_not_decide_even_their_own_requests(world, gql, db):
    token = await active_login(gql, "holder", number="5550002", res="0102")
    added = await gql(ADD, {"input": {"resCode": "0101", "personalAccountNumber": NUMBER}}, token=token)
    own = added["data"]["personalAccountAdd"]["request"]["id"]
    for document, variables in [
        (APPROVE, {"id": own}),
        (REJECT, {"id": own, "reason": "no"}),
        (APPROVE, {"id": "garbage"}),
        (REJECT, {"id": "garbage", "reason": "no"}),
    ]:
        result = await gql(document, variables, token=token)
        assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert result["data"] is None
    anonymous = await gql(APPROVE, {"id": own})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await gql(VIEWER, token=token))["data"]["viewer"]["activationRequests"][0]["status"] == "PENDING"


@pytest.mark.parametrize(
    "bad_id",
    [
        "garbage",
        "",
        global_id("ActivationRequest", 999999),
        global_id("PersonalAccount", 1),
        global_id("Account", 1),
        "QWN0aXZhdGlvblJlcXVlc3Q6LTE",
    ],
)
async def test_unknown_malformed_or_other_type_ids_are_not_found(world, gql, db, bad_id):
    admin = await admin_token(gql)
    for document, variables in [(APPROVE, {"id": bad_id}), (REJECT, {"id": bad_id, "reason": "no"})]:
        payload = next(iter((await gql(document, variables, token=admin))["data"].values()))
        assert payload["__typename"] == "ValidationError"
        assert payload["code"] == "NOT_FOUND"
        assert field_codes(payload) == {"id": "NOT_FOUND"}


async def test_approving_a_blocked_logins_request_does_not_unblock_it(world, gql, db):
    await register(gql)
    async with db.transaction() as s:
        account = (await s.execute(select(Account).where(Account.login == "petrenko"))).scalar_one()
        account.status = AccountStatus.BLOCKED
    [request_id] = await pending_ids(db)
    await gql(APPROVE, {"id": request_id}, token=await admin_token(gql))
    assert (await sign_in(gql, "petrenko"))["code"] == "ACCOUNT_BLOCKED"


async def test_the_queue_is_paged_in_sql_not_read_whole(world, gql, statements):
    for i in range(5):
        await register(gql, login=f"queued{i}", email=f"q{i}@example.com")
    gql.token = await admin_token(gql)
    with statements() as counted:
        page = (await gql(QUEUE, {"status": "PENDING", "first": 2}))["data"]["activationRequests"]
    assert page["totalCount"] == 5 and len(page["edges"]) == 2 and page["pageInfo"]["hasNextPage"] is True
    listed = [s for s in counted.statements if "FROM activation_request" in s and "count(" not in s]
    # One page and one more row (to know there is a next page), never the whole queue.
    assert listed and all("LIMIT" in s for s in listed), listed
    after = page["pageInfo"]["endCursor"]
    rest = (await gql(QUEUE, {"status": "PENDING", "first": 10, "after": after}))["data"]["activationRequests"]
    assert [e["node"]["account"]["login"] for e in rest["edges"]] == ["queued2", "queued3", "queued4"]
    assert rest["pageInfo"]["hasPreviousPage"] is True and rest["pageInfo"]["hasNextPage"] is False
