"""Receipts of card payments: a link only once the bank's signed callback has processed the
payment, and none after a reversal."""

from __future__ import annotations

import base64
import json

import pytest

from payments.liqpay import signed_pair
from resolvers.ids import global_id
from services.card_payments import liqpay_keys
from services.demo import DEMO_PASSWORD, demo_basics
from tests.builders import history_make, personal_account_make
from tests.documents.document_helpers import EDRPOU, IBAN, SUPPLIER, path_of, pdf_pages, pdf_text

START = """mutation($input: PaymentStartInput!) { paymentStart(input: $input) {
  __typename ... on PaymentStartSuccess { payment { id number status receiptUrl } checkout { fields { name value } } }
  ... on Error { code } } }"""
NODE = "query($id: ID!) { node(id: $id) { ... on InternetPayment { status receiptUrl } } }"


@pytest.fixture
async def account(db, settings, gql):
    await demo_basics(db, settings)
    async with db.transaction() as s:
        pa = await personal_account_make(s, number="8000001", login="lysenko", holder="Лисенко Олександра Опанасівна")
        await history_make(s, personal_account_id=pa, bills=12, start_number=70_000_000)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    return global_id("PersonalAccount", pa)


async def _start(gql, pa: str) -> tuple[dict, dict]:
    variables = {
        "input": {"personalAccountId": pa, "category": "ELECTRICITY", "amount": "100.00", "idempotencyKey": "receipt-1"}
    }
    result = (await gql(START, variables))["data"]["paymentStart"]
    assert result["__typename"] == "PaymentStartSuccess", result
    fields = {f["name"]: f["value"] for f in result["checkout"]["fields"]}
    return result["payment"], json.loads(base64.b64decode(fields["data"]))


async def _bank_says(http, settings, form: dict, status: str) -> None:
    message = {
        "version": 3,
        "public_key": form["public_key"],
        "action": "pay",
        "status": status,
        "amount": float(form["amount"]),
        "currency": "UAH",
        "order_id": form["order_id"],
        "payment_id": 123456789,
        "end_date": 1400672400000,
    }
    data, signature = signed_pair(liqpay_keys(settings), message)
    response = await http.post("/payments/liqpay/callback", data={"data": data, "signature": signature})
    assert response.status_code == 200, response.text


async def test_no_receipt_before_processing_then_a_working_one(account, gql, http, settings):
    payment, form = await _start(gql, account)
    assert payment["status"] == "CREATED" and payment["receiptUrl"] is None
    await _bank_says(http, settings, form, "wait_secure")
    node = (await gql(NODE, {"id": payment["id"]}))["data"]["node"]
    assert node == {"status": "PENDING", "receiptUrl": None}

    await _bank_says(http, settings, form, "success")
    # (The payment is made today by the real clock, so it is looked up by id, not in the
    # business date's default period.)
    mine = (await gql(NODE, {"id": payment["id"]}))["data"]["node"]
    assert mine["status"] == "PROCESSED"
    url = mine["receiptUrl"]
    assert url.startswith("https://cabinet.test/documents/receipt/")

    response = await http.get(path_of(url))  # no headers needed
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'inline; filename="chek-{payment["number"]}.pdf"'
    pages = pdf_pages(response.content)
    assert len(pages) == 1
    text = pages[0]
    for item in [
        f"ЧЕК № {payment['number']}",
        f"Платіж (ID платежу) {payment['number']}",
        "Сума, грн 100.00",
        "Стаття електроенергія",
        "Особовий рахунок 8000001",
        "Споживач Лисенко Олександра Опанасівна",
        "Підтверджено банком 21.05.2014 14:40:00 (Київ)",  # the bank's end_date, 11:40 UTC, in Kyiv's summer time
        "Ідентифікатор платежу в банку 123456789",
        "Статус оброблено",
        "Призначення платежу Оплата за електроенергію, о/р 8000001",
        SUPPLIER,
        f"Код ЄДРПОУ: {EDRPOU}",
        f"IBAN: {IBAN}",
    ]:
        assert item in text, (item, text)


async def test_a_reversed_payment_has_no_receipt(account, gql, http, settings, db):
    payment, form = await _start(gql, account)
    await _bank_says(http, settings, form, "success")
    url = (await gql(NODE, {"id": payment["id"]}))["data"]["node"]["receiptUrl"]
    assert (await http.get(path_of(url))).status_code == 200  # rendered and stored while processed

    await _bank_says(http, settings, form, "reversed")
    assert (await gql(NODE, {"id": payment["id"]}))["data"]["node"] == {"status": "REVERSED", "receiptUrl": None}
    # The link handed out before the reversal no longer gives the stored receipt.
    assert (await http.get(path_of(url))).status_code == 404


async def test_a_receipt_link_for_an_unprocessed_payment_is_404(account, gql, http, link):
    payment, _ = await _start(gql, account)
    from resolvers.ids import pk_of

    assert (await http.get(link("receipt", pk_of(payment["id"], "InternetPayment")))).status_code == 404


LIST = "{ viewer { personalAccounts { internetPayments { edges { node { number status receiptUrl } } } } } }"


async def test_the_manuals_receipt_1714(manual, gql, http):
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    edges = (await gql(LIST))["data"]["viewer"]["personalAccounts"][0]["internetPayments"]["edges"]
    urls = {e["node"]["number"]: e["node"]["receiptUrl"] for e in edges}
    assert sorted(urls) == [1706, 1707, 1708, 1714] and all(urls.values())
    response = await http.get(path_of(urls[1714]))
    text = pdf_text(response.content)
    for item in [
        "ЧЕК № 1714",
        "Сума, грн 10.00",
        "Підтверджено банком 10.04.2014 13:18:42 (Київ)",
        "Ідентифікатор платежу в банку 48115236",
        "Особовий рахунок 0101010",
    ]:
        assert item in text
