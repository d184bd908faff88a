"""ГПЗ (repayment schedules) and violation acts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

import models
from resolvers.ids import global_id
from schema.bill import Bill, bill_of
from schema.enums import ChargeCategory
from schema.node import Node


@strawberry.type
class Instalment:
    row: strawberry.Private[models.Instalment]

    @strawberry.field
    def due_on(self) -> dt.date:
        return self.row.due_on

    @strawberry.field
    def amount(self) -> Decimal:
        return self.row.amount

    @strawberry.field(description="Set once the instalment is due.")
    async def bill(self, info: strawberry.Info) -> Bill | None:
        return await bill_of(info, self.row.bill_id)


@strawberry.type(description="ГПЗ: a debt moved into instalments; an instalment becomes a bill on its due date.")
class RepaymentSchedule(Node):
    row: strawberry.Private[models.RepaymentSchedule]
    instalment_rows: strawberry.Private[list[models.Instalment]]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(global_id("RepaymentSchedule", self.row.id))

    @strawberry.field
    def number(self) -> str:
        return self.row.number

    @strawberry.field
    def category(self) -> ChargeCategory:
        return self.row.category

    @strawberry.field
    def agreed_on(self) -> dt.date:
        return self.row.agreed_on

    @strawberry.field
    def total(self) -> Decimal:
        return self.row.total

    @strawberry.field
    def instalments(self) -> list[Instalment]:
        return [Instalment(row=i) for i in self.instalment_rows]


@strawberry.type
class ViolationAct(Node):
    row: strawberry.Private[models.ViolationAct]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(global_id("ViolationAct", self.row.id))

    @strawberry.field
    def number(self) -> str:
        return self.row.number

    @strawberry.field
    def drawn_up_on(self) -> dt.date:
        return self.row.drawn_up_on

    @strawberry.field
    def description(self) -> str:
        return self.row.description

    @strawberry.field
    def kwh(self) -> int | None:
        return self.row.kwh

    @strawberry.field
    def amount(self) -> Decimal:
        return self.row.amount

    @strawberry.field
    async def bill(self, info: strawberry.Info) -> Bill | None:
        return await bill_of(info, self.row.bill_id)
