"""Meter readings."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import Row

from resolvers import loaders
from resolvers.ids import global_id
from schema.bill import Bill, bill_of
from schema.common import Edge, ListingFields
from schema.enums import MeterZone, ReadingSource
from schema.node import Node

if TYPE_CHECKING:
    from schema.personal_account import PersonalAccount


@strawberry.type
class ZoneValue:
    zone: MeterZone
    value: int
    consumption: int | None = strawberry.field(
        description="kWh since the previous reading of this zone, rollover included."
    )


def zone_values(zones, values, consumptions) -> list[ZoneValue]:
    consumptions = consumptions or [None] * len(zones)
    return [ZoneValue(zone=z, value=v, consumption=c) for z, v, c in zip(zones, values, consumptions, strict=True)]


@strawberry.type
class MeterReading(Node):
    row: strawberry.Private[Row]
    id: strawberry.ID = strawberry.field(default=None)
    meter_serial_number: str = strawberry.field(default=None)
    taken_on: dt.date = strawberry.field(default=None)
    values: list[ZoneValue] = strawberry.field(default=None)
    consumption: int | None = strawberry.field(default=None, description="Total kWh since the previous reading.")
    source: ReadingSource = strawberry.field(default=None)

    def __post_init__(self) -> None:
        # Plain attributes, filled once: Strawberry resolves them without a resolver call each.
        row = self.row
        self.id = strawberry.ID(global_id("MeterReading", row.id))
        self.meter_serial_number = row.meter_serial_number
        self.taken_on = row.taken_on
        self.values = zone_values(row.zones, row.values, row.consumptions)
        self.consumption = row.consumption
        self.source = row.source

    @strawberry.field
    async def personal_account(
        self, info: strawberry.Info
    ) -> Annotated[PersonalAccount, strawberry.lazy("schema.personal_account")]:
        from schema.personal_account import PersonalAccount

        return PersonalAccount(
            row=await loaders.PersonalAccountByIdLoader.of(info.context).load(self.row.personal_account_id)
        )

    @strawberry.field(description="The bill this reading formed, if any.")
    async def bill(self, info: strawberry.Info) -> Bill | None:
        ledger = await loaders.ledger(info.context, self.row.personal_account_id)
        bill_id = next((b.id for b in ledger.bills if b.reading_id == self.row.id), None)
        return await bill_of(info, bill_id)


@strawberry.type
class MeterReadingEdge(Edge):
    node: MeterReading


@strawberry.type
class MeterReadingConnection(ListingFields):
    @strawberry.field
    def edges(self) -> list[MeterReadingEdge]:
        return [MeterReadingEdge(node=MeterReading(row=r), page=self.page, row=r) for r in self.page.rows]
