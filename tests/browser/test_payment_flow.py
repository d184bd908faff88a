"""A card payment in headless Chromium: the cabinet's checkout form, the sandbox bank's card
page, «Сплатити», the return page, and the API showing the payment processed and the debt lower."""

from __future__ import annotations

import asyncio
import html
import os
import re
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from resolvers.ids import global_id
from services.demo import DEMO_PASSWORD, demo_basics
from tests.builders import history_make, personal_account_make
from tests.live import cabinet_served

START = """mutation($input: PaymentStartInput!) { paymentStart(input: $input) {
  __typename
  ... on PaymentStartSuccess { payment { id number } checkout { url method fields { name value } } }
  ... on Error { code } } }"""
SCREEN = """query($id: ID!) { viewer { personalAccounts { number debt { categories { category amount } } } }
  node(id: $id) { ... on InternetPayment { status confirmedAt } } }"""


@pytest.fixture
def bank(settings):
    """The cabinet with its sandbox bank over HTTP; public_url is its own address."""
    with cabinet_served(settings) as url:
        yield url


@pytest.fixture
async def http(bank):
    """Overrides the ASGI client of tests/conftest.py: `gql` talks to the live server."""
    async with httpx.AsyncClient(base_url=bank, trust_env=False, timeout=30) as client:
        yield client


async def screen(gql, payment_id: str) -> tuple[str, str]:
    data = (await gql(SCREEN, {"id": payment_id}))["data"]
    ours = next(pa for pa in data["viewer"]["personalAccounts"] if pa["number"] == "8000001")
    categories = ours["debt"]["categories"]
    return next(c["amount"] for c in categories if c["category"] == "ELECTRICITY"), data["node"]["status"]


def checkout_page(checkout: dict) -> str:
    """What a frontend renders from paymentStart's checkout: a form posted to the bank."""
    inputs = "".join(
        f"<input type='hidden' name='{html.escape(f['name'])}' value='{html.escape(f['value'])}'>"
        for f in checkout["fields"]
    )
    return (
        "<!doctype html><html lang='uk'><meta charset='utf-8'><title>Оплата</title>"
        f"<form method='{checkout['method']}' action='{html.escape(checkout['url'])}'>{inputs}"
        "<button>Перейти до оплати</button></form></html>"
    )


def screenshot_path(name: str) -> Path:
    folder = Path(os.environ.get("CABINET_SCREENSHOTS") or tempfile.gettempdir())
    return folder / f"cabinet-{name}.png"


async def test_pay_by_card_in_the_browser(db, settings, bank, gql, page):
    await demo_basics(db, settings)
    async with db.transaction() as s:
        pa = await personal_account_make(s, number="8000001", login="lysenko")
        await history_make(s, personal_account_id=pa, bills=12, start_number=70_000_000)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    started = await gql(
        START,
        {
            "input": {
                "personalAccountId": global_id("PersonalAccount", pa),
                "category": "ELECTRICITY",
                "amount": "100.00",
                "idempotencyKey": "browser-1",
            }
        },
    )
    result = started["data"]["paymentStart"]
    assert result["__typename"] == "PaymentStartSuccess", result
    payment_id = result["payment"]["id"]
    assert await screen(gql, payment_id) == ("363.24", "CREATED")
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)

    # The frontend's form goes to the bank's card page.
    await page.set_content(checkout_page(result["checkout"]))
    async with page.expect_navigation():
        await page.get_by_role("button", name="Перейти до оплати").click()
    assert page.url == f"{bank}/sandbox-bank/api/3/checkout"
    await page.get_by_text("100,00 грн").wait_for()
    await page.get_by_label("Номер картки").fill("4242 4242 4242 4242")
    await page.get_by_label("Термін дії").fill("12/30")
    await page.get_by_label("CVV2").fill("123")
    await page.screenshot(path=screenshot_path("sandbox-bank-card"), full_page=True)

    async with page.expect_navigation(url=re.compile(re.escape(f"{bank}/payments/return?payment="))):
        await page.get_by_role("button", name="Сплатити").click()
    # The callback may come after the browser: the page polls the payment's state and shows
    # the thanks once the bank's word is in (reloading itself, which a wait_for outlives).
    await page.get_by_text("Дякуємо! Платіж зараховано").wait_for()
    assert await page.get_by_role("link", name="Повернутися до кабінету").get_attribute("href") == f"{bank}/"

    # The callback went in the background: the API shows it as soon as the bank's word is in.
    deadline = time.monotonic() + 15
    while (seen := await screen(gql, payment_id))[1] != "PROCESSED" and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert seen == ("263.24", "PROCESSED")
    assert problems == []
