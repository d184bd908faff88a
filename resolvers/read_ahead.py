"""Reading ahead: the viewer, their personal accounts and what the selection needs of them,
in one statement before the resolvers run (services/viewer_records.py), kept where the
resolvers look: the token check's outcome, the links' loader, the parts of each personal
account (loaders._ahead), the bill lines of the window, the tariff starts.

Whatever it does not read, the resolvers read as before; whatever goes wrong here, they read
it all again and answer (or fail) as they would have.
"""

from __future__ import annotations

import datetime as dt
import logging

from db import ReplicaLost, retryable
from resolvers import loaders
from resolvers.context import RequestContext, utc_now
from services.errors import AuthError
from services.tokens import token_digest
from services.viewer_records import LinesWindow, Needs, ViewerRecords, viewer_records_load

log = logging.getLogger(f"cabinet.{__name__}")


async def read_ahead(ctx: RequestContext, needs: Needs, window: LinesWindow | None, *, alone: bool) -> None:
    """`alone`: the selection reads nothing but this statement (bill lines of older bills aside,
    which never change), so it runs outside a transaction where the connection allows it."""
    token = ctx.bearer_token
    if ctx.fresh_reads or token is None:
        return
    by: dict = {}
    if ctx.db.replicas is not None or ctx.viewer_known():
        # With replicas the token is checked on its own, on the primary (context._lookup); the
        # rest is read on the snapshot's replica, for the login it names.
        try:
            viewer = await ctx.viewer_or_none()
        except Exception as error:
            if isinstance(error, AuthError) or retryable(error):
                return  # the resolvers meet it too (remembered) and answer it in their place
            raise
        if viewer is None:
            return
        by["account_id"] = viewer.account_id
    else:
        by["token_digest"] = token_digest(token)
    now, today = utc_now(), ctx.settings.today()

    async def load(connection, seen) -> ViewerRecords:
        return await viewer_records_load(
            connection=connection, needs=needs, now=now, today=today, window=window, seen=seen, **by
        )

    try:
        records = await ctx.read_driver(load, alone=alone and not ctx.settings.db_pgbouncer)
    except ReplicaLost:
        return  # the resolvers meet it too, and the view runs the query again on the primary
    except Exception:  # noqa: BLE001  the resolvers read again and answer as they would have
        log.warning("read ahead failed; the resolvers read on their own", exc_info=True)
        return
    if "token_digest" in by:
        ctx.viewer_set(records.viewer, records.error)
        if records.viewer is None:
            return
        account_id = records.viewer.account_id
    else:
        account_id = by["account_id"]
    loaders.LinkedPersonalAccountsByAccountIdLoader.of(ctx).prime(account_id, records.personal_accounts)
    ctx.read_ahead.update(records.parts)
    if records.tariff_starts is not None:
        loaders.TariffStartsLoader.of(ctx).prime(None, records.tariff_starts)
    if window is not None:
        _lines_keep(ctx, records, window, today)


def _lines_keep(ctx: RequestContext, records: ViewerRecords, window: LinesWindow, today: dt.date) -> None:
    """Every bill of the window gets its lines (none is a list of none); the others stay unread."""
    lines_loader = loaders.BillLinesByBillIdLoader.of(ctx)
    for parts in records.parts.values():
        if parts.lines is None or parts.ledger is None:
            continue
        for bill in window.bills(parts.ledger.bills):
            lines_loader.prime(bill.id, parts.lines.get(bill.id, []))
