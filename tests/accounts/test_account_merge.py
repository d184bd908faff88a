"""accountMerge: A takes over B's personal accounts and requests; B ends."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import insert, select, update

from models import (
    Account,
    ActivationRequest,
    AuditEntry,
    AuthSession,
    InternetPayment,
    OneTimeToken,
    OutboxMessage,
    Throttle,
)
from models.base import AccountStatus, ChargeCategory, InternetPaymentStatus, OutboxStatus
from tests.accounts.account_helpers import (
    ADMIN_PASSWORD,
    APPROVE,
    MERGE,
    NUMBER,
    PASSWORD,
    REJECT,
    VIEWER,
    active_login,
    admin_token,
    counted_on_address,
    outbox,
    register,
    sign_in,
)


async def merge(gql, token: str, login: str, password: str = PASSWORD) -> dict:
    return (await gql(MERGE, {"l": login, "p": password}, token=token))["data"]["accountMerge"]


async def account_id(db, login: str) -> int | None:
    async with db.sessions() as s:
        return (await s.execute(select(Account.id).where(Account.login == login))).scalar_one_or_none()


async def two_logins(gql) -> tuple[str, str]:
    """alpha holds 5550002 (RES 0102); beta holds 5550001 (RES 0101)."""
    alpha = await active_login(gql, "alpha", number="5550002", res="0102")
    beta = await active_login(gql, "beta")
    return alpha, beta


async def test_merge_moves_the_personal_accounts_and_ends_the_other_login(world, gql, db):
    alpha, beta = await two_logins(gql)
    beta_id = await account_id(db, "beta")
    payload = await merge(gql, alpha, "BETA")
    assert payload["__typename"] == "AccountMergeSuccess", payload
    assert payload["account"] == {"login": "alpha", "personalAccounts": [{"number": "5550002"}, {"number": NUMBER}]}
    assert payload["moved"] == [{"number": NUMBER}]
    assert [(r["personalAccountNumber"], r["status"], r["account"]) for r in payload["movedRequests"]] == [
        (NUMBER, "APPROVED", {"login": "alpha"})
    ]
    # B ends: its token stops working, it cannot sign in, and nothing of it is left.
    assert (await gql(VIEWER, token=beta))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await sign_in(gql, "beta"))["code"] == "INVALID_CREDENTIALS"
    async with db.sessions() as s:
        assert await s.get(Account, beta_id) is None
        assert (await s.execute(select(AuthSession).where(AuthSession.account_id == beta_id))).first() is None
        [audit] = (await s.execute(select(AuditEntry).where(AuditEntry.action == "account_merged"))).scalars()
    assert json.loads(audit.details)["merged_login"] == "beta"
    # Its login and email are free again.
    again = await register(gql, login="beta", email="beta@example.com")
    assert again == {"__typename": "AccountRegisterSuccess", "activated": False}
    assert await outbox(db, kind="registration_email_taken") == []
    # A's own session goes on and sees the moved account.
    viewer = (await gql(VIEWER, token=alpha))["data"]["viewer"]
    assert viewer["personalAccounts"] == [{"number": "5550002"}, {"number": NUMBER}]


async def test_rows_that_named_b_name_a_and_queued_mail_still_goes(world, gql, db):
    alpha, _ = await two_logins(gql)
    alpha_id, beta_id = await account_id(db, "alpha"), await account_id(db, "beta")
    now = dt.datetime.now(dt.UTC)
    async with db.transaction() as s:
        for owner, key in [(beta_id, "key-1"), (beta_id, "key-2"), (alpha_id, "key-1")]:
            await s.execute(
                insert(InternetPayment).values(
                    personal_account_id=world["pa"],
                    account_id=owner,
                    amount=Decimal("10.00"),
                    category=ChargeCategory.ELECTRICITY,
                    status=InternetPaymentStatus.CREATED,
                    expires_at=now + dt.timedelta(minutes=15),
                    idempotency_key=key,
                )
            )
        await s.execute(insert(AuditEntry).values(account_id=beta_id, action="test_entry"))
        # A decision recorded against B (as an admin could have made before a role change).
        await s.execute(
            update(ActivationRequest).where(ActivationRequest.account_id == alpha_id).values(decided_by_id=beta_id)
        )
    queued = await outbox(db, account_id=beta_id)
    assert [m.kind for m in queued] == ["activation_approved"]

    assert (await merge(gql, alpha, "beta"))["__typename"] == "AccountMergeSuccess"
    async with db.sessions() as s:
        payments = (
            await s.execute(
                select(InternetPayment.account_id, InternetPayment.idempotency_key).order_by(InternetPayment.id)
            )
        ).all()
        audit_owner = (
            await s.execute(select(AuditEntry.account_id).where(AuditEntry.action == "test_entry"))
        ).scalar_one()
        deciders = set((await s.execute(select(ActivationRequest.decided_by_id))).scalars())
        letter = await s.get(OutboxMessage, queued[0].id)
    # The same client key under both logins: B's copy is renamed, none is lost.
    assert payments == [(alpha_id, f"merged-{beta_id}:key-1"), (alpha_id, "key-2"), (alpha_id, "key-1")]
    assert audit_owner == alpha_id
    assert beta_id not in deciders and alpha_id in deciders
    assert (letter.account_id, letter.to_address, letter.status) == (alpha_id, "beta@example.com", OutboxStatus.PENDING)


async def test_what_a_already_has_is_not_moved_twice(world, gql, db):
    alpha, beta = await two_logins(gql)
    admin = await admin_token(gql)
    # alpha gets 5550001 too (approved by an admin, as beta holds it); beta asks for 5550002.
    for token, res, number in [(alpha, "0101", NUMBER), (beta, "0102", "5550002")]:
        added = await gql(
            "mutation($i: PersonalAccountAddInput!) { personalAccountAdd(input: $i) { ... on PersonalAccountAddSuccess { request { id } } } }",
            {"i": {"resCode": res, "personalAccountNumber": number}},
            token=token,
        )
        request_id = added["data"]["personalAccountAdd"]["request"]["id"]
        if token == alpha:
            await gql(APPROVE, {"id": request_id}, token=admin)
    payload = await merge(gql, alpha, "beta")
    assert payload["moved"] == [] and payload["movedRequests"] == []
    assert payload["account"]["personalAccounts"] == [{"number": "5550002"}, {"number": NUMBER}]
    async with db.sessions() as s:
        rows = (
            await s.execute(
                select(ActivationRequest.personal_account_number, ActivationRequest.status).order_by(
                    ActivationRequest.id
                )
            )
        ).all()
    assert sorted(rows) == [(NUMBER, "APPROVED"), ("5550002", "APPROVED")]


async def test_pending_and_rejected_requests_come_along(world, gql, db):
    alpha = await active_login(gql, "alpha", number="5550002", res="0102")
    # beta is still pending: its registration request waits for an admin.
    await register(gql, login="beta", email="beta@example.com")
    payload = await merge(gql, alpha, "beta")
    assert payload["__typename"] == "AccountMergeSuccess"
    [moved] = payload["movedRequests"]
    assert (moved["status"], moved["personalAccountNumber"], moved["account"]) == (
        "PENDING",
        NUMBER,
        {"login": "alpha"},
    )
    assert payload["moved"] == []
    # No longer a registration: rejecting it keeps alpha.
    rejected = await gql(REJECT, {"id": moved["id"], "reason": "Не збігається"}, token=await admin_token(gql))
    assert rejected["data"]["activationReject"]["request"]["status"] == "REJECTED"
    assert await account_id(db, "alpha") is not None
    viewer = (await gql(VIEWER, token=alpha))["data"]["viewer"]
    assert {(r["personalAccountNumber"], r["status"]) for r in viewer["activationRequests"]} == {
        ("5550002", "APPROVED"),
        (NUMBER, "REJECTED"),
    }


async def test_merging_with_yourself(world, gql, db):
    alpha, _ = await two_logins(gql)
    payload = await merge(gql, alpha, " Alpha ")
    assert (payload["__typename"], payload["code"]) == ("OperationError", "MERGE_WITH_SELF")
    async with db.sessions() as s:
        assert (await s.execute(select(Throttle))).first() is None


async def test_a_wrong_password_is_a_failed_sign_in_of_b(world, gql, db, settings):
    alpha, beta = await two_logins(gql)
    payload = await merge(gql, alpha, "beta", "not beta's password")
    assert (payload["__typename"], payload["code"]) == ("OperationError", "INVALID_CREDENTIALS")
    unknown = await merge(gql, alpha, "nobody", "whatever password")
    assert unknown["code"] == "INVALID_CREDENTIALS" and unknown["message"] == payload["message"]
    async with db.sessions() as s:
        failures = dict((await s.execute(select(Throttle.key, Throttle.failures))).all())
    assert failures == {"login:beta": 1, "login:nobody": 1}
    assert await counted_on_address(db, "sign-in") == {"login:beta", "login:nobody"}
    assert (await gql(VIEWER, token=beta))["data"]["viewer"]["login"] == "beta"
    for _ in range(settings.throttle_free_failures):
        await merge(gql, alpha, "beta", "not beta's password")
    throttled = await merge(gql, alpha, "beta")
    assert throttled["code"] == "TOO_MANY_ATTEMPTS" and throttled["retryAfter"] >= 1


async def test_admins_and_blocked_logins_cannot_be_merged(world, gql, db):
    alpha, beta = await two_logins(gql)
    assert (await merge(gql, alpha, "admin", ADMIN_PASSWORD))["code"] == "MERGE_NOT_ALLOWED"
    admin = await admin_token(gql)
    assert (await merge(gql, admin, "beta"))["code"] == "MERGE_NOT_ALLOWED"
    async with db.transaction() as s:
        await s.execute(update(Account).where(Account.login == "beta").values(status=AccountStatus.BLOCKED))
    assert (await merge(gql, alpha, "beta"))["code"] == "MERGE_NOT_ALLOWED"
    assert await account_id(db, "beta") is not None and await account_id(db, "admin") is not None


@pytest.mark.parametrize("password", ["", PASSWORD])
async def test_merge_needs_sign_in_and_both_fields(world, gql, password):
    alpha, _ = await two_logins(gql)
    assert (await gql(MERGE, {"l": "beta", "p": password}))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    if not password:
        payload = await merge(gql, alpha, " ", password)
        assert {tuple(f["path"]): f["code"] for f in payload["fields"]} == {
            ("login",): "REQUIRED",
            ("password",): "REQUIRED",
        }


async def test_concurrent_merges_of_one_login_let_exactly_one_through(world, gql, db):
    alpha, _ = await two_logins(gql)
    gamma = await register_active_gamma(gql)
    results = await asyncio.gather(
        *[gql(MERGE, {"l": "beta", "p": PASSWORD}, token=token) for token in [alpha, gamma, alpha, gamma]]
    )
    payloads = [r["data"]["accountMerge"] for r in results]
    assert all("errors" not in r for r in results), results
    assert sorted(p["__typename"] for p in payloads) == ["AccountMergeSuccess"] + ["OperationError"] * 3
    assert {p["code"] for p in payloads if p["__typename"] == "OperationError"} == {"INVALID_CREDENTIALS"}
    async with db.sessions() as s:
        holders = (
            (
                await s.execute(
                    select(Account.login)
                    .join(ActivationRequest, ActivationRequest.account_id == Account.id)
                    .where(ActivationRequest.personal_account_number == NUMBER)
                )
            )
            .scalars()
            .all()
        )
    assert len(holders) == 1 and holders[0] in {"alpha", "gamma"}


async def register_active_gamma(gql) -> str:
    """A third login, active through an admin, holding nothing of beta's."""
    await register(gql, login="gamma", email="gamma@example.com", resCode="0102", personalAccountNumber="5550002")
    admin = await admin_token(gql)
    queue = await gql(
        "{ activationRequests(status: PENDING) { edges { node { id account { login } } } } }", token=admin
    )
    [edge] = [e for e in queue["data"]["activationRequests"]["edges"] if e["node"]["account"]["login"] == "gamma"]
    await gql(APPROVE, {"id": edge["node"]["id"]}, token=admin)
    payload = await sign_in(gql, "gamma")
    return payload["accessToken"]


async def test_crossing_merges_do_not_deadlock(world, gql, db):
    alpha, beta = await two_logins(gql)
    results = await asyncio.gather(
        gql(MERGE, {"l": "beta", "p": PASSWORD}, token=alpha),
        gql(MERGE, {"l": "alpha", "p": PASSWORD}, token=beta),
    )
    outcomes = sorted(
        r["errors"][0]["extensions"]["code"] if "errors" in r else r["data"]["accountMerge"].get("code", "OK")
        for r in results
    )
    # The loser was either taken over while it waited (its session ended) or found the other gone.
    assert outcomes in (["OK", "UNAUTHENTICATED"], ["INVALID_CREDENTIALS", "OK"]), results
    async with db.sessions() as s:
        left = (await s.execute(select(Account.login).where(Account.login.in_(["alpha", "beta"])))).scalars().all()
    assert len(left) == 1


async def test_b_s_reset_links_die_with_it(world, gql, db):
    alpha, _ = await two_logins(gql)
    await gql('mutation { passwordResetRequest(loginOrEmail: "beta") { __typename } }')
    assert (await merge(gql, alpha, "beta"))["__typename"] == "AccountMergeSuccess"
    async with db.sessions() as s:
        assert (await s.execute(select(OneTimeToken))).first() is None


async def test_moved_requests_are_the_takers_own(world, gql, db):
    alpha, _ = await two_logins(gql)
    payload = await merge(gql, alpha, "beta")
    # What came over is alpha's now, and node() agrees.
    request_id = payload["movedRequests"][0]["id"]
    node = await gql(
        "query($id: ID!) { node(id: $id) { ... on ActivationRequest { account { login } } } }",
        {"id": request_id},
        token=alpha,
    )
    assert node["data"]["node"] == {"account": {"login": "alpha"}}
