"""internetPaymentUpdated: the payment's state at once, then each change, until it is final."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import Row

from resolvers import personal_accounts as pa_resolvers
from resolvers.context import RequestContext
from resolvers.ids import pk_of
from services.card_payments import FINAL
from services.errors import BadUserInput
from services.personal_accounts import internet_payments_get

# A safety net: even if a notification were lost, look again this often.
RECHECK_SECONDS = 30.0


async def _load(ctx: RequestContext, pk: int) -> Row | None:
    return (await ctx.read(lambda s: internet_payments_get(session=s, ids=[pk]))).get(pk)


async def internet_payment_updates(ctx: RequestContext, payment_id: str) -> AsyncIterator[Row]:
    await ctx.viewer()
    pk = pk_of(payment_id, "InternetPayment")
    if pk is None or not await pa_resolvers.owned(ctx, "InternetPayment", pk):
        raise BadUserInput("no such internet payment")
    async with ctx.payment_updates().watch(pk) as changed:
        row = await _load(ctx, pk)
        if row is None:  # owned above, and payments are never deleted: only a race with a merge
            raise BadUserInput("no such internet payment")
        yield row
        while row.status not in FINAL:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=RECHECK_SECONDS)
            changed.clear()
            latest = await _load(ctx, pk)
            if latest is not None and (latest.status, latest.confirmed_at) != (row.status, row.confirmed_at):
                row = latest
                yield row
