"""Where mail links land in the demo (the app is its own frontend), in headless Chromium: the
password-reset and email-confirm pages read the token from the fragment and call the API; and
the return page refreshes itself when a late bank callback comes in."""

from __future__ import annotations

import re

from sqlalchemy import select

from models import OutboxMessage
from resolvers.ids import global_id
from services.demo import DEMO_PASSWORD, demo_basics
from tests.browser.test_payment_flow import START, bank, checkout_page, http  # noqa: F401  (fixtures)
from tests.builders import history_make, personal_account_make

RESET_REQUEST = """mutation($v: String!) { passwordResetRequest(loginOrEmail: $v) { __typename } }"""
EMAIL_CHANGE = """mutation($input: AccountUpdateInput!) { accountUpdate(input: $input) { __typename } }"""
VIEWER = "{ viewer { email pendingEmail } }"
NEW_PASSWORD = "a brand new secret"


async def mailed_link(db, kind: str, path: str) -> str:
    async with db.sessions() as s:
        body = (await s.execute(select(OutboxMessage.body).where(OutboxMessage.kind == kind))).scalar_one()
    return re.search(re.escape(path) + r"#token=[A-Za-z0-9_\-]+", body).group(0)


def page_problems(page) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    return problems


async def test_the_reset_link_from_the_mail_sets_a_new_password(db, settings, bank, gql, page):
    await demo_basics(db, settings)
    assert (await gql(RESET_REQUEST, {"v": "lysenko"}))["data"]["passwordResetRequest"][
        "__typename"
    ] == "PasswordResetRequestSuccess"
    link = await mailed_link(db, "password_reset", f"{bank}/password-reset")
    problems = page_problems(page)

    await page.goto(link)
    assert page.url == f"{bank}/password-reset"  # the token left the address bar (and the history)
    await page.get_by_label("Новий пароль").fill(NEW_PASSWORD)
    await page.get_by_label("Ще раз").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Змінити пароль").click()
    await page.get_by_text("Пароль змінено").wait_for()

    await gql.sign_in("lysenko", NEW_PASSWORD)  # fails the test unless the API took it
    # The same link again (a fresh load, not a fragment change): the API's own refusal.
    await page.goto("about:blank")
    await page.goto(link)
    await page.get_by_label("Новий пароль").fill("another new secret")
    await page.get_by_label("Ще раз").fill("another new secret")
    await page.get_by_role("button", name="Змінити пароль").click()
    await page.locator("#result").filter(has_text=re.compile(r"\S")).wait_for()
    assert await page.locator("#result").text_content() == "Посилання або токен недійсні."
    assert problems == []


async def test_the_confirmation_link_from_the_mail_confirms_the_new_address(db, settings, bank, gql, page):
    await demo_basics(db, settings)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    changed = await gql(EMAIL_CHANGE, {"input": {"email": "lysenko.new@example.com", "currentPassword": DEMO_PASSWORD}})
    assert changed["data"]["accountUpdate"]["__typename"] == "AccountUpdateSuccess", changed
    link = await mailed_link(db, "email_change_confirm", f"{bank}/email-confirm")
    problems = page_problems(page)

    await page.goto(link)
    assert (await gql(VIEWER))["data"]["viewer"]["email"] != "lysenko.new@example.com"  # opening alone confirms nothing
    await page.get_by_role("button", name="Підтвердити адресу").click()
    await page.get_by_text("Адресу підтверджено").wait_for()

    assert (await gql(VIEWER))["data"]["viewer"] == {"email": "lysenko.new@example.com", "pendingEmail": None}
    assert problems == []


async def test_the_return_page_refreshes_itself_when_the_bank_calls_back_late(db, settings, bank, gql, page):
    await demo_basics(db, settings)
    async with db.transaction() as s:
        pa = await personal_account_make(s, number="8000001", login="lysenko")
        await history_make(s, personal_account_id=pa, bills=12, start_number=70_000_000)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    result = (
        await gql(
            START,
            {
                "input": {
                    "personalAccountId": global_id("PersonalAccount", pa),
                    "category": "ELECTRICITY",
                    "amount": "100.00",
                    "idempotencyKey": "late-1",
                }
            },
        )
    )["data"]["paymentStart"]
    problems = page_problems(page)
    checkout = result["checkout"]
    # The bank calls back five seconds after sending the browser back.
    late = {**checkout, "url": checkout["url"] + "?late=5"}
    await page.set_content(checkout_page(late))
    async with page.expect_navigation():
        await page.get_by_role("button", name="Перейти до оплати").click()
    await page.get_by_label("Номер картки").fill("4242 4242 4242 4242")
    await page.get_by_label("Термін дії").fill("12/30")
    await page.get_by_label("CVV2").fill("123")
    async with page.expect_navigation(url=re.compile(re.escape(f"{bank}/payments/return?payment="))):
        await page.get_by_role("button", name="Сплатити").click()

    await page.get_by_text("Очікуємо відповідь банку").wait_for()
    await page.get_by_text("Дякуємо! Платіж зараховано").wait_for()  # no click: the page saw it itself
    assert problems == []
