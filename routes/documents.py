"""GET /documents/{kind}/{id}?expires=…&sig=… — a bill or receipt PDF behind a signed link.

403 for a missing, forged, other document's or expired signature; 404 when the
bill or payment does not exist or has no document (a bill not yet issued, a
payment not processed). The PDF is rendered off the event loop, stored, and
served with its ETag while it fits (a receipt always, a bill while its slip's
day and amount due are the same); If-None-Match gives 304.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from db import Database
from services import documents as service
from services.documents import KINDS, MAX_ID, StoredDocument

log = logging.getLogger("cabinet.documents")
BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # The link carries its signature: do not hand it on.
    "Referrer-Policy": "no-referrer",
}
FILE_NAMES = {"bill": "rakhunok-{number}.pdf", "receipt": "chek-{number}.pdf"}

_Read = TypeVar("_Read")

# Renders in flight in this process, by key, so concurrent requests for one render make one.
_rendering: dict[tuple[int, str], asyncio.Task] = {}


def _refused(status: int, text: str) -> Response:
    return PlainTextResponse(text, status_code=status, headers={**BASE_HEADERS, "Cache-Control": "no-store"})


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    for candidate in header.split(","):
        value = candidate.strip()
        if value == "*" or value.removeprefix("W/") == f'"{etag}"':
            return True
    return False


async def _read(db: Database, work: Callable[[AsyncSession], Awaitable[_Read]]) -> _Read:
    """Several statements from one consistent snapshot."""
    snapshot = db.read_snapshot()
    try:
        return await snapshot.run(work)
    finally:
        await snapshot.close()


async def _render(request: Request, kind: str, pk: int) -> StoredDocument | None:
    """Gather, render in a thread, store (or take what a concurrent request stored)."""
    db: Database = request.app.state.db
    today = request.app.state.settings.today()
    found = await _read(db, lambda s: service.document_gather(session=s, kind=kind, pk=pk, today=today))
    if found is None:
        return None
    content = await service.document_render(found.data)
    async with db.transaction() as session:
        return await service.document_store(
            session=session, key=found.key, personal_account_id=found.personal_account_id, content=content
        )


async def _single_flight(token: tuple[int, str], work: Callable[[], Awaitable[StoredDocument | None]]):
    task = _rendering.get(token)
    if task is None:
        task = asyncio.ensure_future(work())
        _rendering[token] = task

        def done(t: asyncio.Task) -> None:
            _rendering.pop(token, None)
            if not t.cancelled():
                t.exception()  # retrieved: a failure is logged by the request that awaits it

        task.add_done_callback(done)
    # A request that goes away does not cancel the render the others wait for.
    return await asyncio.shield(task)


async def document_get(request: Request) -> Response:
    kind = request.path_params["kind"]
    raw_id = request.path_params["id"]
    if kind not in KINDS or not raw_id.isdigit() or len(raw_id) > 19 or not 0 < int(raw_id) <= MAX_ID:
        return _refused(404, "Not found")
    pk = int(raw_id)
    settings = request.app.state.settings
    now = dt.datetime.now(dt.UTC)
    expires, sig = request.query_params.get("expires"), request.query_params.get("sig")
    if not service.document_link_valid(settings=settings, kind=kind, pk=pk, expires=expires, sig=sig, now=now):
        return _refused(403, "This link is not valid or has expired: ask the cabinet for a new one.")

    db: Database = request.app.state.db
    today = settings.today()
    head = await _read(db, lambda s: service.document_head(session=s, kind=kind, pk=pk, today=today))
    if head is None or not head.available:
        return _refused(404, "Not found")
    stored = head.stored
    if stored is None:
        stored = await _single_flight((id(db), head.key), lambda: _render(request, kind, pk))
        if stored is None:
            return _refused(404, "Not found")

    max_age = max(0, int(expires) - int(now.timestamp()))  # type: ignore[arg-type]
    headers = {
        **BASE_HEADERS,
        "ETag": f'"{stored.etag}"',
        "Cache-Control": f"private, max-age={max_age}",
        "Content-Disposition": f'inline; filename="{FILE_NAMES[kind].format(number=head.number)}"',
    }
    if _etag_matches(request.headers.get("if-none-match"), stored.etag):
        return Response(status_code=304, headers=headers)
    return Response(stored.content, media_type="application/pdf", headers=headers)
