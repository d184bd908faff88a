"""Query.node's reads: the row a global ID names, if the viewer may see it (services/visibility.py), else None."""

from __future__ import annotations

from typing import Any

from resolvers import activation_requests as request_resolvers
from resolvers import auth as auth_resolvers
from resolvers import loaders
from resolvers import personal_accounts as pa_resolvers
from resolvers.context import RequestContext
from services.visibility import login_visible


async def account(ctx: RequestContext, pk: int) -> Any | None:
    if not login_visible(viewer=await ctx.viewer(), account_id=pk):
        return None
    return await auth_resolvers.account_by_id(ctx, pk)


async def personal_account(ctx: RequestContext, pk: int) -> Any | None:
    return await pa_resolvers.by_id(ctx, pk)


async def bill_visible(ctx: RequestContext, pk: int) -> bool:
    return await pa_resolvers.owned(ctx, "Bill", pk)


async def payment(ctx: RequestContext, pk: int) -> Any | None:
    if not await pa_resolvers.owned(ctx, "Payment", pk):
        return None
    owner = await loaders.OwnerByIdLoader.for_type(ctx, "Payment").load(pk)
    ledger = await pa_resolvers.ledger(ctx, owner)
    return next((p for p in ledger.payments if p.id == pk), None)


async def internet_payment(ctx: RequestContext, pk: int) -> Any | None:
    if not await pa_resolvers.owned(ctx, "InternetPayment", pk):
        return None
    return await loaders.InternetPaymentByIdLoader.of(ctx).load(pk)


async def reading(ctx: RequestContext, pk: int) -> Any | None:
    if not await pa_resolvers.owned(ctx, "MeterReading", pk):
        return None
    return await loaders.ReadingByIdLoader.of(ctx).load(pk)


async def activation_request(ctx: RequestContext, pk: int) -> Any | None:
    return await request_resolvers.by_id(ctx, pk)


async def schedule(ctx: RequestContext, pk: int) -> tuple[Any, Any] | None:
    """(schedule, its instalments), found on the viewer's own linked personal accounts."""
    for pa in await _own_ids(ctx):
        for row, instalments in await loaders.SchedulesByPersonalAccountIdLoader.of(ctx).load(pa):
            if row.id == pk:
                return row, instalments
    return None


async def act(ctx: RequestContext, pk: int) -> Any | None:
    for pa in await _own_ids(ctx):
        for row in await loaders.ActsByPersonalAccountIdLoader.of(ctx).load(pa):
            if row.id == pk:
                return row
    return None


async def _own_ids(ctx: RequestContext) -> list[int]:
    viewer = await ctx.viewer()
    return await loaders.linked_ids(ctx, viewer.account_id)
