"""Sign-in: tokens, rotation, revocation, expiry, throttling, hashing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from models import Account, AuthToken
from models.base import AccountStatus
from services import auth as auth_service
from services.demo import DEMO_PASSWORD, demo_basics
from services.passwords import _hasher, dummy_hash
from services.tokens import token_digest

REFRESH = """mutation($t: String!) { tokenRefresh(refreshToken: $t) {
  __typename ... on TokenCreateSuccess { accessToken refreshToken } ... on Error { code } } }"""
REVOKE = """mutation($t: String, $all: Boolean) { tokenRevoke(refreshToken: $t, everywhere: $all) {
  __typename ... on TokenRevokeSuccess { revoked } ... on Error { code } } }"""
VIEWER = "{ viewer { login } }"


@pytest.fixture
async def demo(db, settings):
    await demo_basics(db, settings)


async def sign_in(gql, login="lysenko", password=DEMO_PASSWORD, headers=None):
    return await gql.token_create(login, password, headers=headers)


async def test_sign_in_gives_tokens_that_name_the_viewer(demo, gql):
    payload = await sign_in(gql)
    assert payload["__typename"] == "TokenCreateSuccess"
    assert payload["account"] == {"login": "lysenko", "status": "ACTIVE"}
    assert payload["accessToken"] != payload["refreshToken"]
    assert len(payload["accessToken"]) >= 43  # 256 bits in URL-safe base64
    access = dt.datetime.fromisoformat(payload["accessExpiresAt"])
    refresh = dt.datetime.fromisoformat(payload["refreshExpiresAt"])
    assert dt.timedelta(minutes=14) < access - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=15)
    assert dt.timedelta(days=29) < refresh - dt.datetime.now(dt.UTC) <= dt.timedelta(days=30)
    assert await gql(VIEWER, token=payload["accessToken"]) == {"data": {"viewer": {"login": "lysenko"}}}


async def test_login_is_case_insensitive(demo, gql):
    assert (await sign_in(gql, login="  LYSENKO "))["__typename"] == "TokenCreateSuccess"


async def test_anonymous_viewer_is_null(demo, gql):
    assert await gql(VIEWER) == {"data": {"viewer": None}}


async def test_tokens_are_stored_only_as_sha256(demo, gql, db):
    payload = await sign_in(gql)
    async with db.sessions() as s:
        hashes = set((await s.execute(select(AuthToken.token_hash))).scalars())
    assert token_digest(payload["accessToken"]) in hashes
    assert token_digest(payload["refreshToken"]) in hashes
    assert payload["accessToken"].encode() not in hashes


async def test_wrong_password_and_unknown_login_answer_alike(demo, gql):
    wrong = await sign_in(gql, password="not-the-password")
    unknown = await sign_in(gql, login="nobody-here")
    assert wrong["code"] == unknown["code"] == "INVALID_CREDENTIALS"
    assert wrong["message"] == unknown["message"]


async def test_unknown_login_verifies_against_the_dummy_hash(demo, gql, settings, monkeypatch):
    seen: list[str] = []
    real = auth_service.password_verify

    async def spy(settings_, stored, password):
        seen.append(stored)
        return await real(settings_, stored, password)

    monkeypatch.setattr(auth_service, "password_verify", spy)
    await sign_in(gql, login="nobody-here")
    assert seen == [dummy_hash(settings)]


async def test_pending_and_blocked_logins_cannot_sign_in(demo, gql, db):
    async with db.transaction() as s:
        await s.execute(update(Account).where(Account.login == "lysenko").values(status=AccountStatus.PENDING))
        await s.execute(update(Account).where(Account.login == "zakharov").values(status=AccountStatus.BLOCKED))
    assert (await sign_in(gql))["code"] == "ACCOUNT_NOT_ACTIVE"
    assert (await sign_in(gql, login="zakharov"))["code"] == "ACCOUNT_BLOCKED"


async def test_a_blocked_login_loses_its_open_sessions(demo, gql, db):
    token = (await sign_in(gql))["accessToken"]
    async with db.transaction() as s:
        await s.execute(update(Account).where(Account.login == "lysenko").values(status=AccountStatus.BLOCKED))
    result = await gql(VIEWER, token=token)
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_refresh_rotates_and_reuse_revokes_the_family(demo, gql):
    first = await sign_in(gql)
    second = (await gql(REFRESH, {"t": first["refreshToken"]}))["data"]["tokenRefresh"]
    assert second["__typename"] == "TokenCreateSuccess"
    assert second["refreshToken"] != first["refreshToken"]
    assert (await gql(VIEWER, token=second["accessToken"]))["data"]["viewer"]["login"] == "lysenko"
    # The spent token comes back: someone copied it. The whole session ends.
    reused = (await gql(REFRESH, {"t": first["refreshToken"]}))["data"]["tokenRefresh"]
    assert reused["code"] == "TOKEN_INVALID"
    assert (await gql(VIEWER, token=second["accessToken"]))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await gql(REFRESH, {"t": second["refreshToken"]}))["data"]["tokenRefresh"]["code"] == "TOKEN_INVALID"


async def test_unknown_refresh_token_is_invalid(demo, gql):
    assert (await gql(REFRESH, {"t": "made-up"}))["data"]["tokenRefresh"]["code"] == "TOKEN_INVALID"


async def test_expired_refresh_token(demo, gql, db):
    first = await sign_in(gql)
    async with db.transaction() as s:
        await s.execute(
            update(AuthToken)
            .where(AuthToken.token_hash == token_digest(first["refreshToken"]))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    assert (await gql(REFRESH, {"t": first["refreshToken"]}))["data"]["tokenRefresh"]["code"] == "TOKEN_EXPIRED"


async def test_expired_access_token_says_refresh_will_help(demo, gql, db):
    token = (await sign_in(gql))["accessToken"]
    async with db.transaction() as s:
        await s.execute(
            update(AuthToken)
            .where(AuthToken.token_hash == token_digest(token))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    result = await gql(VIEWER, token=token)
    assert result["data"] == {"viewer": None}
    assert result["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED", "reason": "TOKEN_EXPIRED"}


async def test_garbage_bearer_is_unauthenticated_without_reason(demo, gql):
    result = await gql(VIEWER, token="garbage")
    assert result["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_revoke_this_session_only(demo, gql):
    one, two = await sign_in(gql), await sign_in(gql)
    result = await gql(REVOKE, {}, token=one["accessToken"])
    assert result["data"]["tokenRevoke"] == {"__typename": "TokenRevokeSuccess", "revoked": True}
    assert "errors" in await gql(VIEWER, token=one["accessToken"])
    assert (await gql(VIEWER, token=two["accessToken"]))["data"]["viewer"]["login"] == "lysenko"


async def test_revoke_by_refresh_token_and_everywhere(demo, gql):
    one, two, three = await sign_in(gql), await sign_in(gql), await sign_in(gql)
    await gql(REVOKE, {"t": two["refreshToken"]}, token=one["accessToken"])
    assert "errors" in await gql(VIEWER, token=two["accessToken"])
    assert (await gql(VIEWER, token=three["accessToken"]))["data"]["viewer"]["login"] == "lysenko"
    await gql(REVOKE, {"all": True}, token=one["accessToken"])
    for session in (one, three):
        assert "errors" in await gql(VIEWER, token=session["accessToken"])


async def test_someone_elses_refresh_token_cannot_be_revoked(demo, gql):
    mine = await sign_in(gql)
    theirs = await sign_in(gql, login="zakharov")
    result = await gql(REVOKE, {"t": theirs["refreshToken"]}, token=mine["accessToken"])
    assert result["data"]["tokenRevoke"]["code"] == "TOKEN_INVALID"
    assert (await gql(VIEWER, token=theirs["accessToken"]))["data"]["viewer"]["login"] == "zakharov"


async def test_revoke_needs_sign_in(demo, gql):
    result = await gql(REVOKE, {})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_weaker_hash_is_rehashed_on_sign_in(demo, gql, db, settings):
    weak = _hasher(8 * 1024, 1, 1).hash(DEMO_PASSWORD)
    async with db.transaction() as s:
        await s.execute(update(Account).where(Account.login == "lysenko").values(password_hash=weak))
    assert (await sign_in(gql))["__typename"] == "TokenCreateSuccess"
    async with db.sessions() as s:
        stored = (await s.execute(select(Account.password_hash).where(Account.login == "lysenko"))).scalar_one()
    assert stored != weak
    assert stored.startswith(f"$argon2id$v=19$m={settings.argon2_memory_kib},t=2,p=1$")


async def test_repeated_failures_are_throttled(demo, gql, settings):
    for _ in range(settings.throttle_free_failures):
        assert (await sign_in(gql, password="wrong-password"))["code"] == "INVALID_CREDENTIALS"
    # One more failure starts the delay; now even the right password waits.
    assert (await sign_in(gql, password="wrong-password"))["code"] == "INVALID_CREDENTIALS"
    refused = await sign_in(gql)
    assert refused["code"] == "TOO_MANY_ATTEMPTS"
    assert refused["retryAfter"] >= 1
    # Another login from the same address is not held back by one login's failures.
    other = await sign_in(gql, login="zakharov", headers={"x-forwarded-for": "ignored"})
    assert other["__typename"] == "TokenCreateSuccess"


async def test_throttle_is_per_login_and_the_address_counts_the_login(demo, gql, settings, db):
    from models import Throttle, ThrottleSubject

    for _ in range(settings.throttle_free_failures + 1):
        await sign_in(gql, password="wrong-password")
    async with db.sessions() as s:
        keys = set((await s.execute(select(Throttle.key))).scalars())
        counted = set((await s.execute(select(ThrottleSubject.key, ThrottleSubject.subject))).all())
    assert keys == {"login:lysenko"}
    # Six failures of one login are one login failed from this address.
    assert counted == {("sign-in-ip:127.0.0.1", "login:lysenko")}


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (None, "Неправильний логін або пароль."),
        ("ru-RU,ru;q=0.9", "Неверный логин или пароль."),
        ("en-GB,en;q=0.8", "Wrong login or password."),
        ("de", "Неправильний логін або пароль."),
    ],
)
async def test_error_messages_follow_accept_language(demo, gql, language, text):
    headers = {"accept-language": language} if language else None
    assert (await sign_in(gql, password="wrong-password", headers=headers))["message"] == text
