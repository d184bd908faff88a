"""The bill PDF is the bill as issued plus a payment slip as of the day it is downloaded: the
slip and the QR code ask for what is still due then (the allocation's amountDue), a paid bill
asks for nothing, and a stored render is reused only while that day and amount are the same."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from decimal import Decimal

from sqlalchemy import insert, select, text

from models import Document, Payment
from models.base import ChargeCategory, PaymentChannel
from payments.liqpay import signed_pair
from pdf.qr import nbu_payment_decode
from services import documents as service
from services.card_payments import liqpay_keys
from services.demo import DEMO_PASSWORD, demo_load
from tests.documents.document_helpers import path_of, pdf_qr_codes, pdf_text


async def _get(http, path, **headers):
    response = await http.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response


def _qr_amounts(content: bytes) -> list[str]:
    return [nbu_payment_decode(code)[7] for code in pdf_qr_codes(content)]


async def _stored_keys(db) -> list[str]:
    async with db.sessions() as s:
        return list((await s.execute(select(Document.key).order_by(Document.key))).scalars())


async def test_the_partly_paid_demo_act_bill_asks_for_what_is_still_due(db, settings, http, link):
    """13942455 is 8618.40; the bank payment of 02.04 paid 469.29 of it: the household owes 8149.11."""
    await demo_load(db, settings)
    async with db.sessions() as s:
        bill_id = (await s.execute(text("SELECT id FROM bill WHERE number = 13942455"))).scalar_one()
    content = (await _get(http, link("bill", bill_id))).content
    assert _qr_amounts(content) == ["UAH8149.11"]
    page = pdf_text(content)
    for item in [
        "Разом за рахунком, грн 8618.40",  # the bill as issued
        "Заборгованість станом на 13.03.2014, грн",
        "До сплати станом на 26.05.2014: 8149.11 грн",
        "Сума рахунку 8618.40 грн, сплачено 469.29 грн",
        "Платіжна квитанція до рахунку № 13942455",
        "Сума до сплати станом на 26.05.2014, грн: 8149.11",
    ]:
        assert item in page, (item, page)
    assert "8618.40 грн" not in page.replace("Сума рахунку 8618.40 грн", "")


async def test_a_paid_bill_asks_for_nothing_and_has_no_payable_qr(manual, http, link):
    """13942510 (146.22) was paid by the bank payment of 04.04 (DESIGN's worked example)."""
    content = (await _get(http, link("bill", manual[13942510]))).content
    page = pdf_text(content)
    assert "Разом за рахунком, грн 146.22" in page
    assert "Станом на 26.05.2014 рахунок сплачено: сплачувати за ним не потрібно." in page
    for absent in ("лінія відрізу", "Платіжна квитанція", "До сплати", "Сума до сплати", "QR-код"):
        assert absent not in page, absent
    assert pdf_qr_codes(content) == []


async def test_the_amount_due_is_the_allocations_oldest_first(manual, http, link):
    """No payment names 13942517 (1519.71); the credits left after the older bills pay 236.18 of it."""
    content = (await _get(http, link("bill", manual[13942517]))).content
    assert _qr_amounts(content) == ["UAH1283.53"]
    assert "Сума рахунку 1519.71 грн, сплачено 236.18 грн" in pdf_text(content)


async def test_paying_half_of_a_bill_changes_its_next_download(manual, http, link, db, settings, monkeypatch):
    renders = []
    real = service.bill_pdf

    def counting(data):
        renders.append((data.number, data.slip))
        return real(data)

    monkeypatch.setattr(service, "bill_pdf", counting)
    bill = manual[13942531]
    first = await _get(http, link("bill", bill))
    assert _qr_amounts(first.content) == ["UAH256.64"]
    again = await http.get(link("bill", bill), headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and len(renders) == 1  # the same day and amount: the stored render

    async with db.transaction() as s:  # a bank payment for this bill, imported the same day
        await s.execute(
            insert(Payment).values(
                personal_account_id=manual["pa"],
                paid_on=dt.date(2014, 5, 26),
                amount=Decimal("128.32"),
                category=ChargeCategory.ELECTRICITY,
                channel=PaymentChannel.BANK,
                bill_id=bill,
            )
        )
    after = await _get(http, link("bill", bill), **{"If-None-Match": first.headers["etag"]})  # 200, not 304
    assert after.headers["etag"] != first.headers["etag"]
    assert _qr_amounts(after.content) == ["UAH128.32"]
    page = pdf_text(after.content)
    assert "Сума до сплати станом на 26.05.2014, грн: 128.32" in page
    assert "Сума рахунку 256.64 грн, сплачено 128.32 грн" in page
    assert "Разом за рахунком, грн 256.64" in page  # the bill itself is as issued
    assert await _stored_keys(db) == [f"bill:{bill}:2014-05-26:128.32"]  # the old render is replaced, not kept

    # The next day the same amount is due, as of that day.
    monkeypatch.setattr(settings, "business_date", dt.date(2014, 5, 27))
    next_day = await _get(http, link("bill", bill))
    assert "Сума до сплати станом на 27.05.2014, грн: 128.32" in pdf_text(next_day.content)
    assert next_day.headers["etag"] not in (first.headers["etag"], after.headers["etag"])
    assert await _stored_keys(db) == [f"bill:{bill}:2014-05-27:128.32"]
    assert [(number, slip.as_of.day, str(slip.amount_due)) for number, slip in renders] == [
        (13942531, 26, "256.64"),
        (13942531, 26, "128.32"),
        (13942531, 27, "128.32"),
    ]


START = """mutation($input: PaymentStartInput!) { paymentStart(input: $input) {
  __typename ... on PaymentStartSuccess { checkout { fields { name value } } } ... on Error { code } } }"""
SUBMIT = """mutation($input: MeterReadingInput!) { meterReadingSubmit(input: $input) {
  ... on MeterReadingSubmitSuccess { bill { id number amount pdfUrl } } ... on Error { code } } }"""


async def test_the_manuals_new_bill_13942590_paid_by_card_no_longer_asks_for_97_51(db, settings, gql, http):
    await demo_load(db, settings)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    pa = (await gql("{ viewer { personalAccounts { id } } }"))["data"]["viewer"]["personalAccounts"][0]["id"]
    reading = {"personalAccountId": pa, "takenOn": "2014-05-26", "values": [{"zone": "TOTAL", "value": 48500}]}
    bill = (await gql(SUBMIT, {"input": reading}))["data"]["meterReadingSubmit"]["bill"]
    assert (bill["number"], bill["amount"]) == ("13942590", "97.51")
    unpaid = await _get(http, path_of(bill["pdfUrl"]))
    assert _qr_amounts(unpaid.content) == ["UAH97.51"]
    assert "До сплати станом на 26.05.2014: 97.51 грн" in pdf_text(unpaid.content)

    start = {"personalAccountId": pa, "billId": bill["id"], "amount": "97.51", "idempotencyKey": "bill-13942590"}
    result = (await gql(START, {"input": start}))["data"]["paymentStart"]
    assert result["__typename"] == "PaymentStartSuccess", result
    form = json.loads(base64.b64decode({f["name"]: f["value"] for f in result["checkout"]["fields"]}["data"]))
    message = {
        "version": 3,
        "public_key": form["public_key"],
        "action": "pay",
        "status": "success",
        "amount": float(form["amount"]),
        "currency": "UAH",
        "order_id": form["order_id"],
        "payment_id": 42,
    }
    data, signature = signed_pair(liqpay_keys(settings), message)
    assert (
        await http.post("/payments/liqpay/callback", data={"data": data, "signature": signature})
    ).status_code == 200
    status = await gql("query($id: ID!) { node(id: $id) { ... on Bill { status amountDue } } }", {"id": bill["id"]})
    assert status["data"]["node"] == {"status": "PAID", "amountDue": "0.00"}

    paid = await _get(http, path_of(bill["pdfUrl"]), **{"If-None-Match": unpaid.headers["etag"]})  # 200, not 304
    page = pdf_text(paid.content)
    assert "Станом на 26.05.2014 рахунок сплачено" in page and "97.51 грн" not in page
    assert "Разом за рахунком, грн 97.51" in page
    assert pdf_qr_codes(paid.content) == []


async def test_concurrent_stores_of_two_slips_keep_one_render(manual, db):
    """Two processes rendering one bill as of different states: the later store replaces the
    earlier, even while the earlier is still uncommitted when the later starts."""
    bill = manual[13942531]
    older, newer = f"bill:{bill}:2014-05-26:256.64", f"bill:{bill}:2014-05-26:128.32"
    async with db.sessions() as first, db.sessions() as second:
        async with first.begin():
            await service.document_store(
                session=first, key=older, personal_account_id=manual["pa"], content=b"%PDF-older"
            )
            later = asyncio.ensure_future(_store_in(second, newer, manual["pa"], b"%PDF-newer"))
            await asyncio.sleep(0.2)
            assert not later.done()  # it waits for the first store's transaction
        stored = await later
    assert stored.content == b"%PDF-newer"
    assert await _stored_keys(db) == [newer]


async def _store_in(session, key, pa, content):
    async with session.begin():
        return await service.document_store(session=session, key=key, personal_account_id=pa, content=content)
