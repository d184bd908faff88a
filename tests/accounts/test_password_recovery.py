"""Password recovery by login or email, the reset link, and changing the password."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from models import Account, OneTimeToken, Throttle
from models.base import AccountStatus, OneTimeTokenKind
from services.tokens import token_digest
from tests.accounts.account_helpers import (
    CHANGE,
    PASSWORD,
    RESET,
    RESET_REQUEST,
    UPDATE,
    active_login,
    counted_on_address,
    field_codes,
    link_in,
    outbox,
    sign_in,
    token_of,
)

NEW_PASSWORD = "a brand new secret"
VIEWER = "{ viewer { login } }"


async def reset_request(gql, value: str, headers: dict | None = None) -> dict:
    return await gql(RESET_REQUEST, {"v": value}, headers=headers)


async def reset_token(db) -> str:
    [mail] = await outbox(db, kind="password_reset")
    return link_in(mail.body, "/password-reset")


@pytest.mark.parametrize("value", ["holder", " HOLDER ", "holder@example.com", "Holder@Example.COM"])
async def test_a_reset_link_is_mailed_for_a_login_or_an_email(world, gql, db, settings, value):
    await active_login(gql, "holder")
    result = await reset_request(gql, value, headers={"accept-language": "en"})
    assert result == {"data": {"passwordResetRequest": {"__typename": "PasswordResetRequestSuccess", "accepted": True}}}
    [mail] = await outbox(db, kind="password_reset")
    assert (mail.to_address, mail.language, mail.subject) == ("holder@example.com", "en", mail.subject)
    assert f"{settings.public_url}/password-reset#token=" in mail.body
    token = link_in(mail.body, "/password-reset")
    assert len(token) >= 43
    async with db.sessions() as s:
        stored = (await s.execute(select(OneTimeToken))).scalars().all()
    assert [(t.kind, t.token_hash) for t in stored] == [(OneTimeTokenKind.PASSWORD_RESET, token_digest(token))]
    lifetime = stored[0].expires_at - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=59) < lifetime <= dt.timedelta(hours=1)


async def test_unknown_logins_and_emails_get_the_same_answer_and_no_mail(world, gql, db):
    await active_login(gql, "holder")
    known = await reset_request(gql, "holder@example.com")
    await outbox(db)
    unknown_email = await reset_request(gql, "stranger@example.com")
    unknown_login = await reset_request(gql, "stranger")
    assert known == unknown_email == unknown_login
    assert len(await outbox(db, kind="password_reset")) == 1


async def test_an_empty_request_is_a_validation_error(world, gql):
    payload = (await reset_request(gql, "  "))["data"]["passwordResetRequest"]
    assert field_codes(payload) == {"loginOrEmail": "REQUIRED"}


async def test_the_link_sets_a_new_password_once_and_ends_every_session(world, gql, db):
    before = await active_login(gql, "holder")
    await reset_request(gql, "holder")
    token = await reset_token(db)
    payload = (await gql(RESET, {"t": token, "p": NEW_PASSWORD}))["data"]["passwordReset"]
    assert payload == {"__typename": "PasswordResetSuccess", "reset": True}
    assert (await gql(VIEWER, token=before))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await sign_in(gql, "holder", PASSWORD))["code"] == "INVALID_CREDENTIALS"
    assert (await sign_in(gql, "holder", NEW_PASSWORD))["__typename"] == "TokenCreateSuccess"
    again = (await gql(RESET, {"t": token, "p": "yet another secret"}))["data"]["passwordReset"]
    assert (again["__typename"], again["code"]) == ("OperationError", "TOKEN_INVALID")


async def test_a_reset_spends_every_other_link_of_the_login(world, gql, db):
    await active_login(gql, "holder")
    await reset_request(gql, "holder")
    await reset_request(gql, "holder@example.com")
    first, second = [link_in(m.body, "/password-reset") for m in await outbox(db, kind="password_reset")]
    assert (await gql(RESET, {"t": second, "p": NEW_PASSWORD}))["data"]["passwordReset"]["reset"] is True
    assert (await gql(RESET, {"t": first, "p": NEW_PASSWORD}))["data"]["passwordReset"]["code"] == "TOKEN_INVALID"


async def test_expired_and_made_up_tokens(world, gql, db):
    await active_login(gql, "holder")
    await reset_request(gql, "holder")
    token = await reset_token(db)
    async with db.transaction() as s:
        await s.execute(update(OneTimeToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    expired = (await gql(RESET, {"t": token, "p": NEW_PASSWORD}))["data"]["passwordReset"]
    assert (expired["__typename"], expired["code"]) == ("OperationError", "TOKEN_EXPIRED")
    assert (await gql(RESET, {"t": "made-up", "p": NEW_PASSWORD}))["data"]["passwordReset"]["code"] == "TOKEN_INVALID"
    assert (await sign_in(gql, "holder", PASSWORD))["__typename"] == "TokenCreateSuccess"


async def test_an_email_confirmation_token_is_no_reset_token(world, gql, db):
    token = await active_login(gql, "holder")
    await gql(UPDATE, {"input": {"email": "new@example.com", "currentPassword": PASSWORD}}, token=token)
    [mail] = await outbox(db, kind="email_change_confirm")
    confirm = link_in(mail.body, "/email-confirm")
    assert (await gql(RESET, {"t": confirm, "p": NEW_PASSWORD}))["data"]["passwordReset"]["code"] == "TOKEN_INVALID"


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short", "TOO_SHORT"),
        ("x" * 129, "TOO_LONG"),
        ("iloveyou1", "PASSWORD_TOO_COMMON"),
        ("HOLDER-NUMBER-ONE", "PASSWORD_TOO_COMMON"),
        ("holder-number-one@example.com", "PASSWORD_TOO_COMMON"),
        ("", "REQUIRED"),
    ],
)
async def test_the_new_password_follows_the_policy_and_the_link_stays_usable(world, gql, db, password, code):
    # Its own login and email are as guessable as the common passwords.
    await active_login(gql, "holder-number-one")
    await reset_request(gql, "holder-number-one")
    token = await reset_token(db)
    payload = (await gql(RESET, {"t": token, "p": password}))["data"]["passwordReset"]
    assert payload["__typename"] == "ValidationError"
    assert field_codes(payload) == {"newPassword": code}
    assert (await gql(RESET, {"t": token, "p": NEW_PASSWORD}))["data"]["passwordReset"]["reset"] is True


async def test_reset_requests_are_throttled_quietly(world, gql, db, settings):
    await active_login(gql, "holder")
    answers = [await reset_request(gql, "holder") for _ in range(settings.throttle_free_failures + 3)]
    assert all(a == answers[0] for a in answers)
    assert answers[0]["data"]["passwordResetRequest"]["accepted"] is True
    # The first ones were mailed; past the free ones the mailbox is left alone.
    assert len(await outbox(db, kind="password_reset")) == settings.throttle_free_failures + 1


async def test_reset_mail_per_login_is_limited_from_any_address(world, gql, db, settings):
    await active_login(gql, "holder")
    async with db.transaction() as s:
        await s.execute(update(Throttle).values(failures=0))
    for _ in range(settings.throttle_free_failures + 3):
        # Each from a fresh address: only the per-login count can hold them back.
        async with db.transaction() as s:
            await s.execute(
                update(Throttle).where(Throttle.key.like("reset-ip:%")).values(failures=0, blocked_until=None)
            )
        await reset_request(gql, "holder")
    assert len(await outbox(db, kind="password_reset")) == settings.throttle_free_failures + 1


async def test_a_blocked_login_gets_no_link(world, gql, db):
    await active_login(gql, "holder")
    async with db.transaction() as s:
        await s.execute(update(Account).where(Account.login == "holder").values(status=AccountStatus.BLOCKED))
    assert (await reset_request(gql, "holder"))["data"]["passwordResetRequest"]["accepted"] is True
    assert await outbox(db, kind="password_reset") == []


async def test_a_reset_lifts_the_sign_in_delay_of_the_login(world, gql, db, settings):
    await active_login(gql, "holder")
    for _ in range(settings.throttle_free_failures + 1):
        await sign_in(gql, "holder", "wrong password!")
    await reset_request(gql, "holder")
    token = await reset_token(db)
    await gql(RESET, {"t": token, "p": NEW_PASSWORD})
    async with db.sessions() as s:
        keys = set((await s.execute(select(Throttle.key))).scalars())
    assert "login:holder" not in keys


# ---------------------------------------------------------------- passwordChange


async def test_change_needs_the_current_password_and_ends_the_other_sessions(world, gql, db):
    current = await active_login(gql, "holder")
    other = await token_of(gql, "holder")
    payload = (await gql(CHANGE, {"c": PASSWORD, "p": NEW_PASSWORD}, token=current))["data"]["passwordChange"]
    assert payload == {"__typename": "PasswordChangeSuccess", "account": {"login": "holder"}}
    assert (await gql(VIEWER, token=current))["data"]["viewer"] == {"login": "holder"}
    assert (await gql(VIEWER, token=other))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await sign_in(gql, "holder", PASSWORD))["code"] == "INVALID_CREDENTIALS"
    assert (await sign_in(gql, "holder", NEW_PASSWORD))["__typename"] == "TokenCreateSuccess"


async def test_a_wrong_current_password_is_a_counted_failure(world, gql, db, settings):
    token = await active_login(gql, "holder")
    other = await token_of(gql, "holder")
    payload = (await gql(CHANGE, {"c": "not my password", "p": NEW_PASSWORD}, token=token))["data"]["passwordChange"]
    assert (payload["__typename"], payload["code"]) == ("OperationError", "INVALID_CREDENTIALS")
    async with db.sessions() as s:
        failures = dict((await s.execute(select(Throttle.key, Throttle.failures))).all())
    assert failures == {"login:holder": 1}
    assert await counted_on_address(db, "sign-in") == {"login:holder"}
    # Nothing else changed: the other session lives and the password is the old one.
    assert (await gql(VIEWER, token=other))["data"]["viewer"] == {"login": "holder"}
    for _ in range(settings.throttle_free_failures):
        await gql(CHANGE, {"c": "not my password", "p": NEW_PASSWORD}, token=token)
    throttled = (await gql(CHANGE, {"c": PASSWORD, "p": NEW_PASSWORD}, token=token))["data"]["passwordChange"]
    assert throttled["code"] == "TOO_MANY_ATTEMPTS" and throttled["retryAfter"] >= 1


async def test_change_validates_both_fields_at_once(world, gql):
    token = await active_login(gql, "holder")
    payload = (await gql(CHANGE, {"c": "", "p": "password"}, token=token))["data"]["passwordChange"]
    assert field_codes(payload) == {"currentPassword": "REQUIRED", "newPassword": "PASSWORD_TOO_COMMON"}


async def test_change_needs_sign_in(world, gql):
    result = await gql(CHANGE, {"c": PASSWORD, "p": NEW_PASSWORD})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
