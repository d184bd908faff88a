"""accountUpdate and accountEmailConfirm: phones, and an email confirmed from the new address."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from models import Account, OneTimeToken, Throttle
from models.base import OneTimeTokenKind
from tests.accounts.account_helpers import (
    CONFIRM,
    PASSWORD,
    RESET_REQUEST,
    UPDATE,
    active_login,
    field_codes,
    link_in,
    outbox,
    register,
    sign_in,
)


async def change(gql, token: str, headers: dict | None = None, **values) -> dict:
    return (await gql(UPDATE, {"input": values}, token=token, headers=headers))["data"]["accountUpdate"]


async def confirm(gql, link_token: str, token: str | None = None) -> dict:
    return (await gql(CONFIRM, {"t": link_token}, token=token))["data"]["accountEmailConfirm"]


async def confirm_link(db, to: str) -> str:
    [mail] = await outbox(db, kind="email_change_confirm", to_address=to)
    return link_in(mail.body, "/email-confirm")


async def test_phones_change_at_once(world, gql, db):
    token = await active_login(gql, "holder")
    payload = await change(gql, token, phones=["(050) 765-43-21", "+380 67 000 11 22", "0507654321"])
    assert payload["account"]["phones"] == ["+380507654321", "+380670001122"]
    assert payload["account"]["pendingEmail"] is None
    invalid = await change(gql, token, phones=["+380 67 000 11 22", "call me"])
    assert field_codes(invalid) == {"input/phones/1": "INVALID_FORMAT"}
    assert field_codes(await change(gql, token, phones=[])) == {"input/phones": "REQUIRED"}
    assert await outbox(db, kind="email_change_confirm") == []


async def test_every_invalid_field_at_once(world, gql):
    token = await active_login(gql, "holder")
    payload = await change(gql, token, phones=["1"], email="not-an-email")
    assert field_codes(payload) == {"input/phones/0": "INVALID_FORMAT", "input/email": "INVALID_FORMAT"}
    missing = await change(gql, token, email="new@example.com")
    assert field_codes(missing) == {"input/currentPassword": "REQUIRED"}


async def test_a_wrong_current_password_changes_nothing_and_counts(world, gql, db):
    token = await active_login(gql, "holder")
    payload = await change(gql, token, email="new@example.com", phones=["0991112233"], currentPassword="wrong password")
    assert (payload["__typename"], payload["code"]) == ("OperationError", "INVALID_CREDENTIALS")
    async with db.sessions() as s:
        account = (await s.execute(select(Account).where(Account.login == "holder"))).scalar_one()
        failures = dict((await s.execute(select(Throttle.key, Throttle.failures))).all())
    assert (account.email, account.pending_email, account.phones) == ("holder@example.com", None, ["+380501234567"])
    assert failures["login:holder"] == 1
    assert await outbox(db, kind="email_change_confirm") == []


async def test_a_new_email_waits_for_the_link_sent_to_it(world, gql, db, settings):
    token = await active_login(gql, "holder")
    payload = await change(
        gql, token, headers={"accept-language": "ru"}, email=" New@Example.com ", currentPassword=PASSWORD
    )
    assert payload["account"] == {
        "login": "holder",
        "email": "holder@example.com",
        "pendingEmail": "New@Example.com",
        "phones": ["+380501234567"],
    }
    [mail] = await outbox(db, kind="email_change_confirm")
    assert (mail.to_address, mail.language) == ("New@Example.com", "ru")
    assert f"{settings.public_url}/email-confirm#token=" in mail.body
    link = link_in(mail.body, "/email-confirm")
    async with db.sessions() as s:
        [row] = (await s.execute(select(OneTimeToken))).scalars()
    assert (row.kind, row.payload) == (OneTimeTokenKind.EMAIL_CONFIRM, "New@Example.com")
    assert dt.timedelta(hours=23, minutes=59) < row.expires_at - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=24)

    # Opened from the mailbox, on a device that is not signed in.
    done = await confirm(gql, link)
    assert done == {
        "__typename": "AccountUpdateSuccess",
        "account": {"login": "holder", "email": "New@Example.com", "pendingEmail": None},
    }
    [notice] = await outbox(db, kind="email_changed_notice")
    assert notice.to_address == "holder@example.com" and "New@Example.com" in notice.body
    assert (await confirm(gql, link))["code"] == "TOKEN_INVALID"
    # The new address is the one recovery uses now; the session goes on.
    await gql(RESET_REQUEST, {"v": "new@example.com"})
    assert [m.to_address for m in await outbox(db, kind="password_reset")] == ["New@Example.com"]
    assert (await gql("{ viewer { email } }", token=token))["data"]["viewer"] == {"email": "New@Example.com"}


async def test_a_later_change_voids_the_earlier_link(world, gql, db):
    token = await active_login(gql, "holder")
    await change(gql, token, email="first@example.com", currentPassword=PASSWORD)
    await change(gql, token, email="second@example.com", currentPassword=PASSWORD)
    first = await confirm_link(db, "first@example.com")
    second = await confirm_link(db, "second@example.com")
    assert (await confirm(gql, first))["code"] == "TOKEN_INVALID"
    assert (await confirm(gql, second))["account"]["email"] == "second@example.com"


async def test_going_back_to_the_current_address_cancels_the_change(world, gql, db):
    token = await active_login(gql, "holder")
    await change(gql, token, email="first@example.com", currentPassword=PASSWORD)
    back = await change(gql, token, email="HOLDER@example.com")
    # Only the letter case changed: no password and no link needed.
    assert back["account"]["pendingEmail"] is None and back["account"]["email"] == "HOLDER@example.com"
    assert (await confirm(gql, await confirm_link(db, "first@example.com")))["code"] == "TOKEN_INVALID"


async def test_expired_and_made_up_links(world, gql, db):
    token = await active_login(gql, "holder")
    await change(gql, token, email="new@example.com", currentPassword=PASSWORD)
    link = await confirm_link(db, "new@example.com")
    async with db.transaction() as s:
        await s.execute(update(OneTimeToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    assert (await confirm(gql, link))["code"] == "TOKEN_EXPIRED"
    assert (await confirm(gql, "made-up"))["code"] == "TOKEN_INVALID"


async def test_an_address_of_another_login_is_accepted_alike_but_never_mailed(world, gql, db):
    await register(gql, login="other", email="taken@example.com")
    token = await active_login(gql, "holder")
    free = await change(gql, token, email="free@example.com", currentPassword=PASSWORD)
    taken = await change(gql, token, email="TAKEN@example.com", currentPassword=PASSWORD)
    assert free["__typename"] == taken["__typename"] == "AccountUpdateSuccess"
    assert set(free["account"]) == set(taken["account"])
    assert taken["account"]["pendingEmail"] == "TAKEN@example.com"
    assert await outbox(db, kind="email_change_confirm", to_address="TAKEN@example.com") == []
    assert [m.kind for m in await outbox(db, to_address="taken@example.com")] == ["registration_received"]


async def test_an_address_taken_meanwhile_cannot_be_confirmed(world, gql, db):
    token = await active_login(gql, "holder")
    await change(gql, token, email="contested@example.com", currentPassword=PASSWORD)
    link = await confirm_link(db, "contested@example.com")
    # Only pending for holder, so someone may still register with it.
    assert (await register(gql, login="quicker", email="contested@example.com"))[
        "__typename"
    ] == "AccountRegisterSuccess"
    refused = await confirm(gql, link)
    assert (refused["__typename"], refused["code"]) == ("OperationError", "TOKEN_INVALID")
    viewer = (await gql("{ viewer { email pendingEmail } }", token=token))["data"]["viewer"]
    assert viewer == {"email": "holder@example.com", "pendingEmail": None}
    assert await outbox(db, kind="email_changed_notice") == []


async def test_update_needs_sign_in(world, gql):
    result = await gql(UPDATE, {"input": {"phones": ["0501234567"]}})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_sign_in_is_unaffected_by_a_pending_email(world, gql):
    token = await active_login(gql, "holder")
    await change(gql, token, email="new@example.com", currentPassword=PASSWORD)
    assert (await sign_in(gql, "holder"))["__typename"] == "TokenCreateSuccess"
