"""The sandbox bank's pages: the card form, 3-D Secure, the final page, refusals (Ukrainian)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse

from kyiv import kyiv_time
from payments.sandbox.cards import money
from payments.sandbox.state import Order

STATUS_WORDS = {
    None: "не сплачено",
    "success": "успішний",
    "failure": "відхилений",
    "wait_secure": "очікує підтвердження 3-D Secure",
    "reversed": "повернений",
}


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


def _origin(url: str | None) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


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
        f"<dt>Сторінка дійсна до</dt><dd>{kyiv_time(order.expires_at):%d.%m.%Y %H:%M}</dd>" if order.expires_at else ""
    )
    return (
        f"<dl><dt>Замовлення</dt><dd>{e(order.order_id)}</dd>"
        f"<dt>Призначення</dt><dd>{e(order.description)}</dd>"
        f"<dt>Сума</dt><dd class='amount'>{e(money(order.amount, order.currency))}</dd>{expires}</dl>"
    )


def _action(request: Request, order: Order) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return html.escape(f"{request.scope.get('root_path', '')}/checkout/{quote(order.order_id, safe='')}{query}")


def card_page(
    request: Request, order: Order, form: Mapping[str, str] | None = None, errors: Mapping[str, str] | None = None
) -> HTMLResponse:
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
        + field_(
            "card",
            "Номер картки",
            "inputmode='numeric' autocomplete='cc-number' maxlength='23' "
            "pattern='[0-9 ]{16,23}' placeholder='0000 0000 0000 0000' autofocus",
            form.get("card", ""),
        )
        + "<div class='row'><div>"
        + field_(
            "exp",
            "Термін дії",
            "inputmode='numeric' autocomplete='cc-exp' maxlength='5' "
            "pattern='(0[1-9]|1[0-2])/[0-9]{2}' placeholder='ММ/РР'",
            form.get("exp", ""),
        )
        + "</div><div>"
        + field_(
            "cvv",
            "CVV2",
            "type='password' inputmode='numeric' autocomplete='cc-csc' maxlength='3' "
            "pattern='[0-9]{3}' placeholder='•••'",
        )
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
