"""Throttling: per login, per client address, per evidence target, per email; growing delays;
aliases count; parallel attempts take turns; one address's failures are not another login's."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest
from sqlalchemy import select, update

from models import Account, Throttle, ThrottleSubject
from models.base import AccountStatus
from services import passwords
from services.accounts import account_create
from tests.accounts.account_helpers import (
    ADD,
    METER,
    PASSWORD,
    REGISTER,
    active_login,
    counted_on_address,
    outbox,
    registration,
    sign_in,
)
from tests.builders import personal_account_make

ALIASED_SIGN_INS = "mutation {%s}" % " ".join(
    f'a{i}: tokenCreate(login: "holder", password: "{"wrong password" if i < 6 else PASSWORD}") '
    "{ __typename ... on OperationError { code retryAfter } }"
    for i in range(8)
)


async def test_aliases_in_one_request_count_one_by_one(world, gql, db, settings):
    assert settings.throttle_free_failures == 5
    await active_login(gql, "holder")
    result = await gql(ALIASED_SIGN_INS)
    codes = [result["data"][f"a{i}"].get("code") for i in range(8)]
    # Six failures (the sixth starts the delay), then even the right password waits.
    assert codes == ["INVALID_CREDENTIALS"] * 6 + ["TOO_MANY_ATTEMPTS"] * 2
    async with db.sessions() as s:
        failures = dict((await s.execute(select(Throttle.key, Throttle.failures))).all())
    assert failures == {"login:holder": 6}
    assert await counted_on_address(db, "sign-in") == {"login:holder"}


async def test_aliased_evidence_guesses_count_one_by_one(world, gql):
    fields = []
    variables = {}
    for i in range(8):
        variables[f"i{i}"] = registration(
            login=f"guess{i}", email=f"guess{i}@example.com", lastPaymentAmount=f"{i + 1}.00"
        )
        fields.append(f"r{i}: accountRegister(input: $i{i}) {{ __typename ... on OperationError {{ code }} }}")
    declared = ", ".join(f"$i{i}: AccountRegisterInput!" for i in range(8))
    result = await gql(f"mutation({declared}) {{ {' '.join(fields)} }}", variables)
    kinds = [result["data"][f"r{i}"].get("code", result["data"][f"r{i}"]["__typename"]) for i in range(8)]
    assert kinds == ["AccountRegisterSuccess"] * 6 + ["TOO_MANY_ATTEMPTS"] * 2


async def test_delays_grow_with_each_failure_past_the_free_ones(world, gql, db, settings):
    await active_login(gql, "holder")
    waits = []
    for _ in range(settings.throttle_free_failures):
        await sign_in(gql, "holder", "wrong password")
    for _ in range(4):
        # Let the delay run out, then fail once more.
        async with db.transaction() as s:
            await s.execute(update(Throttle).values(blocked_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        assert (await sign_in(gql, "holder", "wrong password"))["code"] == "INVALID_CREDENTIALS"
        waits.append((await sign_in(gql, "holder"))["retryAfter"])
    # Doubling from the base delay of 2 s (a slow machine may have used a second of it).
    assert all(expected - 1 <= wait <= expected for wait, expected in zip(waits, [2, 4, 8, 16], strict=True)), waits


def other_address(app, gql):
    """A second client of the same app, calling from another (loopback) address."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.2", 50001))
    return type(gql)(httpx.AsyncClient(transport=transport, base_url="http://cabinet.test"))


async def test_evidence_guesses_are_held_back_from_any_address(world, gql, app, settings):
    for i in range(settings.throttle_free_failures + 1):
        await gql(
            REGISTER, {"input": registration(login=f"guess{i}", email=f"g{i}@example.com", meterSerialNumber=f"X{i}")}
        )
    elsewhere = other_address(app, gql)
    try:
        result = await elsewhere(
            REGISTER, {"input": registration(login="late", email="late@example.com", meterSerialNumber=METER)}
        )
        assert result["data"]["accountRegister"]["code"] == "TOO_MANY_ATTEMPTS"
        # The other address is not held back for other targets or for signing in.
        other_pa = registration(
            login="fine",
            email="fine@example.com",
            resCode="0102",
            personalAccountNumber="5550002",
            meterSerialNumber=METER,
        )
        assert (await elsewhere(REGISTER, {"input": other_pa}))["data"]["accountRegister"]["activated"] is True
    finally:
        await elsewhere.http.aclose()


async def test_evidence_guesses_count_on_the_evidence_not_on_sign_in(world, gql, app, settings):
    await active_login(gql, "holder", number="5550002", res="0102")
    # Guesses at the evidence of one personal account from this address...
    for i in range(settings.throttle_free_failures + 1):
        await gql(
            REGISTER, {"input": registration(login=f"guess{i}", email=f"g{i}@example.com", meterSerialNumber=f"X{i}")}
        )
    assert (
        await gql(REGISTER, {"input": registration(login="late", email="late@example.com", meterSerialNumber=METER)})
    )["data"]["accountRegister"]["code"] == "TOO_MANY_ATTEMPTS"
    # ...hold back that personal account's evidence, not the address's sign-in.
    assert (await sign_in(gql, "holder"))["__typename"] == "TokenCreateSuccess"


async def login_throttle(db, login: str) -> Throttle | None:
    async with db.sessions() as s:
        return (await s.execute(select(Throttle).where(Throttle.key == f"login:{login}"))).scalar_one_or_none()


@pytest.fixture
def verifications(monkeypatch) -> list[str]:
    """Every Argon2 verify the app runs, counted at the one function they all go through."""
    seen: list[str] = []
    real = passwords._verify

    def counting(ph, stored, password):
        seen.append(password)
        return real(ph, stored, password)

    monkeypatch.setattr(passwords, "_verify", counting)
    return seen


@pytest.mark.parametrize("login", ["holder", "made-up-login"])
async def test_parallel_wrong_passwords_take_turns(world, gql, db, settings, verifications, login):
    if login == "holder":
        await active_login(gql, "holder")
    verifications.clear()
    burst = await asyncio.gather(*[sign_in(gql, login, f"wrong password {i}") for i in range(30)])
    after = dt.datetime.now(dt.UTC)
    codes = sorted(payload["code"] for payload in burst)
    free = settings.throttle_free_failures
    # The free failures and the one that starts the delay are verified; the rest wait their turn
    # and find the delay already set.
    assert len(verifications) == free + 1
    assert codes == ["INVALID_CREDENTIALS"] * (free + 1) + ["TOO_MANY_ATTEMPTS"] * (30 - free - 1)
    row = await login_throttle(db, login)
    # Counted once each, so the owner waits the first delay, not the longest.
    assert row.failures == free + 1
    assert row.blocked_until <= after + settings.throttle_base_delay


async def test_a_success_clears_the_logins_failures(world, gql, db, settings, app):
    await active_login(gql, "holder")
    for _ in range(settings.throttle_free_failures + 1):
        await sign_in(gql, "holder", "wrong password")
    assert (await sign_in(gql, "holder"))["code"] == "TOO_MANY_ATTEMPTS"
    async with db.transaction() as s:
        await s.execute(update(Throttle).values(blocked_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    assert (await sign_in(gql, "holder"))["__typename"] == "TokenCreateSuccess"
    assert await login_throttle(db, "holder") is None
    assert await counted_on_address(db, "sign-in") == set()
    # Counting starts afresh: the free failures are free again.
    for _ in range(settings.throttle_free_failures):
        assert (await sign_in(gql, "holder", "wrong password"))["code"] == "INVALID_CREDENTIALS"
    assert (await sign_in(gql, "holder"))["__typename"] == "TokenCreateSuccess"


async def test_a_nat_of_typos_and_made_up_logins_never_holds_back_another_login(world, gql, db, settings):
    await active_login(gql, "holder")
    await active_login(gql, "neighbour", email="neighbour@example.com", number="5550002", res="0102")
    # One address (a household, a NAT): seven made-up logins fail, and a neighbour mistypes.
    for i in range(7):
        assert (await sign_in(gql, f"nobody-{i}", "wrong password"))["code"] == "INVALID_CREDENTIALS"
    for _ in range(settings.throttle_free_failures):
        assert (await sign_in(gql, "neighbour", "wrong password"))["code"] == "INVALID_CREDENTIALS"
    assert (await sign_in(gql, "holder"))["__typename"] == "TokenCreateSuccess"
    assert (await sign_in(gql, "neighbour"))["__typename"] == "TokenCreateSuccess"


async def test_an_address_failing_on_many_logins_is_held_back(world, gql, app, db, settings):
    await active_login(gql, "holder")
    limit = settings.throttle_address_failed_logins_per_hour
    assert limit == 50
    for i in range(limit):
        assert (await sign_in(gql, f"stuffed-{i}", "leaked password"))["code"] == "INVALID_CREDENTIALS"
    refused = await sign_in(gql, "holder")
    assert refused["code"] == "TOO_MANY_ATTEMPTS" and 1 <= refused["retryAfter"] <= 3600
    # Nothing was counted for the refused attempt, and other addresses sign in.
    assert await login_throttle(db, "holder") is None
    elsewhere = other_address(app, gql)
    try:
        assert (await sign_in(elsewhere, "holder"))["__typename"] == "TokenCreateSuccess"
    finally:
        await elsewhere.http.aclose()
    # An hour later the address may try again.
    async with db.transaction() as s:
        await s.execute(update(ThrottleSubject).values(counted_at=ThrottleSubject.counted_at - dt.timedelta(hours=1)))
    assert (await sign_in(gql, "holder"))["__typename"] == "TokenCreateSuccess"


async def test_an_address_guessing_evidence_of_many_personal_accounts_is_held_back(world, gql, app, db, settings):
    token = await active_login(gql, "holder", number="5550002", res="0102")
    limit = settings.throttle_address_failed_evidence_per_hour
    async with db.transaction() as s:
        for i in range(limit + 1):
            await personal_account_make(s, number=f"66600{i:02d}")

    async def add(client, number: str) -> dict:
        variables = {"input": {"resCode": "0101", "personalAccountNumber": number, "meterSerialNumber": "GUESS"}}
        return (await client(ADD, variables, token=token))["data"]["personalAccountAdd"]

    for i in range(limit):
        assert (await add(gql, f"66600{i:02d}"))["request"]["status"] == "PENDING"
    refused = await add(gql, f"66600{limit:02d}")
    assert refused["code"] == "TOO_MANY_ATTEMPTS" and refused["retryAfter"] >= 1
    elsewhere = other_address(app, gql)
    try:
        assert (await add(elsewhere, f"66600{limit:02d}"))["request"]["status"] == "PENDING"
    finally:
        await elsewhere.http.aclose()


async def test_registrations_are_limited_per_address(world, gql, app, db, settings):
    limit = settings.throttle_address_registrations_per_hour
    for i in range(limit):
        result = await gql(REGISTER, {"input": registration(login=f"new{i}", email=f"new{i}@example.com")})
        assert result["data"]["accountRegister"]["activated"] is False
    refused = await gql(REGISTER, {"input": registration(login="one-more", email="one-more@example.com")})
    assert refused["data"]["accountRegister"]["code"] == "TOO_MANY_ATTEMPTS"
    async with db.sessions() as s:
        assert "one-more" not in set((await s.execute(select(Account.login))).scalars())
    assert len(await outbox(db, kind="registration_received")) == limit
    elsewhere = other_address(app, gql)
    try:
        result = await elsewhere(REGISTER, {"input": registration(login="one-more", email="one-more@example.com")})
        assert result["data"]["accountRegister"]["activated"] is False
    finally:
        await elsewhere.http.aclose()


async def test_registrations_naming_one_email_are_limited_from_any_address(world, gql, app, db, settings):
    async with db.transaction() as s:
        await account_create(
            session=s,
            settings=settings,
            login="holder",
            password=PASSWORD,
            full_name="Власник",
            email="holder@example.com",
            phones=[],
        )
    limit = settings.throttle_email_registrations_per_hour
    answers = []
    for i in range(limit + 1):
        # Each from its own address: only the count on the email holds them back.
        transport = httpx.ASGITransport(app=app, client=(f"10.0.0.{i + 1}", 50001))
        client = type(gql)(httpx.AsyncClient(transport=transport, base_url="http://cabinet.test"))
        try:
            result = await client(REGISTER, {"input": registration(login=f"flood{i}", email="Holder@example.com")})
        finally:
            await client.http.aclose()
        answers.append(result["data"]["accountRegister"])
    assert answers[:limit] == [{"__typename": "AccountRegisterSuccess", "activated": False}] * limit
    assert answers[limit]["code"] == "TOO_MANY_ATTEMPTS"
    # The holder heard of each attempt that went through, and of no more.
    assert len(await outbox(db, kind="registration_email_taken")) == limit


async def test_login_taken_answers_are_limited_per_address(world, gql, app, db, settings):
    limit = settings.throttle_address_taken_logins_per_hour
    async with db.transaction() as s:
        for i in range(limit + 1):
            await account_create(
                session=s,
                settings=settings,
                login=f"taken{i}",
                password=PASSWORD,
                full_name="Зайнятий",
                email=f"taken{i}@example.com",
                phones=[],
                status=AccountStatus.ACTIVE,
            )
    for i in range(limit):
        result = await gql(REGISTER, {"input": registration(login=f"taken{i}", email=f"probe{i}@example.com")})
        assert result["data"]["accountRegister"]["code"] == "LOGIN_TAKEN"
    # Past the limit the address learns nothing more: taken or free, the answer is the same.
    for login in (f"taken{limit}", "free-login"):
        result = await gql(REGISTER, {"input": registration(login=login, email=f"{login}@example.com")})
        assert result["data"]["accountRegister"]["code"] == "TOO_MANY_ATTEMPTS"
    elsewhere = other_address(app, gql)
    try:
        result = await elsewhere(REGISTER, {"input": registration(login=f"taken{limit}", email="probe@example.com")})
        assert result["data"]["accountRegister"]["code"] == "LOGIN_TAKEN"
    finally:
        await elsewhere.http.aclose()
