"""The sandbox bank: LiqPay's Checkout protocol on one machine (DESIGN §3 Payments).

A small Starlette app, mounted by the cabinet at /sandbox-bank when
`sandbox_bank` is on (`make run` turns it on). It speaks the same protocol as
LiqPay with the cabinet's own keys:

- `POST /api/3/checkout` (data, signature): the card page. Its buttons succeed
  («Сплатити»), fail («Відхилити») or wait for 3-D Secure («3-D Secure», then
  «Підтвердити» / «Скасувати»). Each press sends the signed callback to the
  order's `server_url` by real HTTP and sends the browser (303) to `result_url`.
- `POST /api/request` (data, signature): `action=status` answers like LiqPay's
  status API; `action=refund` reverses a successful payment and sends a
  `reversed` callback.
- `GET|POST /sandbox/switches`: misbehaviour on demand, per order or for all
  ("*"): `duplicate`, `late`, `reordered`, `forged`, `silent`, and `sync`
  (callbacks sent before the page answers, for tests). The same switches can
  be given as a query string to the checkout or to a button's form.
- `GET /sandbox/orders/{order_id}`: what the bank knows, with every callback it
  sent and the answer it got.

Orders live in memory only (a restart forgets them). Never turn this on in production.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import html
import itertools
import json
import logging
import math
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from config import KYIV, Settings
from payments.liqpay import LiqPayKeys, SignatureInvalid, pair_verify, signature_of, signed_pair

log = logging.getLogger("cabinet.sandbox_bank")

MAX_BODY = 256 * 1024
MAX_ORDERS = 10_000
CALLBACK_TIMEOUT = 10.0
CURRENCIES = {"UAH", "USD", "EUR"}
STALE_STATUSES = ("wait_secure", "failure", "processing")

# What the buttons do: (the state they start from, the bank status they set).
PRESSES: dict[str, tuple[tuple[str | None, ...], str]] = {
    "pay": ((None,), "success"),
    "decline": ((None,), "failure"),
    "3ds": ((None,), "wait_secure"),
    "confirm": (("wait_secure",), "success"),
    "cancel": (("wait_secure",), "failure"),
}
STATUS_WORDS = {
    None: "не сплачено",
    "success": "успішний",
    "failure": "відхилений",
    "wait_secure": "очікує підтвердження 3-D Secure",
    "reversed": "повернений",
}


# ---------------------------------------------------------------- switches


class SwitchError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Switches:
    duplicate: int = 1  # how many times each callback is sent (true = 2)
    late: float = 0.0  # seconds to wait before sending
    reordered: str | None = None  # a stale status sent after the final one (true = "wait_secure")
    forged: bool = False  # signed with a wrong key
    silent: bool = False  # no callback at all: only the status API tells
    sync: bool = False  # send before the page answers (tests)


SWITCH_NAMES = tuple(f.name for f in fields(Switches))
TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in TRUE | FALSE:
        return value.lower() in TRUE
    raise SwitchError(f"{name}: expected true or false")


def _switch_value(name: str, value: Any) -> Any:
    if name == "duplicate":
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and 2 <= value <= 10:
            return value
        return 2 if _flag(name, value) else 1
    if name == "late":
        if isinstance(value, bool):
            return 3.0 if value else 0.0
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise SwitchError("late: expected seconds (0 to 300)") from None
        if not math.isfinite(seconds) or not 0 <= seconds <= 300:
            raise SwitchError("late: expected seconds (0 to 300)")
        return seconds
    if name == "reordered":
        if isinstance(value, str) and value in STALE_STATUSES:
            return value
        return "wait_secure" if _flag(name, value) else None
    return _flag(name, value)


def switches_parse(raw: Any) -> dict[str, Any]:
    """Checked switches from JSON or a query string: {name: normalized value}."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SwitchError("switches must be an object")
    unknown = sorted(set(raw) - set(SWITCH_NAMES))
    if unknown:
        raise SwitchError(f"unknown switches {unknown}; known: {list(SWITCH_NAMES)}")
    return {name: _switch_value(name, value) for name, value in raw.items()}


# ---------------------------------------------------------------- orders


@dataclass(slots=True)
class Order:
    order_id: str
    amount: Decimal
    currency: str
    description: str
    server_url: str | None
    result_url: str | None
    expires_at: dt.datetime | None
    data: str  # the checkout's data, to recognise the same form posted again
    token: str  # the card page's form carries it
    create_date: int
    status: str | None = None  # the bank's status; None until a button is pressed
    payment_id: int | None = None
    end_date: int | None = None
    card_mask: str | None = None
    is_3ds: bool = False
    history: list[tuple[str, int]] = field(default_factory=list)  # (status, ms)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    last_delivery: asyncio.Event | None = None

    def public(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "status": self.status,
            "amount": float(self.amount),
            "currency": self.currency,
            "description": self.description,
            "payment_id": self.payment_id,
            "create_date": self.create_date,
            "end_date": self.end_date,
            "sender_card_mask2": self.card_mask,
            "history": [{"status": s, "date": ms} for s, ms in self.history],
            "callbacks": list(self.callbacks),
        }


class SandboxBank:
    """The bank's memory: orders, switches, the payment id sequence."""

    def __init__(self, settings: Settings) -> None:
        self.keys = LiqPayKeys(
            settings.liqpay_public_key, settings.liqpay_private_key.get_secret_value(), settings.liqpay_algorithm
        )
        # The cabinet's clock (config.Settings.now): with a pinned business date the bank's page,
        # its expiry checks and its times fall on that day too, as the cabinet's own records do.
        self.now = settings.now
        self.orders: dict[str, Order] = {}
        self.switches: dict[str, dict[str, Any]] = {}
        self.payment_ids = itertools.count(1_000_001)

    def switches_for(self, order_id: str) -> Switches:
        return replace(Switches(), **{**self.switches.get("*", {}), **self.switches.get(order_id, {})})

    def now_ms(self) -> int:
        return int(self.now().timestamp() * 1000)

    def remember(self, order: Order) -> None:
        while len(self.orders) >= MAX_ORDERS:
            self.orders.pop(next(iter(self.orders)))
        self.orders[order.order_id] = order

    def move(self, order: Order, status: str) -> None:
        if order.payment_id is None:
            order.payment_id = next(self.payment_ids)
        order.status = status
        order.end_date = self.now_ms()
        order.history.append((status, order.end_date))

    # -- callbacks

    def message(self, order: Order, status: str, end_date: int | None) -> dict[str, Any]:
        """The callback's parameters, as LiqPay sends them."""
        params: dict[str, Any] = {
            "version": 3,
            "public_key": self.keys.public_key,
            "action": "pay",
            "status": status,
            "type": "buy",
            "paytype": "card",
            "amount": float(order.amount),
            "currency": order.currency,
            "order_id": order.order_id,
            "payment_id": order.payment_id,
            "liqpay_order_id": f"SANDBOX{order.payment_id}",
            "description": order.description,
            "create_date": order.create_date,
            "end_date": end_date or self.now_ms(),
            "is_3ds": order.is_3ds,
        }
        if order.card_mask:
            params["sender_card_mask2"] = order.card_mask
        if status == "failure":
            params["err_code"] = "sandbox_declined"
            params["err_description"] = "Платіж відхилено в пісочниці банку"
        return params

    def delivery(self, order: Order, status: str) -> Any:
        """A coroutine function sending this status's callback(s), in press order per order.

        The order of presses is fixed now (synchronously), so a later press's callbacks never
        overtake an earlier one's, whatever `late` says; `reordered` is the way to get that.
        """
        switches = self.switches_for(order.order_id)
        messages = [self.message(order, status, order.end_date)] * switches.duplicate
        if switches.reordered and switches.reordered != status:
            stale_date = next((ms for s, ms in order.history if s == switches.reordered), order.create_date)
            messages.append(self.message(order, switches.reordered, stale_date))
        previous, done = order.last_delivery, asyncio.Event()
        order.last_delivery = done

        async def deliver() -> None:
            try:
                if previous is not None:
                    await previous.wait()
                if switches.silent or not order.server_url:
                    order.callbacks.append({"status": status, "sent": False, "reason": "silent" if switches.silent else "no server_url"})
                    return
                if switches.late:
                    await asyncio.sleep(switches.late)
                async with httpx.AsyncClient(timeout=CALLBACK_TIMEOUT, trust_env=False) as client:
                    for params in messages:
                        await self._post(client, order, params, forged=switches.forged)
            finally:
                done.set()

        return deliver, switches.sync

    async def _post(self, client: httpx.AsyncClient, order: Order, params: dict, *, forged: bool) -> None:
        data, signature = signed_pair(self.keys, params)
        if forged:
            signature = signature_of(replace(self.keys, private_key=self.keys.private_key + "-forged"), data)
        record: dict[str, Any] = {"status": params["status"], "sent": True, "forged": forged}
        try:
            response = await client.post(order.server_url, data={"data": data, "signature": signature})
            record["http_status"] = response.status_code
        except httpx.HTTPError as error:
            record["error"] = f"{type(error).__name__}: {error}"
        order.callbacks.append(record)
        log.info("sandbox bank callback %s %s -> %s", order.order_id, params["status"], record.get("http_status", record.get("error")))


# ---------------------------------------------------------------- helpers


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


def _origin(url: str | None) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _expiry(value: Any) -> dt.datetime | None:
    """LiqPay's expired_date: "YYYY-MM-DD HH:MM:SS" in UTC."""
    return dt.datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)


def money(amount: Decimal, currency: str) -> str:
    whole, cents = f"{amount:,.2f}".split(".")
    return f"{whole.replace(',', ' ')},{cents} {'грн' if currency == 'UAH' else currency}"


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_check(form: Mapping[str, str], today: dt.date) -> tuple[dict[str, str], str | None]:
    """Field errors (by field name) and the card's mask like 424242*42. Form only: no card is real."""
    errors: dict[str, str] = {}
    number = form.get("card", "").replace(" ", "").replace("-", "")
    if not (len(number) == 16 and number.isascii() and number.isdigit()):
        errors["card"] = "Номер картки — 16 цифр."
    elif not luhn_ok(number):
        errors["card"] = "Номер картки введено з помилкою (не сходиться контрольна цифра)."
    exp = form.get("exp", "").strip()
    month, _, year = exp.partition("/")
    if not (len(month) == 2 and len(year) == 2 and exp.isascii() and month.isdigit() and year.isdigit() and 1 <= int(month) <= 12):
        errors["exp"] = "Термін дії — у форматі ММ/РР, наприклад 12/30."
    elif (2000 + int(year), int(month)) < (today.year, today.month):
        errors["exp"] = "Термін дії картки минув."
    cvv = form.get("cvv", "")
    if not (len(cvv) == 3 and cvv.isascii() and cvv.isdigit()):
        errors["cvv"] = "CVV2 — три цифри."
    return errors, (None if "card" in errors else f"{number[:6]}*{number[-2:]}")


# ---------------------------------------------------------------- pages

STYLE = """
*{box-sizing:border-box}
body{margin:0;background:#eef1f5;color:#1d2733;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:30rem;margin:3rem auto;background:#fff;border-radius:12px;box-shadow:0 2px 14px rgba(20,40,70,.12);padding:1.75rem 2rem}
.badge{margin:0 0 1rem;padding:.45rem .7rem;border-radius:6px;background:#fff6d6;color:#6b5200;font-size:.85rem}
h1{margin:0 0 1rem;font-size:1.35rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0 0 1.25rem;font-size:.95rem}
dt{color:#5b6b7c}dd{margin:0}
.amount{font-size:1.3rem;font-weight:600}
label{display:block;margin:.8rem 0 .25rem;font-size:.9rem;color:#3a4a5b}
input{width:100%;padding:.6rem .7rem;border:1px solid #b9c4d0;border-radius:6px;font:inherit;letter-spacing:.04em}
input:focus{outline:2px solid #3d7be0;border-color:#3d7be0}
input[aria-invalid=true]{border-color:#c62828}
.row{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.error{margin:.25rem 0 0;color:#c62828;font-size:.85rem}
.errors{margin:0 0 1rem;padding:.6rem .8rem;border-radius:6px;background:#fdecea;color:#8e1c1c}
.hint,.note{color:#5b6b7c;font-size:.85rem}
.buttons{display:flex;flex-wrap:wrap;gap:.6rem;margin-top:1.25rem}
button{padding:.65rem 1.2rem;border-radius:6px;border:1px solid transparent;font:inherit;cursor:pointer}
.pay{background:#1f8a4c;color:#fff;font-weight:600}
.secure{background:#fff;border-color:#3d7be0;color:#24589f}
.decline{background:#fff;border-color:#b9c4d0;color:#5b2020}
a{color:#24589f}
"""


def _headers(result_url: str | None) -> dict[str, str]:
    """PAGE_HEADERS' policy, plus posting forms to this bank (and following its redirect to result_url)."""
    form_action = " ".join(x for x in ("'self'", _origin(result_url)) if x)
    return {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; "
            "base-uri 'none'; frame-ancestors 'none'"
        ),
    }


def page(title: str, body: str, *, status: int = 200, result_url: str | None = None) -> HTMLResponse:
    document = (
        "<!doctype html><html lang='uk'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)} — пісочниця банку</title><style>{STYLE}</style></head>"
        f"<body><main><p class='badge'>Пісочниця банку: гроші не списуються.</p>{body}</main></body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=_headers(result_url))


def refusal(message: str, status: int = 400) -> HTMLResponse:
    return page("Платіж неможливий", f"<h1>Платіж неможливий</h1><p>{html.escape(message)}</p>", status=status)


def _summary(order: Order) -> str:
    e = html.escape
    expires = (
        f"<dt>Сторінка дійсна до</dt><dd>{order.expires_at.astimezone(KYIV):%d.%m.%Y %H:%M}</dd>"
        if order.expires_at
        else ""
    )
    return (
        f"<dl><dt>Замовлення</dt><dd>{e(order.order_id)}</dd>"
        f"<dt>Призначення</dt><dd>{e(order.description)}</dd>"
        f"<dt>Сума</dt><dd class='amount'>{e(money(order.amount, order.currency))}</dd>{expires}</dl>"
    )


def _action(request: Request, order: Order) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return html.escape(f"{request.scope.get('root_path', '')}/checkout/{quote(order.order_id, safe='')}{query}")


def card_page(request: Request, order: Order, form: Mapping[str, str] | None = None, errors: Mapping[str, str] | None = None) -> HTMLResponse:
    e = html.escape
    form, errors = form or {}, errors or {}

    def field_(name: str, label: str, attrs: str, value: str = "") -> str:
        error = errors.get(name)
        return (
            f"<label for='{name}'>{label}</label>"
            f"<input id='{name}' name='{name}' {attrs} value='{e(value)}' required"
            + (f" aria-invalid='true' aria-describedby='{name}-error'>" if error else ">")
            + (f"<p class='error' id='{name}-error'>{e(error)}</p>" if error else "")
        )

    body = (
        "<h1>Оплата карткою</h1>"
        + _summary(order)
        + ("<p class='errors' role='alert'>Перевірте дані картки.</p>" if errors else "")
        + f"<form method='post' action='{_action(request, order)}'>"
        f"<input type='hidden' name='token' value='{e(order.token)}'>"
        + field_("card", "Номер картки", "inputmode='numeric' autocomplete='cc-number' maxlength='23' "
                 "pattern='[0-9 ]{16,23}' placeholder='0000 0000 0000 0000' autofocus", form.get("card", ""))
        + "<div class='row'><div>"
        + field_("exp", "Термін дії", "inputmode='numeric' autocomplete='cc-exp' maxlength='5' "
                 "pattern='(0[1-9]|1[0-2])/[0-9]{2}' placeholder='ММ/РР'", form.get("exp", ""))
        + "</div><div>"
        + field_("cvv", "CVV2", "type='password' inputmode='numeric' autocomplete='cc-csc' maxlength='3' "
                 "pattern='[0-9]{3}' placeholder='•••'")
        + "</div></div>"
        "<p class='hint'>CVV2 — три цифри на звороті картки, на смузі для підпису. "
        "Тестова картка: 4242 4242 4242 4242, будь-який майбутній термін і CVV2.</p>"
        "<div class='buttons'>"
        "<button class='pay' name='action' value='pay'>Сплатити</button>"
        "<button class='secure' name='action' value='3ds'>3-D Secure</button>"
        "<button class='decline' name='action' value='decline' formnovalidate>Відхилити</button>"
        "</div><p class='note'>Натискайте «Сплатити» лише один раз.</p></form>"
    )
    return page("Оплата карткою", body, status=422 if errors else 200, result_url=order.result_url)


def secure_page(request: Request, order: Order) -> HTMLResponse:
    e = html.escape
    body = (
        "<h1>Підтвердження 3-D Secure</h1>"
        + _summary(order)
        + f"<p>Банк, що випустив картку {e(order.card_mask or '')}, просить підтвердити платіж.</p>"
        f"<form method='post' action='{_action(request, order)}'>"
        f"<input type='hidden' name='token' value='{e(order.token)}'>"
        "<div class='buttons'>"
        "<button class='pay' name='action' value='confirm'>Підтвердити</button>"
        "<button class='decline' name='action' value='cancel'>Скасувати</button>"
        "</div></form>"
    )
    return page("Підтвердження 3-D Secure", body, result_url=order.result_url)


def final_page(order: Order, *, already: bool) -> HTMLResponse:
    e = html.escape
    title = "Платіж уже оброблено" if already else "Платіж оброблено"
    back = f"<p><a href='{e(order.result_url)}'>Повернутися до кабінету</a></p>" if order.result_url else ""
    body = f"<h1>{title}</h1>{_summary(order)}<p>Статус: {e(STATUS_WORDS.get(order.status, order.status or ''))}.</p>{back}"
    return page(title, body, status=409 if already else 200, result_url=order.result_url)


# ---------------------------------------------------------------- the app


def sandbox_bank_app(settings: Settings) -> Starlette:
    bank = SandboxBank(settings)

    def query_switches(request: Request) -> dict[str, Any]:
        return switches_parse({k: v for k, v in request.query_params.items() if k in SWITCH_NAMES})

    async def checkout(request: Request) -> Response:
        form = await _form(request)
        try:
            params = pair_verify(bank.keys, form.get("data", ""), form.get("signature", ""))
        except SignatureInvalid:
            return refusal("Підпис запиту не збігається: сторінку оплати відкрито не з кабінету.")
        try:
            switches = query_switches(request)
        except SwitchError as error:
            return refusal(f"Перемикачі пісочниці: {error}")
        if params.get("public_key") != bank.keys.public_key:
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
        if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            return refusal("Неправильна сума (amount).")
        currency = params.get("currency")
        if currency not in CURRENCIES:
            return refusal("Неправильна валюта (currency).")
        urls = {name: params.get(name) for name in ("server_url", "result_url")}
        if any(value is not None and _http_url(value) is None for value in urls.values()):
            return refusal("server_url і result_url мають бути адресами http(s).")
        expires_at = None
        if params.get("expired_date") is not None:
            try:
                expires_at = _expiry(params["expired_date"])
            except ValueError:
                return refusal("Неправильний термін дії (expired_date): очікується РРРР-ММ-ДД ГГ:ХХ:СС (UTC).")
            if expires_at <= bank.now():
                return refusal("Термін дії платежу минув. Почніть оплату в кабінеті ще раз.", status=410)

        order = bank.orders.get(order_id)
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
                create_date=bank.now_ms(),
            )
            bank.remember(order)
        if switches:
            bank.switches[order_id] = {**bank.switches.get(order_id, {}), **switches}
        if order.status == "wait_secure":
            return secure_page(request, order)
        if order.status is not None:
            return final_page(order, already=True)
        return card_page(request, order)

    async def press(request: Request) -> Response:
        order = bank.orders.get(request.path_params["order_id"])
        form = await _form(request)
        if order is None or not secrets.compare_digest(form.get("token", ""), order.token):
            return refusal("Невідоме замовлення: відкрийте оплату з кабінету ще раз.", status=404)
        try:
            switches = query_switches(request)
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
        if order.expires_at is not None and order.expires_at <= bank.now():
            return refusal("Термін дії платежу минув. Почніть оплату в кабінеті ще раз.", status=410)
        if action in ("pay", "3ds"):
            errors, mask = card_check(form, bank.now().astimezone(KYIV).date())
            if errors:
                return card_page(request, order, form, errors)
            order.card_mask, order.is_3ds = mask, action == "3ds"
        elif action == "decline":
            order.card_mask = card_check(form, bank.now().astimezone(KYIV).date())[1]
        if switches:
            bank.switches[order.order_id] = {**bank.switches.get(order.order_id, {}), **switches}
        # No await between the check above and this: two quick presses cannot both pass.
        bank.move(order, status)
        deliver, sync = bank.delivery(order, status)
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

    async def api_request(request: Request) -> Response:
        form = await _form(request)
        try:
            params = pair_verify(bank.keys, form.get("data", ""), form.get("signature", ""))
        except SignatureInvalid:
            return JSONResponse(
                {"result": "error", "status": "error", "err_code": "invalid_signature", "err_description": "invalid signature"},
                status_code=400,
            )
        if params.get("public_key") != bank.keys.public_key:
            return JSONResponse(
                {"result": "error", "status": "error", "err_code": "public_key_not_found", "err_description": "unknown public_key"},
                status_code=400,
            )
        action = params.get("action")
        order = bank.orders.get(params.get("order_id")) if isinstance(params.get("order_id"), str) else None
        if action not in ("status", "refund"):
            return JSONResponse({"result": "error", "status": "error", "err_code": "invalid_action"}, status_code=400)
        # An order whose page was opened but never paid has no payment yet, as at LiqPay.
        if order is None or order.status is None:
            return JSONResponse({"result": "error", "status": "error", "err_code": "payment_not_found", "err_description": "payment not found"})
        background = None
        if action == "refund":
            if order.status != "success":
                return JSONResponse({"result": "error", "status": "error", "err_code": "refund_not_allowed", "err_description": f"payment is {order.status}"})
            bank.move(order, "reversed")
            deliver, sync = bank.delivery(order, "reversed")
            if sync:
                await deliver()
            else:
                background = BackgroundTask(deliver)
        body = {"result": "ok", **bank.message(order, order.status, order.end_date)}
        return JSONResponse(body, background=background)

    async def switches_endpoint(request: Request) -> Response:
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
                    bank.switches[key] = value
                else:
                    bank.switches.pop(key, None)
        return JSONResponse(bank.switches)

    async def order_view(request: Request) -> Response:
        order = bank.orders.get(request.path_params["order_id"])
        if order is None:
            return JSONResponse({"error": "unknown order"}, status_code=404)
        return JSONResponse({**order.public(), "switches": asdict(bank.switches_for(order.order_id))})

    async def index(request: Request) -> Response:
        root = html.escape(request.scope.get("root_path", ""))
        body = (
            "<h1>Пісочниця банку</h1>"
            "<p>Тестовий банк за протоколом LiqPay. Кабінет надсилає сюди форму оплати "
            f"(<code>POST {root}/api/3/checkout</code>), банк повертає підписаний callback.</p>"
            "<p>Тестова картка: 4242 4242 4242 4242, будь-який майбутній термін і CVV2. "
            "Кнопки: «Сплатити» — успіх, «Відхилити» — відмова, «3-D Secure» — очікування підтвердження.</p>"
            f"<p>Статус платежу: <code>POST {root}/api/request</code> (action=status або refund). "
            f"Перемикачі (duplicate, late, reordered, forged, silent, sync): <code>POST {root}/sandbox/switches</code>, "
            f"зараз: <code>{html.escape(json.dumps(bank.switches, ensure_ascii=False))}</code>.</p>"
        )
        return page("Як користуватися", body)

    app = Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/api/3/checkout", checkout, methods=["POST"]),
            Route("/checkout/{order_id}", press, methods=["POST"]),
            Route("/api/request", api_request, methods=["POST"]),
            Route("/sandbox/switches", switches_endpoint, methods=["GET", "POST"]),
            Route("/sandbox/orders/{order_id}", order_view, methods=["GET"]),
        ]
    )
    app.state.bank = bank
    return app
