"""Per-request DataLoaders over the read snapshot, one class per kind named by its key
(`PersonalAccountByIdLoader.of(ctx).load(pk)`): each batches many keys into one statement."""

from __future__ import annotations

import asyncio
import datetime as dt
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, Self, TypeVar

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from models import Bill, InternetPayment, MeterReading, Payment
from resolvers.context import RequestContext
from services import account_records
from services import accounts as accounts_service
from services import activation_requests as activation_service
from services import ledger as ledger_service
from services import personal_accounts as pa_service
from services import tariffs as tariffs_service

K = TypeVar("K")
V = TypeVar("V")


class SharedDataLoader(DataLoader):
    """A DataLoader whose batch results survive a cancelled caller.

    graphql-core cancels the sibling fields of a field that failed; a sibling cancelled
    while it awaits a batch's future would cancel that future for every other field
    waiting on the same key, and their CancelledError (no Exception) would escape the
    error policy as a bare 500. Each caller awaits a shield of the shared future instead.
    """

    def load(self, key: Any) -> Awaitable[Any]:
        return asyncio.shield(super().load(key))


class RequestLoader(SharedDataLoader, Generic[K, V]):
    """One per request per kind (`of(ctx)`): the keys asked for in one tick, read in one
    statement on the request's read snapshot. A key with nothing found gets `missing()`."""

    missing: ClassVar[Callable[[], Any]] = lambda: None

    def __init__(self, ctx: RequestContext) -> None:
        self.ctx = ctx
        # Not the bound method: the loader would refer to itself, and what it read (its cache,
        # its batches) would wait for the cycle collector instead of going with the request.
        loader = weakref.ref(self)
        super().__init__(load_fn=lambda keys: _alive(loader)._batch(keys))

    @classmethod
    def of(cls, ctx: RequestContext) -> Self:
        return ctx.loader(cls.__name__, lambda: cls(ctx))

    async def fetch(self, session: AsyncSession, keys: list[K]) -> Mapping[K, V]:
        raise NotImplementedError

    async def _batch(self, keys: Sequence[K]) -> list[V]:
        found = await self.ctx.read(lambda s: self.fetch(s, list(keys)))
        return [found[k] if k in found else type(self).missing() for k in keys]


def _alive(loader: weakref.ref[RequestLoader]) -> RequestLoader:
    alive = loader()
    assert alive is not None  # a batch runs on its loader, which its caller holds
    return alive


class LinkedPersonalAccountsByAccountIdLoader(RequestLoader[int, list[Row]]):
    """A login's linked personal accounts, in link order."""

    missing = list

    async def fetch(self, session: AsyncSession, keys: list[int]) -> Mapping[int, list[Row]]:
        return await pa_service.linked_personal_accounts(session=session, account_ids=keys)


class PersonalAccountByIdLoader(RequestLoader[int, Row | None]):
    async def fetch(self, session: AsyncSession, keys: list[int]) -> Mapping[int, Row | None]:
        return await pa_service.personal_accounts_get(session=session, ids=keys)


class ResByIdLoader(RequestLoader[int, Any]):
    async def fetch(self, session: AsyncSession, keys: list[int]) -> Mapping[int, Any]:
        return await pa_service.res_get(session=session, ids=keys)


class RecordsByPersonalAccountIdLoader(RequestLoader[int, account_records.AccountRecords]):
    """Meter, readings, ledger and card payments of personal accounts: one statement for all."""

    async def fetch(self, session: AsyncSession, keys: list[int]) -> Mapping[int, account_records.AccountRecords]:
        today = self.ctx.settings.today()
        return await account_records.account_records_load(session=session, personal_account_ids=keys, today=today)


async def linked_ids(ctx: RequestContext, account_id: int) -> list[int]:
    """The personal accounts linked to a login, in link order; their rows are kept for the request."""
    rows = await LinkedPersonalAccountsByAccountIdLoader.of(ctx).load(account_id)
    for row in rows:
        PersonalAccountByIdLoader.of(ctx).prime(row.id, row)
    return [row.id for row in rows]


def _ahead(ctx: RequestContext, personal_account_id: int, part: str) -> Any:
    """A part resolvers/read_ahead.py read already, or None (then the records statement reads it)."""
    parts = ctx.read_ahead.get(personal_account_id)
    return getattr(parts, part) if parts is not None else None


async def ledger(ctx: RequestContext, personal_account_id: int) -> ledger_service.Ledger:
    found = _ahead(ctx, personal_account_id, "ledger")
    return (
        found
        if found is not None
        else (await RecordsByPersonalAccountIdLoader.of(ctx).load(personal_account_id)).ledger
    )


async def debt(ctx: RequestContext, personal_account_id: int) -> dict:
    """The debt by category: the ledger's allocation, or the sums read ahead without a ledger."""
    found = _ahead(ctx, personal_account_id, "ledger")
    if found is None:
        found = _ahead(ctx, personal_account_id, "debt")
        if found is not None:
            return found
        found = (await RecordsByPersonalAccountIdLoader.of(ctx).load(personal_account_id)).ledger
    return found.allocation.debt


async def meter(ctx: RequestContext, personal_account_id: int) -> Any:
    if _ahead(ctx, personal_account_id, "meter_read"):
        return _ahead(ctx, personal_account_id, "meter")
    return (await RecordsByPersonalAccountIdLoader.of(ctx).load(personal_account_id)).meter


async def readings(ctx: RequestContext, personal_account_id: int) -> list:
    """All readings of the personal account, newest first."""
    found = _ahead(ctx, personal_account_id, "readings")
    return (
        found
        if found is not None
        else (await RecordsByPersonalAccountIdLoader.of(ctx).load(personal_account_id)).readings
    )


async def last_reading(ctx: RequestContext, personal_account_id: int) -> Any:
    found = _ahead(ctx, personal_account_id, "last_reading")
    if found is None:
        found = await readings(ctx, personal_account_id)
    return found[0] if found else None


async def internet_payments(ctx: RequestContext, personal_account_id: int) -> list:
    """Card payments of the personal account, newest first."""
    found = _ahead(ctx, personal_account_id, "internet")
    return (
        found
        if found is not None
        else (await RecordsByPersonalAccountIdLoader.of(ctx).load(personal_account_id)).internet_payments
    )


class ReadingByIdLoader(RequestLoader[int, Row | None]):
    async def fetch(self, session: AsyncSession, keys: list[int]) -> Mapping[int, Row | None]:
        return await pa_service.readings_get(session=session, ids=keys)


class BillLinesByBillIdLoader(RequestLoader[int, list[Row]]):
    missing = list

    async def fetch(self, session: AsyncSession, keys: list[int]) -> Mapping[int, list[Row]]:
        return await pa_service.bill_lines_of(session=session, bill_ids=keys)


class TariffStartsLoader(RequestLoader[None, list[dt.date]]):
    """One key (None): the tariff versions' start days, read once per request."""

    async def fetch(self, session: AsyncSession, keys: list[None]) -> Mapping[None, list[dt.date]]:
        starts = await tariffs_service.tariff_starts_load(session=session)
        return {k: starts for k in keys}


class InternetPaymentByIdLoader(RequestLoader[int, Row | None]):
    async def fetch(self, session: AsyncSession, keys: list[int]) -> Mapping[int, Row | None]:
        return await pa_service.internet_payments_get(session=session, ids=keys)


class SchedulesByPersonalAccountIdLoader(RequestLoader[int, list]):
    missing = list

    async def fetch(self, session: AsyncSession, keys: list[int]) -> Mapping[int, list]:
        return await pa_service.schedules_of(session=session, personal_account_ids=keys)


class ActsByPersonalAccountIdLoader(RequestLoader[int, list]):
    missing = list

    async def fetch(self, session: AsyncSession, keys: list[int]) -> Mapping[int, list]:
        return await pa_service.acts_of(session=session, personal_account_ids=keys)


OWNED_TABLES = {"Bill": Bill, "Payment": Payment, "MeterReading": MeterReading, "InternetPayment": InternetPayment}


class OwnerByIdLoader(RequestLoader[int, int | None]):
    """The personal account a bill, payment, reading or card payment belongs to, by its id;
    one loader per type (`for_type`)."""

    def __init__(self, ctx: RequestContext, table: Any) -> None:
        self.table = table
        super().__init__(ctx)

    @classmethod
    def for_type(cls, ctx: RequestContext, type_name: str) -> OwnerByIdLoader:
        table = OWNED_TABLES[type_name]
        return ctx.loader(f"{cls.__name__}:{type_name}", lambda: cls(ctx, table))

    async def fetch(self, session: AsyncSession, keys: list[int]) -> Mapping[int, int | None]:
        return await pa_service.owner_of(session=session, table=self.table, ids=keys)


class ActivationRequestsByAccountIdLoader(RequestLoader[int, list]):
    """Every request of each login, newest first."""

    missing = list

    async def fetch(self, session: AsyncSession, keys: list[int]) -> Mapping[int, list]:
        return await activation_service.requests_of(session=session, account_ids=keys)


class ActivationRequestByIdLoader(RequestLoader[int, Any]):
    async def fetch(self, session: AsyncSession, keys: list[int]) -> Mapping[int, Any]:
        return await activation_service.requests_get(session=session, ids=keys)


class AccountByIdLoader(RequestLoader[int, Any]):
    async def fetch(self, session: AsyncSession, keys: list[int]) -> Mapping[int, Any]:
        return await accounts_service.accounts_get(session=session, ids=keys)
