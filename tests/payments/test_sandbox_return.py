"""Back from the sandbox bank over real HTTP: the return page after «Відхилити» and «Сплатити»,
one clock for the cabinet and the bank under a pinned business date, and a cancelled payment
still paid on the bank's open page."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import httpx
from sqlalchemy import select

from kyiv import KYIV
from models import OutboxMessage
from tests.conftest import DEMO_DATE
from tests.documents.document_helpers import pdf_text
from tests.payments.test_sandbox_bank import (  # noqa: F401  (fixtures: the live cabinet, its client, the account)
    CARD,
    account,
    bank,
    bank_order,
    card_page,
    credits_and_callbacks,
    eventually,
    http,
    pay,
    press,
    screen,
    start,
)

PAYMENT = """query($id: ID!) { node(id: $id) { ... on InternetPayment { status createdAt expiresAt confirmedAt receiptUrl } } }"""
CANCEL = """mutation($id: ID!) { paymentCancel(id: $id) { __typename ... on PaymentCancelSuccess { payment { status } } } }"""


def kyiv_day(value: str) -> dt.date:
    return dt.datetime.fromisoformat(value).astimezone(KYIV).date()


async def test_after_decline_the_return_page_says_the_payment_failed(account, gql, http):
    checkout = await start(gql, account)
    page = await card_page(http, checkout, "?sync=1")

    declined = await press(http, page, "decline")
    back = await http.get(declined.headers["location"])

    assert declined.status_code == 303 and declined.headers["location"] == checkout.params["result_url"]
    assert back.status_code == 200 and "<h1>Платіж не пройшов</h1>" in back.text
    assert "Дякуємо" not in back.text and "Банк відхилив платіж" in back.text


async def test_after_pay_the_return_page_thanks_once_the_bank_confirmed(account, gql, http):
    checkout = await start(gql, account)
    paid = await pay(http, checkout, query="")  # the callback goes in the background
    assert await eventually(gql, checkout, "PROCESSED") == ("263.24", "PROCESSED")

    back = await http.get(paid.headers["location"])
    status = await http.get(paid.headers["location"].replace("/payments/return?", "/payments/return/status?"))

    assert "<h1>Дякуємо! Платіж зараховано</h1>" in back.text and "<script>" not in back.text
    assert status.json() == {"number": checkout.number, "status": "PROCESSED"}


async def test_with_a_pinned_business_date_the_payment_the_bank_and_the_mail_share_that_day(account, gql, http, db):
    checkout = await start(gql, account)
    page = await card_page(http, checkout, "?sync=1")
    valid_until = re.search(r"<dt>Сторінка дійсна до</dt><dd>(\d\d\.\d\d\.\d{4}) ", page.text).group(1)

    await press(http, page, "pay", CARD)

    payment = (await gql(PAYMENT, {"id": checkout.payment_id}))["data"]["node"]
    assert payment["status"] == "PROCESSED"
    expires_at = dt.datetime.fromisoformat(payment["expiresAt"])
    assert kyiv_day(payment["createdAt"]) == kyiv_day(payment["confirmedAt"]) == DEMO_DATE
    assert dt.timedelta(0) <= dt.datetime.fromisoformat(payment["confirmedAt"]) - dt.datetime.fromisoformat(
        payment["createdAt"]
    )
    # The bank's page, its end_date and the form's expiry are on the cabinet's clock too.
    assert valid_until == f"{expires_at.astimezone(KYIV):%d.%m.%Y}"
    order = await bank_order(http, checkout.order_id)
    assert dt.datetime.fromtimestamp(order["end_date"] / 1000, KYIV).date() == DEMO_DATE
    assert checkout.params["expired_date"] == expires_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    receipt = await http.get(payment["receiptUrl"])
    confirmed = dt.datetime.fromisoformat(payment["confirmedAt"]).astimezone(KYIV)
    assert f"{confirmed:%d.%m.%Y %H:%M}" in pdf_text(receipt.content) and "2026" not in pdf_text(receipt.content)
    async with db.sessions() as s:
        mail = (
            await s.execute(select(OutboxMessage.body).where(OutboxMessage.kind == "payment_processed"))
        ).scalar_one()
    assert f"{confirmed:%d.%m.%Y %H:%M}" in mail


async def test_a_cancelled_payment_paid_on_the_still_open_bank_page_is_credited_by_reconciliation(
    account, gql, http, db, settings
):
    from workers.reconciliation import reconciliation_round

    checkout = await start(gql, account)
    await card_page(http, checkout)  # the bank's tab is open…
    cancelled = (await gql(CANCEL, {"id": checkout.payment_id}))["data"]["paymentCancel"]  # …and the cabinet ends it
    assert cancelled == {"__typename": "PaymentCancelSuccess", "payment": {"status": "EXPIRED"}}

    # The person pays on that tab anyway, and the callback is lost.
    silent = await card_page(http, checkout, "?sync=1&silent=1")
    await press(http, silent, "pay", CARD)
    assert await screen(gql, checkout) == ("363.24", "EXPIRED")

    live = settings.model_copy(update={"public_url": str(http.base_url).rstrip("/"), "sandbox_bank": True})
    async with httpx.AsyncClient(trust_env=False) as client:
        results = await reconciliation_round(
            db=db, settings=live, client=client, now=live.now() + live.payment_poll_after
        )

    assert list(results.values()) == ["credited after a final state"]
    assert await screen(gql, checkout) == ("263.24", "PROCESSED")
    assert (await credits_and_callbacks(db, checkout.number))[0] == [Decimal("100.00")]
