"""Card payments: paymentStart, the bank callback's state machine, crediting exactly once."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from models import BankCallback, Bill, InternetPayment, OutboxMessage, Payment
from models.base import BillKind, ChargeCategory, RecordSource
from payments.liqpay import LiqPayKeys, signature_of, signed_pair
from resolvers.ids import global_id, pk_of
from services.card_payments import liqpay_keys
from services.demo import DEMO_PASSWORD, demo_basics
from services.payment_return import payment_return_url
from tests.builders import history_make, personal_account_make
from tests.documents.document_helpers import path_of, pdf_text

START = """mutation($input: PaymentStartInput!) { paymentStart(input: $input) {
  __typename
  ... on PaymentStartSuccess { resumed payment { id number amount category status createdAt expiresAt bill { number } } checkout { url method fields { name value } } }
  ... on ValidationError { code fields { path code } }
  ... on OperationError { code message retryAfter paymentId } } }"""
SCREEN = """{ viewer { personalAccounts { debt { categories { category amount } }
  bills(first: 3) { edges { node { number status amountDue } } }
  internetPayments { edges { node { number status confirmedAt } } }
  payments { totalAmount edges { node { amount channel } } } } } }"""


def test_the_liqpay_test_vector():
    keys = LiqPayKeys("i00000000", "a4825234f4bae72a0be04eafe9e8e2bada209255")
    payload = '{"public_key":"i00000000","version":"3","action":"pay","amount":"3","currency":"UAH","description":"test","order_id":"000001"}'
    data = base64.b64encode(payload.encode()).decode()
    assert data.startswith("eyJwdWJsaWNfa2V5IjoiaTAwMDAwMDAwIiwidmVyc2lvbiI6IjMi")
    assert signature_of(keys, data) == "wR+UZDC4jjeL/qUOvIsofIWpZh8="


@pytest.fixture
async def account(db, settings, gql):
    """Twelve unpaid monthly bills of 60.27 (and 30.00 paid each month): debt 363.24."""
    await demo_basics(db, settings)
    async with db.transaction() as s:
        pa = await personal_account_make(s, number="8000001", login="lysenko")
        await history_make(s, personal_account_id=pa, bills=12, start_number=70_000_000)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    return global_id("PersonalAccount", pa)


def start_input(pa, amount="100.00", key="key-1", **extra):
    return {
        "input": {"personalAccountId": pa, "category": "ELECTRICITY", "amount": amount, "idempotencyKey": key, **extra}
    }


async def started(gql, pa, **kwargs) -> dict:
    result = (await gql(START, start_input(pa, **kwargs)))["data"]["paymentStart"]
    assert result["__typename"] == "PaymentStartSuccess", result
    return result


def form_params(checkout: dict) -> dict:
    fields = {f["name"]: f["value"] for f in checkout["fields"]}
    return json.loads(base64.b64decode(fields["data"]))


async def callback(http, settings, params: dict, *, signature: str | None = None):
    data, good = signed_pair(liqpay_keys(settings), params)
    return await http.post(
        "/payments/liqpay/callback",
        data={"data": data, "signature": signature or good},
    )


def bank_message(form: dict, status: str, **extra) -> dict:
    return {
        "version": 3,
        "public_key": form["public_key"],
        "action": "pay",
        "status": status,
        "amount": float(form["amount"]),
        "currency": "UAH",
        "order_id": form["order_id"],
        "payment_id": 123456789,
        "end_date": 1400672400000,
        **extra,
    }


async def test_start_returns_a_signed_checkout_form_with_the_configured_urls(account, gql, settings):
    result = await started(gql, account)
    payment, checkout = result["payment"], result["checkout"]
    assert (payment["status"], payment["amount"], payment["category"]) == ("CREATED", "100.00", "ELECTRICITY")
    assert (checkout["url"], checkout["method"]) == (settings.checkout_url, "POST")
    fields = {f["name"]: f["value"] for f in checkout["fields"]}
    assert signature_of(liqpay_keys(settings), fields["data"]) == fields["signature"]
    params = form_params(checkout)
    assert params["amount"] == "100.00" and params["currency"] == "UAH" and params["action"] == "pay"
    assert params["server_url"] == "https://cabinet.test/payments/liqpay/callback"
    # The cabinet's return page, with a signed reference to this very payment (no token needed).
    reference = payment_return_url(
        settings=settings,
        payment_id=pk_of(payment["id"], "InternetPayment"),
        payment_expires_at=dt.datetime.fromisoformat(payment["expiresAt"]),
    )
    assert params["result_url"] == reference
    assert reference.startswith("https://cabinet.test/payments/return?payment=")
    assert params["order_id"] == f"uens-{payment['number']}"
    assert params["expired_date"]  # 15 minutes on


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("0", "AMOUNT_INVALID"),
        ("-5.00", "AMOUNT_INVALID"),
        ("1.234", "AMOUNT_INVALID"),
        ("100000.01", "AMOUNT_INVALID"),
    ],
)
async def test_amount_rules(account, gql, amount, code):
    result = (await gql(START, start_input(account, amount=amount)))["data"]["paymentStart"]
    assert (result["__typename"], result["code"]) == ("ValidationError", code)
    assert result["fields"] == [{"path": ["input", "amount"], "code": code}]


async def test_an_advance_above_the_debt_is_allowed(account, gql):
    assert (await started(gql, account, amount="99999.99"))["payment"]["amount"] == "99999.99"


async def test_nothing_to_pay_without_debt_and_for_a_paid_bill(account, gql):
    result = await gql(
        START,
        {"input": {"personalAccountId": account, "category": "SERVICES", "amount": "10.00", "idempotencyKey": "k"}},
    )
    assert result["data"]["paymentStart"]["code"] == "NOTHING_TO_PAY"


async def test_return_url_must_be_allowed(account, gql):
    result = (await gql(START, start_input(account, returnUrl="https://evil.example/steal")))["data"]["paymentStart"]
    assert result["fields"] == [{"path": ["input", "returnUrl"], "code": "INVALID_FORMAT"}]


@pytest.mark.parametrize(
    "url",
    [
        "https://cabinet.test.evil.net/payments/return",  # a lookalike host passed a string prefix
        "https://cabinet.test/payments/returned",  # not under the allowed path
        "https://cabinet.test:8443/payments/return",
        "http://cabinet.test/payments/return",
        "https://user@cabinet.test/payments/return",
        "https://cabinet.test\\@evil.net/payments/return",
        "javascript://cabinet.test/payments/return",
    ],
)
async def test_lookalike_return_urls_are_refused(account, gql, url):
    result = (await gql(START, start_input(account, returnUrl=url)))["data"]["paymentStart"]
    assert result["fields"] == [{"path": ["input", "returnUrl"], "code": "INVALID_FORMAT"}]


@pytest.mark.parametrize(
    "url", ["https://cabinet.test/payments/return", "https://CABINET.test:443/payments/return/bill?x=1"]
)
async def test_return_urls_of_the_allowed_origin_and_path_are_taken(account, gql, url):
    result = (await gql(START, start_input(account, returnUrl=url)))["data"]["paymentStart"]
    assert result["__typename"] == "PaymentStartSuccess", result


async def test_the_same_key_returns_the_same_payment_and_form_other_parameters_are_refused(account, gql):
    first = await started(gql, account)
    again = await started(gql, account)
    assert again == first
    other = (await gql(START, start_input(account, amount="50.00")))["data"]["paymentStart"]
    assert other["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_press_pay_only_once(account, gql, db):
    # Ten presses with ten keys at once: one payment; the other nine resume it, form and all.
    results = await asyncio.gather(*[gql(START, start_input(account, key=f"k{i}")) for i in range(10)])
    payloads = [r["data"]["paymentStart"] for r in results]
    assert {p["__typename"] for p in payloads} == {"PaymentStartSuccess"}
    assert sorted(p["resumed"] for p in payloads) == [False] + [True] * 9
    assert len({p["payment"]["id"] for p in payloads}) == 1
    assert len({json.dumps(p["checkout"]) for p in payloads}) == 1
    async with db.sessions() as s:
        started = select(func.count()).select_from(InternetPayment).where(InternetPayment.idempotency_key.is_not(None))
        assert (await s.execute(started)).scalar_one() == 1


async def test_success_callback_credits_once_and_everything_changes_together(account, gql, http, settings, db):
    result = await started(gql, account, amount="363.24")
    form = form_params(result["checkout"])
    before = (await gql(SCREEN))["data"]["viewer"]["personalAccounts"][0]
    assert before["debt"]["categories"][0]["amount"] == "363.24"
    responses = await asyncio.gather(*[callback(http, settings, bank_message(form, "success")) for _ in range(50)])
    assert [r.status_code for r in responses] == [200] * 50
    after = (await gql(SCREEN))["data"]["viewer"]["personalAccounts"][0]
    assert after["debt"]["categories"][0]["amount"] == "0.00"
    assert {e["node"]["status"] for e in after["bills"]["edges"]} == {"PAID"}
    assert after["internetPayments"]["edges"][0]["node"]["status"] == "PROCESSED"
    assert Decimal(after["payments"]["totalAmount"]) - Decimal(before["payments"]["totalAmount"]) == Decimal("363.24")
    async with db.sessions() as s:
        credits = (
            await s.execute(
                select(func.count())
                .select_from(Payment)
                .where(Payment.internet_payment_id.is_not(None), Payment.amount == Decimal("363.24"))
            )
        ).scalar_one()
        stored = (await s.execute(select(func.count()).select_from(BankCallback))).scalar_one()
        mails = (
            await s.execute(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "payment_processed")
            )
        ).scalar_one()
    assert (credits, stored, mails) == (1, 50, 1)
    # Once final, the same key gives the payment and no form.
    assert (await started(gql, account, amount="363.24"))["checkout"] is None


async def _payment(db):
    async with db.sessions() as s:
        p = (await s.execute(select(InternetPayment).order_by(InternetPayment.id.desc()).limit(1))).scalar_one()
        credits = (
            await s.execute(
                select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.internet_payment_id == p.id)
            )
        ).scalar_one()
    return p.status.value, credits


@pytest.mark.parametrize(
    ("sequence", "final_status", "credited"),
    [
        (["wait_secure"], "PENDING", Decimal("0")),
        (["wait_secure", "success"], "PROCESSED", Decimal("100.00")),
        (["failure"], "FAILED", Decimal("0")),
        (["failure", "success"], "PROCESSED", Decimal("100.00")),  # late success after FAILED: the card was charged
        (["success", "failure"], "PROCESSED", Decimal("100.00")),  # reordered: a stale failure changes nothing
        (["success", "wait_secure"], "PROCESSED", Decimal("100.00")),
        (["success", "reversed"], "REVERSED", Decimal("0.00")),
        (["success", "reversed", "success"], "REVERSED", Decimal("0.00")),
        (["sandbox"], "CREATED", Decimal("0")),  # not a sandbox deployment
    ],
)
async def test_state_machine(account, gql, http, settings, db, sequence, final_status, credited):
    form = form_params((await started(gql, account))["checkout"])
    for status in sequence:
        assert (await callback(http, settings, bank_message(form, status))).status_code == 200
    assert await _payment(db) == (final_status, credited)


@pytest.mark.parametrize(
    ("mutate", "expected_status"),
    [
        (lambda p: {**p, "amount": 1.0}, 400),  # a genuine signature over another amount
        (lambda p: {**p, "amount": 100.004}, 400),  # rounds to the order's 100.00, is not it
        (lambda p: {**p, "amount": "99.995"}, 400),
        (lambda p: {**p, "currency": "USD"}, 400),
        (lambda p: {**p, "order_id": "uens-999999999"}, 404),
        (lambda p: {**p, "order_id": "something-else"}, 404),
        (lambda p: {**p, "public_key": "someone-else"}, 400),
    ],
)
async def test_altered_and_unknown_callbacks_credit_nothing(account, gql, http, settings, db, mutate, expected_status):
    form = form_params((await started(gql, account))["checkout"])
    response = await callback(http, settings, mutate(bank_message(form, "success")))
    assert response.status_code == expected_status
    assert await _payment(db) == ("CREATED", 0)


async def test_forged_and_malformed_callbacks_are_refused_and_kept(account, gql, http, settings, db):
    form = form_params((await started(gql, account))["checkout"])
    forged = await callback(http, settings, bank_message(form, "success"), signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    data, signature = signed_pair(liqpay_keys(settings), bank_message(form, "success"))
    tampered = await http.post("/payments/liqpay/callback", data={"data": data[:-4] + "AAAA", "signature": signature})
    empty = await http.post("/payments/liqpay/callback", content=b"garbage", headers={"content-type": "text/plain"})
    assert [forged.status_code, tampered.status_code, empty.status_code] == [400, 400, 400]
    assert await _payment(db) == ("CREATED", 0)
    async with db.sessions() as s:
        kept = (await s.execute(select(BankCallback.verified))).scalars().all()
    assert kept == [False, False, False]


async def test_the_browsers_return_never_credits(account, gql, http, settings, db):
    form = form_params((await started(gql, account))["checkout"])
    data, signature = signed_pair(liqpay_keys(settings), bank_message(form, "success"))
    result_url = form["result_url"].removeprefix(settings.public_url)
    page = await http.post(result_url, data={"data": data, "signature": signature})
    # The page says what the cabinet knows: the bank has not called back, so no thanks yet.
    assert page.status_code == 200 and "Очікуємо відповідь банку" in page.text and "Дякуємо" not in page.text
    assert await _payment(db) == ("CREATED", 0)


async def test_a_payment_for_a_bill_pays_that_bill_first(account, gql, http, settings):
    screen = await gql(
        """{ viewer { personalAccounts { bills(first: 1) { edges { node { id number status } } } } } }"""
    )
    newest = screen["data"]["viewer"]["personalAccounts"][0]["bills"]["edges"][0]["node"]
    result = (
        await gql(
            START,
            {
                "input": {
                    "personalAccountId": account,
                    "billId": newest["id"],
                    "amount": "60.27",
                    "idempotencyKey": "bill",
                }
            },
        )
    )["data"]["paymentStart"]
    assert result["payment"]["bill"] == {"number": newest["number"]} and result["payment"]["category"] == "ELECTRICITY"
    await callback(http, settings, bank_message(form_params(result["checkout"]), "success"))
    after = (await gql(SCREEN))["data"]["viewer"]["personalAccounts"][0]["bills"]["edges"]
    assert after[0]["node"] == {"number": newest["number"], "status": "PAID", "amountDue": "0.00"}
    # Paid once: that bill cannot be started again.
    again = await gql(
        START,
        {"input": {"personalAccountId": account, "billId": newest["id"], "amount": "1.00", "idempotencyKey": "bill2"}},
    )
    assert again["data"]["paymentStart"]["code"] == "NOTHING_TO_PAY"


async def test_someone_elses_personal_account_or_bill_is_not_found(account, gql):
    await gql.sign_in("zakharov", DEMO_PASSWORD)
    result = (await gql(START, start_input(account)))["data"]["paymentStart"]
    assert (result["code"], result["fields"]) == (
        "NOT_FOUND",
        [{"path": ["input", "personalAccountId"], "code": "NOT_FOUND"}],
    )


PURPOSES = {
    "ELECTRICITY": "Оплата за електроенергію",
    "ELECTRICITY_SCHEDULE": "Оплата за електроенергію за графіком погашення заборгованості",
    "ACTS": "Оплата за актом про порушення",
    "ACTS_SCHEDULE": "Оплата за актом про порушення за графіком погашення заборгованості",
    "SERVICES": "Оплата за послуги",
}
RECEIPT = "query($id: ID!) { node(id: $id) { ... on InternetPayment { status receiptUrl } } }"


async def test_the_bank_form_and_the_receipt_name_the_category_the_personal_account_and_the_bill(
    db, settings, gql, http
):
    """Each category's own purpose, not «за електроенергію» for all; the bill number when one is chosen."""
    await demo_basics(db, settings)
    kinds = {
        "ELECTRICITY": BillKind.CONSUMPTION,
        "ELECTRICITY_SCHEDULE": BillKind.INSTALLMENT,
        "ACTS": BillKind.ACT,
        "ACTS_SCHEDULE": BillKind.INSTALLMENT,
        "SERVICES": BillKind.SERVICE,
    }
    bills = {}
    async with db.transaction() as s:
        pa = await personal_account_make(s, number="8000002", login="lysenko")
        for i, (category, kind) in enumerate(kinds.items()):
            bills[category] = (
                71_000_001 + i,
                (
                    await s.execute(
                        insert(Bill)
                        .values(
                            personal_account_id=pa,
                            number=71_000_001 + i,
                            category=ChargeCategory(category),
                            kind=kind,
                            issued_on=dt.date(2014, 5, 1),
                            amount=Decimal("50.00"),
                            source=RecordSource.IMPORT,
                        )
                        .returning(Bill.id)
                    )
                ).scalar_one(),
            )
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    account = global_id("PersonalAccount", pa)

    for category in PURPOSES:
        result = await started(gql, account, amount="10.00", key=f"{category}-any", category=category)
        form = form_params(result["checkout"])
        assert form["description"] == f"{PURPOSES[category]}, о/р 8000002, платіж № {result['payment']['number']}"
        await callback(http, settings, bank_message(form, "failure"))  # closed, so the next start may run

    for category, (number, bill_id) in bills.items():
        variables = {
            "input": {
                "personalAccountId": account,
                "billId": global_id("Bill", bill_id),
                "amount": "10.00",
                "idempotencyKey": f"{category}-bill",
            }
        }
        result = (await gql(START, variables))["data"]["paymentStart"]
        assert result["__typename"] == "PaymentStartSuccess", result
        form = form_params(result["checkout"])
        purpose = f"{PURPOSES[category]}, о/р 8000002, рахунок № {number}"
        assert form["description"] == f"{purpose}, платіж № {result['payment']['number']}"
        await callback(http, settings, bank_message(form, "success"))
        url = (await gql(RECEIPT, {"id": result["payment"]["id"]}))["data"]["node"]["receiptUrl"]
        text = pdf_text((await http.get(path_of(url))).content)
        assert f"Призначення платежу {purpose}" in text, (category, text)
