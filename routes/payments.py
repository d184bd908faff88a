"""HTTP routes of card payments: the bank's callback and the browser's return page."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from routes.payment_return_page import return_page, unknown_page
from services.bank_callbacks import callback_receive
from services.payment_return import ReturnState, payment_return_reference, payment_return_state

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
            now=request.app.state.settings.now(),
        )
    log.info("bank callback: %s (%s)", result.outcome, result.http_status)
    return JSONResponse({"result": result.outcome}, status_code=result.http_status)


async def _returned_payment(request: Request) -> tuple[ReturnState | None, bool]:
    """(the state of the payment the return link names, whether a reference was given)."""
    settings = request.app.state.settings
    query = request.query_params
    given = any(name in query for name in ("payment", "expires", "sig"))
    pk = payment_return_reference(
        settings=settings,
        payment=query.get("payment"),
        expires=query.get("expires"),
        sig=query.get("sig"),
        now=settings.now(),
    )
    if pk is None:
        return None, given
    async with request.app.state.db.sessions() as session:
        return await payment_return_state(session=session, payment_id=pk), given


async def payment_return(request: Request) -> Response:
    """Where the bank sends the person back (GET, or POST as LiqPay may). It shows the payment's
    state and never credits anything: only the bank's signed callback or the status API does."""
    frontend_root = request.app.state.settings.frontend_root
    state, given = await _returned_payment(request)
    if state is None:
        return unknown_page(frontend_root=frontend_root, refused=given)
    status_url = f"{request.url.path}/status?{request.url.query}"
    return return_page(state=state, status_url=status_url, frontend_root=frontend_root)


async def payment_return_status(request: Request) -> Response:
    """The return page's poll: the payment's state as JSON, by the same signed reference."""
    state, _ = await _returned_payment(request)
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if state is None:
        return JSONResponse({"error": "unknown or expired reference"}, status_code=403, headers=headers)
    return JSONResponse({"number": state.number, "status": state.status.value}, headers=headers)
