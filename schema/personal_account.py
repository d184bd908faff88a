"""PersonalAccount (особовий рахунок): the main screen and its tabs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import strawberry
from sqlalchemy import Row

from models.base import CATEGORY_ORDER
from resolvers import loaders
from resolvers import personal_accounts as pa_resolvers
from resolvers.ids import global_id
from schema.bill import BillConnection
from schema.enums import ChargeCategory, MeterZone
from schema.extensions import period_check
from schema.node import Node
from schema.payment import InternetPaymentConnection, PaymentConnection
from schema.reading import MeterReading, MeterReadingConnection
from schema.reference import Res
from schema.schedule import RepaymentSchedule, ViolationAct

FromDate = Annotated[dt.date | None, strawberry.argument(name="from")]


@strawberry.type
class CategoryDebt:
    category: ChargeCategory
    amount: Decimal


@strawberry.type(
    description=(
        "The debt of one personal account as of now: a value with no identity of its own. "
        "Apollo Client: `new InMemoryCache({ typePolicies: { Debt: { merge: true } } })` merges it "
        "into its personal account, so a query selecting only `debt { total }` keeps the main screen's."
    )
)
class Debt:
    total: Decimal
    categories: list[CategoryDebt] = strawberry.field(
        description="All five categories, in the order above, zero where nothing is owed."
    )


def debt_shown(debt: dict[ChargeCategory, Decimal]) -> Debt:
    """The Debt type of every category's debt (the customer's and an aggregator's alike)."""
    return Debt(
        total=sum(debt.values(), Decimal("0.00")),
        categories=[CategoryDebt(category=c, amount=debt[c]) for c in CATEGORY_ORDER],
    )


@strawberry.type
class Meter:
    row: strawberry.Private[Row]
    serial_number: str = strawberry.field(default=None)
    model: str | None = strawberry.field(default=None)
    digits: int = strawberry.field(
        default=None, description="Number of digits the meter shows (Розрядність); readings wrap past 10^digits - 1."
    )
    zones: list[MeterZone] = strawberry.field(
        default=None, description="Registers this meter has: [TOTAL], [DAY, NIGHT] or [PEAK, SEMI_PEAK, NIGHT]."
    )
    installed_on: dt.date | None = strawberry.field(default=None)
    verified_on: dt.date | None = strawberry.field(default=None)
    next_verification_on: dt.date | None = strawberry.field(default=None)

    def __post_init__(self) -> None:
        # Plain attributes, filled once: Strawberry resolves them without a resolver call each.
        row = self.row
        self.serial_number = row.serial_number
        self.model = row.model
        self.digits = row.digits
        self.zones = [MeterZone(z) for z in row.zones]
        self.installed_on = row.installed_on
        self.verified_on = row.verified_on
        self.next_verification_on = row.next_verification_on


@strawberry.type
class MonthlyConsumption:
    month: dt.date
    kwh: int
    amount: Decimal


@strawberry.type(description="Лицевой счёт: one supply point in a RES, with its meter, bills and payments.")
class PersonalAccount(Node):
    row: strawberry.Private[Row]
    id: strawberry.ID = strawberry.field(default=None)
    number: str = strawberry.field(default=None)

    def __post_init__(self) -> None:
        # Plain attributes, filled once: Strawberry resolves them without a resolver call each.
        row = self.row
        self.id = strawberry.ID(global_id("PersonalAccount", row.id))
        self.number = row.number
        self.holder_name = row.holder_name
        self.address = row.address

    @strawberry.field
    async def res(self, info: strawberry.Info) -> Res:
        return Res(row=await loaders.ResByIdLoader.of(info.context).load(self.row.res_id))

    holder_name: str = strawberry.field(default=None)
    address: str = strawberry.field(default=None)

    @strawberry.field
    async def meter(self, info: strawberry.Info) -> Meter | None:
        row = await loaders.meter(info.context, self.row.id)
        return Meter(row=row) if row is not None else None

    @strawberry.field(description="The last accepted reading (value and date taken).")
    async def last_reading(self, info: strawberry.Info) -> MeterReading | None:
        row = await loaders.last_reading(info.context, self.row.id)
        return MeterReading(row=row) if row is not None else None

    @strawberry.field
    async def debt(self, info: strawberry.Info) -> Debt:
        return debt_shown(await pa_resolvers.debt(info.context, self.row.id))

    @strawberry.field(
        description="Tabs: [ELECTRICITY]; ГПЗ is [ELECTRICITY_SCHEDULE, ACTS_SCHEDULE]; all when omitted."
    )
    async def bills(
        self,
        info: strawberry.Info,
        categories: list[ChargeCategory] | None = None,
        from_: FromDate = None,
        to: dt.date | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> BillConnection:
        listing, page, ledger = await pa_resolvers.bills(
            info.context, self.row.id, categories=categories, start=from_, end=to, first=first, after=after
        )
        period_check(info, listing.period)
        return BillConnection(listing=listing, page=page, ledger=ledger)

    @strawberry.field
    async def payments(
        self,
        info: strawberry.Info,
        categories: list[ChargeCategory] | None = None,
        from_: FromDate = None,
        to: dt.date | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> PaymentConnection:
        listing, page = await pa_resolvers.payments(
            info.context, self.row.id, categories=categories, start=from_, end=to, first=first, after=after
        )
        period_check(info, listing.period)
        return PaymentConnection(listing=listing, page=page)

    @strawberry.field
    async def internet_payments(
        self,
        info: strawberry.Info,
        categories: list[ChargeCategory] | None = None,
        from_: FromDate = None,
        to: dt.date | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> InternetPaymentConnection:
        listing, page = await pa_resolvers.internet_payments(
            info.context, self.row.id, categories=categories, start=from_, end=to, first=first, after=after
        )
        period_check(info, listing.period)
        return InternetPaymentConnection(listing=listing, page=page)

    @strawberry.field
    async def readings(
        self,
        info: strawberry.Info,
        from_: FromDate = None,
        to: dt.date | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> MeterReadingConnection:
        listing, page = await pa_resolvers.readings(
            info.context, self.row.id, start=from_, end=to, first=first, after=after
        )
        period_check(info, listing.period)
        return MeterReadingConnection(listing=listing, page=page)

    @strawberry.field(
        description=(
            "Consumption per calendar month, for charts: the readings taken in the period, each split "
            "over the months of the days it covers exactly as its bill lines split it (by days, "
            "Sainte-Laguë); `amount` is the bill's amount shared by those kWh in whole kopecks."
        )
    )
    async def monthly_consumption(
        self,
        info: strawberry.Info,
        from_: FromDate = None,
        to: dt.date | None = None,
    ) -> list[MonthlyConsumption]:
        period, months = await pa_resolvers.monthly_consumption(info.context, self.row.id, start=from_, end=to)
        period_check(info, period)
        return [MonthlyConsumption(month=m.month, kwh=m.kwh, amount=m.amount) for m in months]

    @strawberry.field(description="Debt repayment schedules (ГПЗ) with their instalments.")
    async def repayment_schedules(self, info: strawberry.Info) -> list[RepaymentSchedule]:
        return [
            RepaymentSchedule(row=s, instalment_rows=i)
            for s, i in await loaders.SchedulesByPersonalAccountIdLoader.of(info.context).load(self.row.id)
        ]

    @strawberry.field(description="Acts on violations of the rules of electricity use.")
    async def violation_acts(self, info: strawberry.Info) -> list[ViolationAct]:
        return [
            ViolationAct(row=a) for a in await loaders.ActsByPersonalAccountIdLoader.of(info.context).load(self.row.id)
        ]
