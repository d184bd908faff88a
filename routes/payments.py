"""HTTP routes of card payments: the bank's callback and the browser's return page."""
from __future__ import annotations

import datetime as dt
import html
import logging
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from services.bank_callbacks import callback_receive

log = logging.getLogger("cabinet.payments")
MAX_BODY = 256 * 1024
PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
}


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_BODY:
        return {}
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


async def liqpay_callback(request: Request) -> Response:
    """POST data=…&signature=… from the bank. 200 when verified (duplicates too), 4xx otherwise."""
    form = await _form(request)
    data, signature = form.get("data", ""), form.get("signature", "")
    db = request.app.state.db
    async with db.transaction() as session:
        result = await callback_receive(
            session=session,
            settings=request.app.state.settings,
            data=data,
            signature=signature,
            now=dt.datetime.now(dt.UTC),
        )
    log.info("bank callback: %s (%s)", result.outcome, result.http_status)
    return JSONResponse({"result": result.outcome}, status_code=result.http_status)


async def payment_return(request: Request) -> Response:
    """Where the bank sends the person back. It shows a page and never credits anything:
    only the bank's signed callback or the status API does."""
    page = (
        "<!doctype html><html lang='uk'><head><meta charset='utf-8'><title>Оплата</title></head>"
        "<body style='font-family:sans-serif;max-width:40em;margin:3em auto'>"
        "<h1>Дякуємо!</h1><p>Банк обробляє платіж. Статус оновиться в кабінеті, щойно банк його підтвердить.</p>"
        f"<p><a href='{html.escape('/')}'>Повернутися до кабінету</a></p></body></html>"
    )
    return HTMLResponse(page, headers=PAGE_HEADERS)
