"""Throttling: per login, per client address, per evidence target; growing delays; aliases count."""
from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import select, update

from tests.accounts.account_helpers import METER, PASSWORD, REGISTER, active_login, registration, sign_in
from models import Throttle

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
    assert failures == {"login:holder": 6, "ip:127.0.0.1": 6}


async def test_aliased_evidence_guesses_count_one_by_one(world, gql):
    fields = []
    variables = {}
    for i in range(8):
        variables[f"i{i}"] = registration(login=f"guess{i}", email=f"guess{i}@example.com", lastPaymentAmount=f"{i + 1}.00")
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
        await gql(REGISTER, {"input": registration(login=f"guess{i}", email=f"g{i}@example.com", meterSerialNumber=f"X{i}")})
    elsewhere = other_address(app, gql)
    try:
        result = await elsewhere(REGISTER, {"input": registration(login="late", email="late@example.com", meterSerialNumber=METER)})
        assert result["data"]["accountRegister"]["code"] == "TOO_MANY_ATTEMPTS"
        # The other address is not held back for other targets or for signing in.
        other_pa = registration(login="fine", email="fine@example.com", resCode="0102",
                                personalAccountNumber="5550002", meterSerialNumber=METER)
        assert (await elsewhere(REGISTER, {"input": other_pa}))["data"]["accountRegister"]["activated"] is True
    finally:
        await elsewhere.http.aclose()


async def test_the_client_address_is_held_back_across_logins_and_evidence(world, gql, app, settings):
    await active_login(gql, "holder", number="5550002", res="0102")
    # Guesses at the evidence of one personal account from this address...
    for i in range(settings.throttle_free_failures + 1):
        await gql(REGISTER, {"input": registration(login=f"guess{i}", email=f"g{i}@example.com", meterSerialNumber=f"X{i}")})
    # ...hold back sign-in from this address, but not from another one.
    assert (await sign_in(gql, "holder"))["code"] == "TOO_MANY_ATTEMPTS"
    elsewhere = other_address(app, gql)
    try:
        assert (await sign_in(elsewhere, "holder"))["__typename"] == "TokenCreateSuccess"
    finally:
        await elsewhere.http.aclose()
