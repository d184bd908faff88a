"""The sandbox bank over real HTTP: the cabinet (with the bank mounted) under uvicorn, the bank
calling the cabinet back at its own public_url, the API read over HTTP as a client would.

Most tests set the `sync` switch so a press returns after its callbacks were answered; the
plain success test and `late` go through the background delivery and wait for the API.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import re
import time
from decimal import Decimal
from html import unescape

import httpx
import pytest
from sqlalchemy import select

from models import BankCallback, InternetPayment, Payment
from payments.liqpay import LiqPayKeys, signed_pair
from payments.sandbox import SwitchError, card_check, luhn_ok, money, switches_parse
from resolvers.ids import global_id
from services.card_payments import liqpay_keys
from services.demo import DEMO_PASSWORD, demo_basics
from tests.builders import history_make, personal_account_make
from tests.live import cabinet_served

START = """mutation($input: PaymentStartInput!) { paymentStart(input: $input) {
  __typename
  ... on PaymentStartSuccess { payment { id number status } checkout { url method fields { name value } } }
  ... on Error { code } } }"""
SCREEN = """query($id: ID!) { viewer { personalAccounts { number debt { categories { category amount } } } }
  node(id: $id) { ... on InternetPayment { status } } }"""
CARD = {"card": "4242 4242 4242 4242", "exp": "12/30", "cvv": "123"}


@pytest.fixture
def bank(settings):
    """The cabinet with its sandbox bank, over HTTP; public_url is its own address."""
    with cabinet_served(settings) as url:
        yield url


@pytest.fixture
async def http(bank):
    """Overrides the ASGI client of tests/conftest.py: `gql` now talks to the live server."""
    async with httpx.AsyncClient(base_url=bank, trust_env=False, timeout=30) as client:
        yield client


@pytest.fixture
async def account(db, settings, gql):
    """Twelve unpaid bills of 60.27 less 30.00 paid a month: debt 363.24 (as in test_card_payments)."""
    await demo_basics(db, settings)
    async with db.transaction() as s:
        pa = await personal_account_make(s, number="8000001", login="lysenko")
        await history_make(s, personal_account_id=pa, bills=12, start_number=70_000_000)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    return global_id("PersonalAccount", pa)


class Checkout:
    """paymentStart's form, decoded."""

    def __init__(self, payload: dict) -> None:
        self.number = payload["payment"]["number"]
        self.payment_id = payload["payment"]["id"]
        self.url = payload["checkout"]["url"]
        self.fields = {f["name"]: f["value"] for f in payload["checkout"]["fields"]}
        self.params = json.loads(base64.b64decode(self.fields["data"]))
        self.order_id = self.params["order_id"]


async def start(gql, pa, amount="100.00", key="k1") -> Checkout:
    result = await gql(
        START, {"input": {"personalAccountId": pa, "category": "ELECTRICITY", "amount": amount, "idempotencyKey": key}}
    )
    payload = result["data"]["paymentStart"]
    assert payload["__typename"] == "PaymentStartSuccess", payload
    return Checkout(payload)


def base(http: httpx.AsyncClient) -> str:
    return str(http.base_url).rstrip("/")


async def card_page(http, checkout: Checkout, query: str = "") -> httpx.Response:
    """What the browser's auto-submitted form gets: the bank's card page."""
    return await http.post(checkout.url + query, data=checkout.fields)


def form_of(page: httpx.Response) -> tuple[str, str]:
    """The page form's action and token."""
    action = unescape(re.search(r"<form method='post' action='([^']+)'", page.text).group(1))
    token = re.search(r"name='token' value='([^']+)'", page.text).group(1)
    return action, token


async def press(http, page: httpx.Response, action: str, card: dict | None = None) -> httpx.Response:
    url, token = form_of(page)
    return await http.post(url, data={"token": token, "action": action, **(card or {})})


async def pay(http, checkout: Checkout, action: str = "pay", query: str = "?sync=1") -> httpx.Response:
    page = await card_page(http, checkout, query)
    assert page.status_code == 200, page.text
    return await press(http, page, action, CARD)


async def switches(http, body: dict) -> httpx.Response:
    return await http.post("/sandbox-bank/sandbox/switches", json=body)


async def bank_order(http, order_id: str) -> dict:
    response = await http.get(f"/sandbox-bank/sandbox/orders/{order_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def screen(gql, checkout: Checkout) -> tuple[str, str]:
    """(debt for electricity, the card payment's status) as the API shows them."""
    data = (await gql(SCREEN, {"id": checkout.payment_id}))["data"]
    ours = next(pa for pa in data["viewer"]["personalAccounts"] if pa["number"] == "8000001")
    categories = ours["debt"]["categories"]
    return next(c["amount"] for c in categories if c["category"] == "ELECTRICITY"), data["node"]["status"]


async def eventually(gql, checkout: Checkout, status: str, timeout: float = 15.0) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        seen = await screen(gql, checkout)
        if seen[1] == status or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.1)


async def credits_and_callbacks(db, number: int) -> tuple[list[Decimal], list[tuple[bool, str]]]:
    async with db.sessions() as s:
        payment_id = (await s.execute(select(InternetPayment.id).where(InternetPayment.number == number))).scalar_one()
        credits = (
            (
                await s.execute(
                    select(Payment.amount).where(Payment.internet_payment_id == payment_id).order_by(Payment.id)
                )
            )
            .scalars()
            .all()
        )
        kept = (
            await s.execute(select(BankCallback.verified, BankCallback.bank_status).order_by(BankCallback.id))
        ).all()
    return list(credits), [tuple(row) for row in kept]


async def status_api(http, keys: LiqPayKeys, params: dict, *, signature: str | None = None) -> httpx.Response:
    data, good = signed_pair(keys, params)
    return await http.post("/sandbox-bank/api/request", data={"data": data, "signature": signature or good})


# ---------------------------------------------------------------- the card page


async def test_the_card_page_shows_the_order_and_keeps_to_itself(account, gql, http):
    checkout = await start(gql, account, amount="1870.54")
    assert checkout.url == f"{base(http)}/sandbox-bank/api/3/checkout"
    assert checkout.params["sandbox"] == 1

    page = await card_page(http, checkout)

    assert page.status_code == 200
    text = page.text
    assert "1 870,54 грн" in text and checkout.order_id in text and "Оплата за електроенергію" in text
    for label in ("Номер картки", "Термін дії", "CVV2", ">Сплатити<", ">Відхилити<", ">3-D Secure<", "лише один раз"):
        assert label in text, label
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "form-action 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    # The same form posted again (a refresh) shows the same page; nothing was paid.
    again = await card_page(http, checkout)
    assert form_of(again) == form_of(page)
    assert (await bank_order(http, checkout.order_id))["status"] is None


async def test_checkout_refuses_forged_expired_foreign_and_clashing_forms(account, gql, http, settings):
    checkout = await start(gql, account)
    keys = liqpay_keys(settings)
    forged = await http.post(checkout.url, data={**checkout.fields, "signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="})
    # A minute ago on the clock the cabinet and its bank share (the pinned business day).
    past = (settings.now() - dt.timedelta(minutes=1)).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    expired_data, expired_sig = signed_pair(keys, {**checkout.params, "order_id": "uens-1", "expired_date": past})
    expired = await http.post(checkout.url, data={"data": expired_data, "signature": expired_sig})
    other_data, other_sig = signed_pair(keys, {**checkout.params, "public_key": "someone-else"})
    foreign = await http.post(checkout.url, data={"data": other_data, "signature": other_sig})
    assert (await card_page(http, checkout)).status_code == 200
    clash_data, clash_sig = signed_pair(keys, {**checkout.params, "amount": "1.00"})
    clash = await http.post(checkout.url, data={"data": clash_data, "signature": clash_sig})

    assert [forged.status_code, expired.status_code, foreign.status_code, clash.status_code] == [400, 410, 400, 409]
    assert "Підпис" in forged.text and "Термін дії платежу минув" in expired.text
    assert "default-src 'none'" in forged.headers["content-security-policy"]
    assert (await http.get("/sandbox-bank/sandbox/orders/uens-1")).status_code == 404


async def test_card_fields_are_checked_on_the_server_too(account, gql, http, db):
    checkout = await start(gql, account)
    page = await card_page(http, checkout, "?sync=1")

    bad_luhn = await press(http, page, "pay", {**CARD, "card": "4242 4242 4242 4241"})
    short = await press(http, page, "pay", {"card": "4242", "exp": "13/30", "cvv": "12"})
    old_card = await press(http, page, "3ds", {**CARD, "exp": "01/14"})

    assert [bad_luhn.status_code, short.status_code, old_card.status_code] == [422, 422, 422]
    assert "не сходиться контрольна цифра" in bad_luhn.text
    assert "16 цифр" in short.text and "ММ/РР" in short.text and "три цифри" in short.text
    assert "Термін дії картки минув" in old_card.text
    assert "4242 4242 4242 4241" in bad_luhn.text and "aria-invalid='true'" in bad_luhn.text
    order = await bank_order(http, checkout.order_id)
    assert (order["status"], order["callbacks"]) == (None, [])
    assert await credits_and_callbacks(db, checkout.number) == ([], [])


def test_card_check_and_luhn():
    today = dt.date(2025, 6, 15)
    assert card_check(CARD, today) == ({}, "424242*42")
    assert card_check({**CARD, "exp": "06/25"}, today)[0] == {}
    assert set(card_check({**CARD, "exp": "05/25"}, today)[0]) == {"exp"}
    assert set(card_check({"card": "４２４２４２４２４２４２４２４２", "exp": "1/30", "cvv": "1234"}, today)[0]) == {
        "card",
        "exp",
        "cvv",
    }
    assert luhn_ok("4242424242424242") and luhn_ok("5555555555554444") and not luhn_ok("4242424242424243")
    assert money(Decimal("1870.54"), "UAH") == "1 870,54 грн"


# ---------------------------------------------------------------- the buttons


async def test_pay_calls_back_in_the_background_and_the_debt_goes_down(account, gql, http, db):
    checkout = await start(gql, account)
    assert await screen(gql, checkout) == ("363.24", "CREATED")

    response = await pay(http, checkout, query="")

    assert response.status_code == 303
    assert response.headers["location"] == checkout.params["result_url"]
    assert response.headers["location"].startswith(f"{base(http)}/payments/return?payment=")
    assert await eventually(gql, checkout, "PROCESSED") == ("263.24", "PROCESSED")
    order = await bank_order(http, checkout.order_id)
    while not order["callbacks"]:  # the bank notes the answer just after the cabinet committed
        await asyncio.sleep(0.05)
        order = await bank_order(http, checkout.order_id)
    assert order["status"] == "success" and order["sender_card_mask2"] == "424242*42"
    assert isinstance(order["payment_id"], int) and order["end_date"] >= order["create_date"]
    assert order["callbacks"] == [{"status": "success", "sent": True, "forged": False, "http_status": 200}]
    # "Press pay only once": a second press goes back again and sends nothing more.
    page = await card_page(http, checkout)
    assert page.status_code == 409 and "Платіж уже оброблено" in page.text
    assert (await credits_and_callbacks(db, checkout.number)) == ([Decimal("100.00")], [(True, "success")])


async def test_the_return_page_answers_before_a_slow_callback(account, gql, http):
    checkout = await start(gql, account)
    response = await pay(http, checkout, query="?late=1.5")
    assert response.status_code == 303
    assert await screen(gql, checkout) == ("363.24", "CREATED")  # not yet
    assert await eventually(gql, checkout, "PROCESSED") == ("263.24", "PROCESSED")


async def test_decline_fails_the_payment(account, gql, http, db):
    checkout = await start(gql, account)
    page = await card_page(http, checkout, "?sync=1")
    response = await press(http, page, "decline")  # no card needed to decline
    assert response.status_code == 303
    assert await screen(gql, checkout) == ("363.24", "FAILED")
    assert (await credits_and_callbacks(db, checkout.number)) == ([], [(True, "failure")])


@pytest.mark.parametrize(
    ("answer", "final", "debt"), [("confirm", "PROCESSED", "263.24"), ("cancel", "FAILED", "363.24")]
)
async def test_3ds_waits_then_confirm_or_cancel(account, gql, http, answer, final, debt):
    checkout = await start(gql, account)
    secure = await pay(http, checkout, action="3ds")

    assert secure.status_code == 200 and "Підтвердження 3-D Secure" in secure.text and "424242*42" in secure.text
    assert await screen(gql, checkout) == ("363.24", "PENDING")
    again = await card_page(http, checkout)  # back and forward: still the 3-D Secure page
    assert ">Підтвердити<" in again.text and ">Скасувати<" in again.text

    response = await press(http, secure, answer)

    assert response.status_code == 303
    assert await screen(gql, checkout) == (debt, final)
    statuses = [c["status"] for c in (await bank_order(http, checkout.order_id))["callbacks"]]
    assert statuses == ["wait_secure", "success" if answer == "confirm" else "failure"]


# ---------------------------------------------------------------- switches


async def test_duplicate_callbacks_credit_once(account, gql, http, db):
    checkout = await start(gql, account)
    assert (await switches(http, {checkout.order_id: {"duplicate": 3, "sync": True}})).status_code == 200
    await pay(http, checkout, query="")
    assert await screen(gql, checkout) == ("263.24", "PROCESSED")
    callbacks = (await bank_order(http, checkout.order_id))["callbacks"]
    assert [c["http_status"] for c in callbacks] == [200, 200, 200]
    assert await credits_and_callbacks(db, checkout.number) == ([Decimal("100.00")], [(True, "success")] * 3)


async def test_a_forged_callback_is_refused_and_kept(account, gql, http, db):
    checkout = await start(gql, account)
    await pay(http, checkout, query="?sync=1&forged=1")
    assert await screen(gql, checkout) == ("363.24", "CREATED")
    assert [(c["forged"], c["http_status"]) for c in (await bank_order(http, checkout.order_id))["callbacks"]] == [
        (True, 400)
    ]
    assert await credits_and_callbacks(db, checkout.number) == ([], [(False, None)])


@pytest.mark.parametrize("stale", ["wait_secure", "failure"])
async def test_a_stale_status_after_success_changes_nothing(account, gql, http, db, stale):
    checkout = await start(gql, account)
    await pay(http, checkout, query=f"?sync=1&reordered={stale}")
    assert await screen(gql, checkout) == ("263.24", "PROCESSED")
    callbacks = (await bank_order(http, checkout.order_id))["callbacks"]
    assert [(c["status"], c["http_status"]) for c in callbacks] == [("success", 200), (stale, 200)]
    assert await credits_and_callbacks(db, checkout.number) == ([Decimal("100.00")], [(True, "success"), (True, stale)])


async def test_silent_leaves_it_to_the_status_api_and_reconciliation(account, gql, http, db, settings):
    from workers.reconciliation import reconciliation_round

    checkout = await start(gql, account)
    await pay(http, checkout, query="?sync=1&silent=1")
    assert await screen(gql, checkout) == ("363.24", "CREATED")
    assert (await bank_order(http, checkout.order_id))["callbacks"] == [
        {"status": "success", "sent": False, "reason": "silent"}
    ]

    live = settings.model_copy(update={"public_url": base(http), "sandbox_bank": True})
    async with httpx.AsyncClient(trust_env=False) as client:
        later = dt.datetime.now(dt.UTC) + live.payment_poll_after
        results = await reconciliation_round(db=db, settings=live, client=client, now=later)

    assert list(results.values()) == ["credited after start"]
    assert await screen(gql, checkout) == ("263.24", "PROCESSED")


async def test_switches_api_checks_scopes_and_clears(account, gql, http):
    assert (await switches(http, {"*": {"late": 2, "duplicate": True}, "uens-9": {"reordered": True}})).json() == {
        "*": {"late": 2.0, "duplicate": 2},
        "uens-9": {"reordered": "wait_secure"},
    }
    for bad in ({"*": {"loud": True}}, {"*": {"late": -1}}, {"*": {"reordered": "success"}}, ["x"], {"*": 5}):
        response = await switches(http, bad)
        assert response.status_code == 400 and response.json()["error"], bad
    assert (await switches(http, {"*": None, "uens-9": {}})).json() == {}
    assert (await http.get("/sandbox-bank/sandbox/switches")).json() == {}
    checkout = await start(gql, account)
    bad_query = await card_page(http, checkout, "?late=forever")
    assert bad_query.status_code == 400 and "late" in bad_query.text


def test_switch_values():
    assert switches_parse({"duplicate": "1", "late": "0.5", "forged": "yes", "silent": 0, "sync": "true"}) == {
        "duplicate": 2,
        "late": 0.5,
        "forged": True,
        "silent": False,
        "sync": True,
    }
    assert switches_parse({"duplicate": 4, "reordered": "failure"}) == {"duplicate": 4, "reordered": "failure"}
    with pytest.raises(SwitchError):
        switches_parse({"duplicate": 11})
    with pytest.raises(SwitchError):
        switches_parse({"late": "nan"})


# ---------------------------------------------------------------- the status API


async def test_status_api_answers_for_known_and_unknown_orders(account, gql, http, settings):
    keys = liqpay_keys(settings)
    checkout = await start(gql, account)
    await card_page(http, checkout)

    def ask(order_id: str) -> dict:
        return {"action": "status", "version": 3, "public_key": keys.public_key, "order_id": order_id}

    opened = await status_api(http, keys, ask(checkout.order_id))  # the page was opened, nothing pressed
    await pay(http, checkout)
    known = await status_api(http, keys, ask(checkout.order_id))
    unknown = await status_api(http, keys, ask("uens-999999"))
    forged = await status_api(http, keys, ask(checkout.order_id), signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    foreign = await status_api(http, keys, {**ask(checkout.order_id), "public_key": "someone-else"})

    assert opened.json()["err_code"] == "payment_not_found"
    assert known.status_code == 200
    answer = known.json()
    order = await bank_order(http, checkout.order_id)
    assert {k: answer[k] for k in ("result", "status", "amount", "currency", "order_id", "payment_id", "end_date")} == {
        "result": "ok",
        "status": "success",
        "amount": 100.0,
        "currency": "UAH",
        "order_id": checkout.order_id,
        "payment_id": order["payment_id"],
        "end_date": order["end_date"],
    }
    assert (unknown.status_code, unknown.json()) == (
        200,
        {"result": "error", "status": "error", "err_code": "payment_not_found", "err_description": "payment not found"},
    )
    assert (forged.status_code, forged.json()["err_code"]) == (400, "invalid_signature")
    assert (foreign.status_code, foreign.json()["err_code"]) == (400, "public_key_not_found")


async def test_refund_reverses_the_payment(account, gql, http, settings, db):
    keys = liqpay_keys(settings)
    checkout = await start(gql, account)
    refund = {"action": "refund", "version": 3, "public_key": keys.public_key, "order_id": checkout.order_id}
    assert (await status_api(http, keys, refund)).json()["err_code"] == "payment_not_found"
    await pay(http, checkout)
    assert await screen(gql, checkout) == ("263.24", "PROCESSED")

    answer = (await status_api(http, keys, refund)).json()

    assert (answer["result"], answer["status"]) == ("ok", "reversed")
    assert await screen(gql, checkout) == ("363.24", "REVERSED")
    assert (await credits_and_callbacks(db, checkout.number))[0] == [Decimal("100.00"), Decimal("-100.00")]
    again = (await status_api(http, keys, refund)).json()
    assert (again["result"], again["err_code"]) == ("error", "refund_not_allowed")
