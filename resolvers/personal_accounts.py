"""Personal accounts and their lists, as the signed-in person may see them."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Row

from models.base import ChargeCategory
from resolvers import loaders
from resolvers.context import RequestContext
from resolvers.ids import pk_of
from services import ledger as ledger_service
from services.errors import AuthError
from services.ledger import Ledger, Listing
from services.pagination import Page, paginate
from services.periods import period_resolve


async def may_see(ctx: RequestContext, personal_account_id: int) -> bool:
    """Admins see every personal account; a customer those linked to their login."""
    viewer = await ctx.viewer_or_none()
    if viewer is None:
        return False
    if viewer.is_admin:
        return True
    return personal_account_id in await loaders.linked_ids(ctx, viewer.account_id)


async def of_account(ctx: RequestContext, account_id: int) -> list[Row]:
    viewer = await ctx.viewer()
    if viewer.account_id != account_id and not viewer.is_admin:
        raise AuthError("FORBIDDEN")
    ids = await loaders.linked_ids(ctx, account_id)
    rows = await loaders.personal_account(ctx).load_many(ids)  # kept by linked_ids: no statement
    return [r for r in rows if r is not None]


async def by_id(ctx: RequestContext, personal_account_id: int) -> Row | None:
    if not await may_see(ctx, personal_account_id):
        return None
    return await loaders.personal_account(ctx).load(personal_account_id)


async def by_global_id(ctx: RequestContext, value: str) -> Row | None:
    pk = pk_of(value, "PersonalAccount")
    return await by_id(ctx, pk) if pk is not None else None


async def owned(ctx: RequestContext, type_name: str, pk: int) -> bool:
    """Whether a bill, payment, reading or internet payment is on a personal account one may see."""
    owner = await loaders.owner(ctx, type_name).load(pk)
    return owner is not None and await may_see(ctx, owner)


async def ledger(ctx: RequestContext, personal_account_id: int) -> Ledger:
    return await loaders.ledger(ctx, personal_account_id)


def _page(listing: Listing, key, first: int | None, after: str | None) -> tuple[Listing, Page]:
    return listing, paginate(listing.rows, key, first=first, after=after)


async def bills(
    ctx: RequestContext,
    personal_account_id: int,
    *,
    categories: Sequence[ChargeCategory] | None,
    start: dt.date | None,
    end: dt.date | None,
    first: int | None,
    after: str | None,
) -> tuple[Listing, Page, Ledger]:
    period = period_resolve(start=start, end=end, today=ctx.settings.today())
    ledger_ = await ledger(ctx, personal_account_id)
    listing = ledger_service.bills_listing(ledger_, categories=categories, period=period)
    return (*_page(listing, ledger_service.bill_key, first, after), ledger_)


async def payments(
    ctx: RequestContext,
    personal_account_id: int,
    *,
    categories: Sequence[ChargeCategory] | None,
    start: dt.date | None,
    end: dt.date | None,
    first: int | None,
    after: str | None,
) -> tuple[Listing, Page]:
    period = period_resolve(start=start, end=end, today=ctx.settings.today())
    listing = ledger_service.payments_listing(await ledger(ctx, personal_account_id), categories=categories, period=period)
    return _page(listing, ledger_service.payment_key, first, after)


async def internet_payments(
    ctx: RequestContext,
    personal_account_id: int,
    *,
    categories: Sequence[ChargeCategory] | None,
    start: dt.date | None,
    end: dt.date | None,
    first: int | None,
    after: str | None,
) -> tuple[Listing, Page]:
    period = period_resolve(start=start, end=end, today=ctx.settings.today())
    rows = await loaders.internet_payments(ctx, personal_account_id)
    listing = ledger_service.internet_payments_listing(
        rows, categories=categories, period=period, today=ctx.settings.today()
    )
    return _page(listing, ledger_service.internet_payment_key, first, after)


async def readings(
    ctx: RequestContext,
    personal_account_id: int,
    *,
    start: dt.date | None,
    end: dt.date | None,
    first: int | None,
    after: str | None,
) -> tuple[Listing, Page]:
    period = period_resolve(start=start, end=end, today=ctx.settings.today())
    rows = await loaders.readings(ctx, personal_account_id)
    listing = ledger_service.readings_listing(rows, period=period)
    return _page(listing, ledger_service.reading_key, first, after)
