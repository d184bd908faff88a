"""Meter readings."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import Row

from resolvers import loaders
from resolvers.ids import global_id
from schema.bill import Bill, bill_of
from schema.common import ListingFields
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

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(global_id("MeterReading", self.row.id))

    @strawberry.field
    async def personal_account(
        self, info: strawberry.Info
    ) -> Annotated[PersonalAccount, strawberry.lazy("schema.personal_account")]:
        from schema.personal_account import PersonalAccount

        return PersonalAccount(row=await loaders.personal_account(info.context).load(self.row.personal_account_id))

    @strawberry.field
    def meter_serial_number(self) -> str:
        return self.row.meter_serial_number

    @strawberry.field
    def taken_on(self) -> dt.date:
        return self.row.taken_on

    @strawberry.field
    def values(self) -> list[ZoneValue]:
        return zone_values(self.row.zones, self.row.values, self.row.consumptions)

    @strawberry.field(description="Total kWh since the previous reading.")
    def consumption(self) -> int | None:
        return self.row.consumption

    @strawberry.field
    def source(self) -> ReadingSource:
        return self.row.source

    @strawberry.field(description="The bill this reading formed, if any.")
    async def bill(self, info: strawberry.Info) -> Bill | None:
        ledger = await loaders.ledger(info.context, self.row.personal_account_id)
        bill_id = next((b.id for b in ledger.bills if b.reading_id == self.row.id), None)
        return await bill_of(info, bill_id)


@strawberry.type
class MeterReadingEdge:
    node: MeterReading
    cursor: str


@strawberry.type
class MeterReadingConnection(ListingFields):
    @strawberry.field
    def edges(self) -> list[MeterReadingEdge]:
        return [
            MeterReadingEdge(node=MeterReading(row=r), cursor=c)
            for r, c in zip(self.page.rows, self.page.cursors, strict=True)
        ]
