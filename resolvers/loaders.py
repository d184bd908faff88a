"""Per-request DataLoaders over the read snapshot: each batches many ids into one statement."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from models import Bill, InternetPayment, MeterReading, Payment
from resolvers.context import RequestContext
from services import account_records
from services import accounts as accounts_service
from services import activation_requests as activation_service
from services import ledger as ledger_service
from services import personal_accounts as pa_service
from services import tariffs as tariffs_service


class SharedDataLoader(DataLoader):
    """A DataLoader whose batch results survive a cancelled caller.

    graphql-core cancels the sibling fields of a field that failed; a sibling cancelled
    while it awaits a batch's future would cancel that future for every other field
    waiting on the same key, and their CancelledError (no Exception) would escape the
    error policy as a bare 500. Each caller awaits a shield of the shared future instead.
    """

    def load(self, key: Any) -> Awaitable[Any]:
        return asyncio.shield(super().load(key))


def _loader(
    ctx: RequestContext, name: str, fetch: Callable[[Any, list], Awaitable[dict]], default: Any = None
) -> DataLoader:
    async def load(keys: Sequence) -> list:
        found = await ctx.read(lambda s: fetch(s, list(keys)))
        return [found.get(k, default() if callable(default) else default) for k in keys]

    return ctx.loader(name, lambda: SharedDataLoader(load_fn=load))


async def linked_ids(ctx: RequestContext, account_id: int) -> list[int]:
    """The personal accounts linked to a login, in link order; their rows are kept for the request."""
    rows = await linked_personal_accounts(ctx).load(account_id)
    for row in rows:
        personal_account(ctx).prime(row.id, row)
    return [row.id for row in rows]


def linked_personal_accounts(ctx: RequestContext) -> DataLoader:
    return _loader(
        ctx,
        "linked_personal_accounts",
        lambda s, ids: pa_service.linked_personal_accounts(session=s, account_ids=ids),
        list,
    )


def personal_account(ctx: RequestContext) -> DataLoader:
    return _loader(ctx, "personal_account", lambda s, ids: pa_service.personal_accounts_get(session=s, ids=ids))


def res(ctx: RequestContext) -> DataLoader:
    return _loader(ctx, "res", lambda s, ids: pa_service.res_get(session=s, ids=ids))


def records(ctx: RequestContext) -> DataLoader:
    """Meter, readings, ledger and card payments of personal accounts: one statement for all."""
    today = ctx.settings.today()
    return _loader(
        ctx,
        "records",
        lambda s, ids: account_records.account_records_load(session=s, personal_account_ids=ids, today=today),
    )


def _ahead(ctx: RequestContext, personal_account_id: int, part: str) -> Any:
    """A part resolvers/read_ahead.py read already, or None (then the records statement reads it)."""
    parts = ctx.read_ahead.get(personal_account_id)
    return getattr(parts, part) if parts is not None else None


async def ledger(ctx: RequestContext, personal_account_id: int) -> ledger_service.Ledger:
    found = _ahead(ctx, personal_account_id, "ledger")
    return found if found is not None else (await records(ctx).load(personal_account_id)).ledger


async def debt(ctx: RequestContext, personal_account_id: int) -> dict:
    """The debt by category: the ledger's allocation, or the sums read ahead without a ledger."""
    found = _ahead(ctx, personal_account_id, "ledger")
    if found is None:
        found = _ahead(ctx, personal_account_id, "debt")
        if found is not None:
            return found
        found = (await records(ctx).load(personal_account_id)).ledger
    return found.allocation.debt


async def meter(ctx: RequestContext, personal_account_id: int) -> Any:
    if _ahead(ctx, personal_account_id, "meter_read"):
        return _ahead(ctx, personal_account_id, "meter")
    return (await records(ctx).load(personal_account_id)).meter


async def readings(ctx: RequestContext, personal_account_id: int) -> list:
    """All readings of the personal account, newest first."""
    found = _ahead(ctx, personal_account_id, "readings")
    return found if found is not None else (await records(ctx).load(personal_account_id)).readings


async def last_reading(ctx: RequestContext, personal_account_id: int) -> Any:
    found = _ahead(ctx, personal_account_id, "last_reading")
    if found is None:
        found = await readings(ctx, personal_account_id)
    return found[0] if found else None


async def internet_payments(ctx: RequestContext, personal_account_id: int) -> list:
    """Card payments of the personal account, newest first."""
    found = _ahead(ctx, personal_account_id, "internet")
    return found if found is not None else (await records(ctx).load(personal_account_id)).internet_payments


def reading(ctx: RequestContext) -> DataLoader:
    return _loader(ctx, "reading", lambda s, ids: pa_service.readings_get(session=s, ids=ids))


def bill_lines(ctx: RequestContext) -> DataLoader:
    return _loader(ctx, "bill_lines", lambda s, ids: pa_service.bill_lines_of(session=s, bill_ids=ids), list)


def tariff_starts(ctx: RequestContext) -> DataLoader:
    """One key (None): the tariff versions' start days, read once per request."""
    return _loader(ctx, "tariff_starts", lambda s, keys: _for_all(keys, tariffs_service.tariff_starts_load(session=s)))


async def _for_all(keys: Sequence, value: Awaitable[Any]) -> dict:
    found = await value
    return {k: found for k in keys}


def internet_payment(ctx: RequestContext) -> DataLoader:
    return _loader(ctx, "internet_payment", lambda s, ids: pa_service.internet_payments_get(session=s, ids=ids))


def schedules(ctx: RequestContext) -> DataLoader:
    return _loader(ctx, "schedules", lambda s, ids: pa_service.schedules_of(session=s, personal_account_ids=ids), list)


def acts(ctx: RequestContext) -> DataLoader:
    return _loader(ctx, "acts", lambda s, ids: pa_service.acts_of(session=s, personal_account_ids=ids), list)


OWNED_TABLES = {"Bill": Bill, "Payment": Payment, "MeterReading": MeterReading, "InternetPayment": InternetPayment}


def owner(ctx: RequestContext, type_name: str) -> DataLoader:
    table = OWNED_TABLES[type_name]
    return _loader(ctx, f"owner:{type_name}", lambda s, ids: pa_service.owner_of(session=s, table=table, ids=ids))


def activation_requests_of(ctx: RequestContext) -> DataLoader:
    return _loader(
        ctx,
        "activation_requests_of",
        lambda s, ids: activation_service.requests_of(session=s, account_ids=ids),
        list,
    )


def activation_request(ctx: RequestContext) -> DataLoader:
    return _loader(ctx, "activation_request", lambda s, ids: activation_service.requests_get(session=s, ids=ids))


def account(ctx: RequestContext) -> DataLoader:
    return _loader(ctx, "account", lambda s, ids: accounts_service.accounts_get(session=s, ids=ids))
