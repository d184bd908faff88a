"""Bills and their lines."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import Row

from resolvers import loaders
from resolvers import personal_accounts as pa_resolvers
from resolvers.context import utc_now
from resolvers.ids import global_id
from schema.common import AmountListingFields
from schema.enums import BillKind, BillStatus, ChargeCategory, MeterZone
from schema.node import Node
from services.documents import BILL, document_link
from services.ledger import Ledger

if TYPE_CHECKING:
    from schema.personal_account import PersonalAccount
    from schema.reading import MeterReading


def quantity_shown(q: Decimal | None) -> Decimal | None:
    """Whole kWh without the stored ".000"."""
    return q.normalize() if q is not None and q == q.to_integral() else q


def coefficient_shown(c: Decimal | None) -> Decimal | None:
    """A coefficient as people write it: 1.0, 0.5, 1.5."""
    return c.quantize(Decimal("0.1")) if c is not None and c == c.quantize(Decimal("0.1")) else c


@strawberry.type
class BillLine:
    row: strawberry.Private[Row]

    @strawberry.field
    def description(self) -> str:
        return self.row.description

    @strawberry.field(description="Tariff block, 1-based, for consumption lines.")
    def block(self) -> int | None:
        return self.row.block

    @strawberry.field
    def zone(self) -> MeterZone | None:
        return self.row.zone

    @strawberry.field
    def quantity(self) -> Decimal | None:
        return quantity_shown(self.row.quantity)

    @strawberry.field
    def unit(self) -> str | None:
        return self.row.unit

    @strawberry.field
    def price(self) -> Decimal | None:
        return self.row.price

    @strawberry.field
    def coefficient(self) -> Decimal | None:
        return coefficient_shown(self.row.coefficient)

    @strawberry.field
    def amount(self) -> Decimal:
        return self.row.amount


@strawberry.type
class Bill(Node):
    row: strawberry.Private[Row]
    ledger: strawberry.Private[Ledger]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(global_id("Bill", self.row.id))

    @strawberry.field
    async def personal_account(self, info: strawberry.Info) -> Annotated[PersonalAccount, strawberry.lazy("schema.personal_account")]:
        from schema.personal_account import PersonalAccount

        return PersonalAccount(row=await loaders.personal_account(info.context).load(self.row.personal_account_id))

    @strawberry.field
    def number(self) -> str:
        return str(self.row.number)

    @strawberry.field
    def category(self) -> ChargeCategory:
        return self.row.category

    @strawberry.field
    def kind(self) -> BillKind:
        return self.row.kind

    @strawberry.field
    def issued_on(self) -> dt.date:
        return self.row.issued_on

    @strawberry.field(description="Billing period between two readings; null for corrections.")
    def period_start(self) -> dt.date | None:
        return self.row.period_start

    @strawberry.field
    def period_end(self) -> dt.date | None:
        return self.row.period_end

    @strawberry.field(description="The reading that formed it, for consumption bills.")
    async def reading(self, info: strawberry.Info) -> Annotated[MeterReading, strawberry.lazy("schema.reading")] | None:
        from schema.reading import MeterReading

        if self.row.reading_id is None:
            return None
        row = await loaders.reading(info.context).load(self.row.reading_id)
        return MeterReading(row=row) if row is not None else None

    @strawberry.field
    def due_on(self) -> dt.date | None:
        return self.row.due_on

    @strawberry.field
    def amount(self) -> Decimal:
        return self.row.amount

    @strawberry.field
    def status(self) -> BillStatus:
        return self.ledger.allocation.status(self.row)

    @strawberry.field(description="What is still owed on this bill after payments were applied oldest bill first.")
    def amount_due(self) -> Decimal:
        return self.ledger.allocation.due.get(self.row.id, Decimal("0.00"))

    @strawberry.field
    async def lines(self, info: strawberry.Info) -> list[BillLine]:
        return [BillLine(row=r) for r in await loaders.bill_lines(info.context).load(self.row.id)]

    @strawberry.field(description="A short-lived link to the bill as PDF, usable without headers.")
    def pdf_url(self, info: strawberry.Info) -> str:
        return document_link(settings=info.context.settings, kind=BILL, pk=self.row.id, now=utc_now())


async def bill_of(info: strawberry.Info, bill_id: int | None) -> Bill | None:
    """A bill by id, with the ledger that gives its status (None until issued)."""
    if bill_id is None:
        return None
    owner = await loaders.owner(info.context, "Bill").load(bill_id)
    if owner is None:
        return None
    ledger = await pa_resolvers.ledger(info.context, owner)
    row = ledger.bills_by_id.get(bill_id)
    return Bill(row=row, ledger=ledger) if row is not None else None


@strawberry.type
class BillEdge:
    node: Bill
    cursor: str


@strawberry.type
class BillConnection(AmountListingFields):
    ledger: strawberry.Private[Ledger]

    @strawberry.field
    def edges(self) -> list[BillEdge]:
        return [
            BillEdge(node=Bill(row=row, ledger=self.ledger), cursor=cursor)
            for row, cursor in zip(self.page.rows, self.page.cursors, strict=True)
        ]
