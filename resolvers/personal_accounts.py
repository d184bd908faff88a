"""Personal accounts and their lists, as the signed-in person may see them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import Row

from models.base import ChargeCategory
from resolvers import loaders
from resolvers.context import RequestContext
from resolvers.ids import pk_of
from services import ledger as ledger_service
from services.errors import AuthError
from services.ledger import Ledger, Listing, MonthConsumption
from services.pagination import Page, paginate
from services.periods import Period, period_resolve
from services.visibility import login_visible, personal_account_visible


async def may_see(ctx: RequestContext, personal_account_id: int) -> bool:
    """Admins see every personal account; a customer those linked to their login."""
    viewer = await ctx.viewer_or_none()
    if viewer is None:
        return False
    if viewer.is_admin:  # no need to read the links
        return True
    linked = await loaders.linked_ids(ctx, viewer.account_id)
    return personal_account_visible(viewer=viewer, personal_account_id=personal_account_id, linked_ids=linked)


async def of_account(ctx: RequestContext, account_id: int) -> list[Row]:
    if not login_visible(viewer=await ctx.viewer(), account_id=account_id):
        raise AuthError("FORBIDDEN")
    ids = await loaders.linked_ids(ctx, account_id)
    rows = await loaders.PersonalAccountByIdLoader.of(ctx).load_many(ids)  # kept by linked_ids: no statement
    return [r for r in rows if r is not None]


async def by_id(ctx: RequestContext, personal_account_id: int) -> Row | None:
    if not await may_see(ctx, personal_account_id):
        return None
    return await loaders.PersonalAccountByIdLoader.of(ctx).load(personal_account_id)


async def by_global_id(ctx: RequestContext, value: str) -> Row | None:
    pk = pk_of(value, "PersonalAccount")
    return await by_id(ctx, pk) if pk is not None else None


async def owned(ctx: RequestContext, type_name: str, pk: int) -> bool:
    """Whether a bill, payment, reading or internet payment is on a personal account one may see."""
    owner = await loaders.OwnerByIdLoader.for_type(ctx, type_name).load(pk)
    return owner is not None and await may_see(ctx, owner)


async def ledger(ctx: RequestContext, personal_account_id: int) -> Ledger:
    return await loaders.ledger(ctx, personal_account_id)


async def debt(ctx: RequestContext, personal_account_id: int) -> dict[ChargeCategory, Decimal]:
    return await loaders.debt(ctx, personal_account_id)


def _page(listing: Listing, key, first: int | None, after: str | None) -> tuple[Listing, Page]:
    return listing, paginate(listing.rows, key, first=first, after=after)


# Readings and the consumption chart go with the bills the readings form.
READING_CATEGORIES = (ChargeCategory.ELECTRICITY,)


async def period(
    ctx: RequestContext,
    personal_account_id: int,
    *,
    categories: Sequence[ChargeCategory] | None,
    start: dt.date | None,
    end: dt.date | None,
) -> Period:
    """The period of one of the personal account's lists (services/ledger.py listing_period)."""
    today = ctx.settings.today()
    if start is not None:
        return period_resolve(start=start, end=end, today=today)  # no need to read the ledger
    ledger_ = await ledger(ctx, personal_account_id)
    return ledger_service.listing_period(ledger_, categories=categories, start=None, end=end, today=today)


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
    period_ = await period(ctx, personal_account_id, categories=categories, start=start, end=end)
    ledger_ = await ledger(ctx, personal_account_id)
    listing = ledger_service.bills_listing(ledger_, categories=categories, period=period_)
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
    period_ = await period(ctx, personal_account_id, categories=categories, start=start, end=end)
    listing = ledger_service.payments_listing(
        await ledger(ctx, personal_account_id), categories=categories, period=period_
    )
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
    period_ = await period(ctx, personal_account_id, categories=categories, start=start, end=end)
    rows = await loaders.internet_payments(ctx, personal_account_id)
    listing = ledger_service.internet_payments_listing(
        rows, categories=categories, period=period_, today=ctx.settings.today()
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
    period_ = await period(ctx, personal_account_id, categories=READING_CATEGORIES, start=start, end=end)
    rows = await loaders.readings(ctx, personal_account_id)
    listing = ledger_service.readings_listing(rows, period=period_)
    return _page(listing, ledger_service.reading_key, first, after)


async def monthly_consumption(
    ctx: RequestContext, personal_account_id: int, *, start: dt.date | None, end: dt.date | None
) -> tuple[Period, list[MonthConsumption]]:
    period_ = await period(ctx, personal_account_id, categories=READING_CATEGORIES, start=start, end=end)
    readings_ = await loaders.readings(ctx, personal_account_id)
    ledger_ = await ledger(ctx, personal_account_id)
    starts = await loaders.TariffStartsLoader.of(ctx).load(None)
    return period_, ledger_service.consumption_by_month(readings_, ledger_, period=period_, tariff_starts=starts)
