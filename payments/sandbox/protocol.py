"""The sandbox bank's protocol: LiqPay's checkout and request APIs, the card page's buttons,
the switches and order views, as Starlette endpoints over one SandboxBank."""

from __future__ import annotations

import datetime as dt
import html
import json
import secrets
from dataclasses import asdict
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from config import Settings
from kyiv import kyiv_date
from money import whole_kopecks
from payments.liqpay import SignatureInvalid, pair_verify
from payments.sandbox.cards import card_check
from payments.sandbox.pages import card_page, final_page, page, refusal, secure_page
from payments.sandbox.state import Order, SandboxBank
from payments.sandbox.switches import SWITCH_NAMES, SwitchError, switches_parse

MAX_BODY = 256 * 1024
CURRENCIES = {"UAH", "USD", "EUR"}

# What the buttons do: (the state they start from, the bank status they set).
PRESSES: dict[str, tuple[tuple[str | None, ...], str]] = {
    "pay": ((None,), "success"),
    "decline": ((None,), "failure"),
    "3ds": ((None,), "wait_secure"),
    "confirm": (("wait_secure",), "success"),
    "cancel": (("wait_secure",), "failure"),
}


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_BODY:
        return {}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def _http_url(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 2000:
        return None
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def _expiry(value: Any) -> dt.datetime | None:
    """LiqPay's expired_date: "YYYY-MM-DD HH:MM:SS" in UTC."""
    return dt.datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)


class SandboxProtocol:
    """The endpoints, over one bank's memory."""

    def __init__(self, bank: SandboxBank) -> None:
        self.bank = bank

    def query_switches(self, request: Request) -> dict[str, Any]:
        return switches_parse({k: v for k, v in request.query_params.items() if k in SWITCH_NAMES})

    async def checkout(self, request: Request) -> Response:
        form = await _form(request)
        try:
            params = pair_verify(self.bank.keys, form.get("data", ""), form.get("signature", ""))
        except SignatureInvalid:
            return refusal("Підпис запиту не збігається: сторінку оплати відкрито не з кабінету.")
        try:
            switches = self.query_switches(request)
        except SwitchError as error:
            return refusal(f"Перемикачі пісочниці: {error}")
        if params.get("public_key") != self.bank.keys.public_key:
            return refusal("Невідомий продавець (public_key).")
        if params.get("action") != "pay" or str(params.get("version")) != "3":
            return refusal("Пісочниця приймає лише action=pay, version=3.")
        order_id = params.get("order_id")
        if not isinstance(order_id, str) or not 1 <= len(order_id) <= 255:
            return refusal("Немає номера замовлення (order_id).")
        try:
            amount = Decimal(str(params.get("amount")))
        except InvalidOperation:
            amount = Decimal(0)
        if not whole_kopecks(amount) or amount <= 0:
            return refusal("Неправильна сума (amount).")
        currency = params.get("currency")
        if currency not in CURRENCIES:
            return refusal("Неправильна валюта (currency).")
        urls = {name: params.get(name) for name in ("server_url", "result_url")}
        if any(value is not None and _http_url(value) is None for value in urls.values()):
            return refusal("server_url і result_url мають бути адресами http(s).")
        expires_at: dt.datetime | None = None
        if params.get("expired_date") is not None:
            try:
                expires_at = _expiry(params["expired_date"])
            except ValueError:
                return refusal("Неправильний термін дії (expired_date): очікується РРРР-ММ-ДД ГГ:ХХ:СС (UTC).")
            if expires_at is not None and expires_at <= self.bank.now():
                return refusal("Термін дії платежу минув. Почніть оплату в кабінеті ще раз.", status=410)

        order = self.bank.orders.get(order_id)
        if order is not None and order.data != form["data"]:
            return refusal("Замовлення з таким номером уже є, з іншими даними.", status=409)
        if order is None:
            order = Order(
                order_id=order_id,
                amount=amount,
                currency=currency,
                description=str(params.get("description") or "")[:500],
                server_url=urls["server_url"],
                result_url=urls["result_url"],
                expires_at=expires_at,
                data=form["data"],
                token=secrets.token_urlsafe(16),
                create_date=self.bank.now_ms(),
            )
            self.bank.remember(order)
        if switches:
            self.bank.switches[order_id] = {**self.bank.switches.get(order_id, {}), **switches}
        if order.status == "wait_secure":
            return secure_page(request, order)
        if order.status is not None:
            return final_page(order, already=True)
        return card_page(request, order)

    async def press(self, request: Request) -> Response:
        order = self.bank.orders.get(request.path_params["order_id"])
        form = await _form(request)
        if order is None or not secrets.compare_digest(form.get("token", ""), order.token):
            return refusal("Невідоме замовлення: відкрийте оплату з кабінету ще раз.", status=404)
        try:
            switches = self.query_switches(request)
        except SwitchError as error:
            return refusal(f"Перемикачі пісочниці: {error}")
        action = form.get("action", "pay")
        if action not in PRESSES:
            return refusal("Невідома дія.")
        starts, status = PRESSES[action]
        if order.status not in starts:
            # "Press pay only once": the same press again just goes back; anything else is too late.
            if order.status == status and order.result_url:
                return RedirectResponse(order.result_url, status_code=303)
            if order.status == "wait_secure" and action == "3ds":
                return secure_page(request, order)
            return final_page(order, already=True)
        if order.expires_at is not None and order.expires_at <= self.bank.now():
            return refusal("Термін дії платежу минув. Почніть оплату в кабінеті ще раз.", status=410)
        if action in ("pay", "3ds"):
            errors, mask = card_check(form, kyiv_date(self.bank.now()))
            if errors:
                return card_page(request, order, form, errors)
            order.card_mask, order.is_3ds = mask, action == "3ds"
        elif action == "decline":
            order.card_mask = card_check(form, kyiv_date(self.bank.now()))[1]
        if switches:
            self.bank.switches[order.order_id] = {**self.bank.switches.get(order.order_id, {}), **switches}
        # No await between the check above and this: two quick presses cannot both pass.
        self.bank.move(order, status)
        deliver, sync = self.bank.delivery(order, status)
        if sync:
            await deliver()
        background = None if sync else BackgroundTask(deliver)
        if status == "wait_secure":
            response = secure_page(request, order)
            response.background = background
            return response
        if order.result_url:
            return RedirectResponse(order.result_url, status_code=303, background=background)
        response = final_page(order, already=False)
        response.background = background
        return response

    async def api_request(self, request: Request) -> Response:
        form = await _form(request)
        try:
            params = pair_verify(self.bank.keys, form.get("data", ""), form.get("signature", ""))
        except SignatureInvalid:
            return JSONResponse(
                {
                    "result": "error",
                    "status": "error",
                    "err_code": "invalid_signature",
                    "err_description": "invalid signature",
                },
                status_code=400,
            )
        if params.get("public_key") != self.bank.keys.public_key:
            return JSONResponse(
                {
                    "result": "error",
                    "status": "error",
                    "err_code": "public_key_not_found",
                    "err_description": "unknown public_key",
                },
                status_code=400,
            )
        action = params.get("action")
        order_id = params.get("order_id")
        order = self.bank.orders.get(order_id) if isinstance(order_id, str) else None
        if action not in ("status", "refund"):
            return JSONResponse({"result": "error", "status": "error", "err_code": "invalid_action"}, status_code=400)
        # An order whose page was opened but never paid has no payment yet, as at LiqPay.
        if order is None or order.status is None:
            return JSONResponse(
                {
                    "result": "error",
                    "status": "error",
                    "err_code": "payment_not_found",
                    "err_description": "payment not found",
                }
            )
        background = None
        if action == "refund":
            if order.status != "success":
                return JSONResponse(
                    {
                        "result": "error",
                        "status": "error",
                        "err_code": "refund_not_allowed",
                        "err_description": f"payment is {order.status}",
                    }
                )
            self.bank.move(order, "reversed")
            deliver, sync = self.bank.delivery(order, "reversed")
            if sync:
                await deliver()
            else:
                background = BackgroundTask(deliver)
        body = {"result": "ok", **self.bank.message(order, order.status, order.end_date)}
        return JSONResponse(body, background=background)

    async def switches_endpoint(self, request: Request) -> Response:
        if request.method == "POST":
            body = await request.body()
            try:
                if len(body) > MAX_BODY:
                    raise SwitchError("too large")
                raw = json.loads(body or b"null")
                if not isinstance(raw, dict):
                    raise SwitchError('expected {"<order_id>" or "*": {switch: value}}')
                parsed = {key: switches_parse(value) for key, value in raw.items()}
            except (ValueError, SwitchError) as error:  # JSONDecodeError is a ValueError
                return JSONResponse({"error": str(error)}, status_code=400)
            for key, value in parsed.items():
                if value:
                    self.bank.switches[key] = value
                else:
                    self.bank.switches.pop(key, None)
        return JSONResponse(self.bank.switches)

    async def order_view(self, request: Request) -> Response:
        order = self.bank.orders.get(request.path_params["order_id"])
        if order is None:
            return JSONResponse({"error": "unknown order"}, status_code=404)
        return JSONResponse({**order.public(), "switches": asdict(self.bank.switches_for(order.order_id))})

    async def index(self, request: Request) -> Response:
        root = html.escape(request.scope.get("root_path", ""))
        body = (
            "<h1>Пісочниця банку</h1>"
            "<p>Тестовий банк за протоколом LiqPay. Кабінет надсилає сюди форму оплати "
            f"(<code>POST {root}/api/3/checkout</code>), банк повертає підписаний callback.</p>"
            "<p>Тестова картка: 4242 4242 4242 4242, будь-який майбутній термін і CVV2. "
            "Кнопки: «Сплатити» — успіх, «Відхилити» — відмова, «3-D Secure» — очікування підтвердження.</p>"
            f"<p>Статус платежу: <code>POST {root}/api/request</code> (action=status або refund). "
            f"Перемикачі (duplicate, late, reordered, forged, silent, sync): <code>POST {root}/sandbox/switches</code>, "
            f"зараз: <code>{html.escape(json.dumps(self.bank.switches, ensure_ascii=False))}</code>.</p>"
        )
        return page("Як користуватися", body)


def sandbox_bank_app(settings: Settings) -> Starlette:
    bank = SandboxBank(settings)
    protocol = SandboxProtocol(bank)
    app = Starlette(
        routes=[
            Route("/", protocol.index, methods=["GET"]),
            Route("/api/3/checkout", protocol.checkout, methods=["POST"]),
            Route("/checkout/{order_id}", protocol.press, methods=["POST"]),
            Route("/api/request", protocol.api_request, methods=["POST"]),
            Route("/sandbox/switches", protocol.switches_endpoint, methods=["GET", "POST"]),
            Route("/sandbox/orders/{order_id}", protocol.order_view, methods=["GET"]),
        ]
    )
    app.state.bank = bank
    return app
