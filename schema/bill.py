"""Bills and their lines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import Row

from resolvers import loaders
from resolvers import personal_accounts as pa_resolvers
from resolvers.context import utc_now
from resolvers.ids import global_id
from schema.common import AmountListingFields, Edge
from schema.enums import BillKind, BillStatus, ChargeCategory, MeterZone
from schema.node import Node
from services.billing import coefficient_shown, quantity_shown
from services.documents import BILL, document_link
from services.ledger import Ledger

if TYPE_CHECKING:
    from schema.personal_account import PersonalAccount
    from schema.reading import MeterReading


@strawberry.type
class BillLine:
    """Plain attributes filled once from the row: Strawberry resolves those without a resolver call."""

    row: strawberry.Private[Any]  # a stored line (Row), or the preview's (services.billing.BillLineDraft)
    description: str = strawberry.field(default=None)
    block: int | None = strawberry.field(default=None, description="Tariff block, 1-based, for consumption lines.")
    zone: MeterZone | None = strawberry.field(default=None)
    quantity: Decimal | None = strawberry.field(default=None)
    unit: str | None = strawberry.field(default=None)
    price: Decimal | None = strawberry.field(default=None)
    coefficient: Decimal | None = strawberry.field(default=None)
    amount: Decimal = strawberry.field(default=None)

    def __post_init__(self) -> None:
        row = self.row
        self.description = row.description
        self.block = row.block
        self.zone = row.zone
        self.quantity = quantity_shown(row.quantity)
        self.unit = row.unit
        self.price = row.price
        self.coefficient = coefficient_shown(row.coefficient)
        self.amount = row.amount


@strawberry.type
class Bill(Node):
    row: strawberry.Private[Row]
    ledger: strawberry.Private[Ledger]
    id: strawberry.ID = strawberry.field(default=None)

    @strawberry.field
    async def personal_account(
        self, info: strawberry.Info
    ) -> Annotated[PersonalAccount, strawberry.lazy("schema.personal_account")]:
        from schema.personal_account import PersonalAccount

        return PersonalAccount(
            row=await loaders.PersonalAccountByIdLoader.of(info.context).load(self.row.personal_account_id)
        )

    number: str = strawberry.field(default=None)
    category: ChargeCategory = strawberry.field(default=None)
    kind: BillKind = strawberry.field(default=None)
    issued_on: dt.date = strawberry.field(default=None)
    period_start: dt.date | None = strawberry.field(
        default=None, description="Billing period between two readings; null for corrections."
    )
    period_end: dt.date | None = strawberry.field(default=None)

    @strawberry.field(description="The reading that formed it, for consumption bills.")
    async def reading(self, info: strawberry.Info) -> Annotated[MeterReading, strawberry.lazy("schema.reading")] | None:
        from schema.reading import MeterReading

        if self.row.reading_id is None:
            return None
        row = await loaders.ReadingByIdLoader.of(info.context).load(self.row.reading_id)
        return MeterReading(row=row) if row is not None else None

    due_on: dt.date | None = strawberry.field(default=None)
    amount: Decimal = strawberry.field(default=None)
    status: BillStatus = strawberry.field(default=None)
    amount_due: Decimal = strawberry.field(
        default=None, description="What is still owed on this bill after payments were applied oldest bill first."
    )

    def __post_init__(self) -> None:
        # Plain attributes, filled once (the allocation's status and due included): Strawberry
        # resolves them without a resolver call each.
        row = self.row
        self.id = strawberry.ID(global_id("Bill", row.id))
        self.number = str(row.number)
        self.category = row.category
        self.kind = row.kind
        self.issued_on = row.issued_on
        self.period_start = row.period_start
        self.period_end = row.period_end
        self.due_on = row.due_on
        self.amount = row.amount
        self.status = self.ledger.allocation.status(row)
        self.amount_due = self.ledger.allocation.due.get(row.id, Decimal("0.00"))

    @strawberry.field
    async def lines(self, info: strawberry.Info) -> list[BillLine]:
        return [BillLine(row=r) for r in await loaders.BillLinesByBillIdLoader.of(info.context).load(self.row.id)]

    @strawberry.field(description="A short-lived link to the bill as PDF, usable without headers.")
    def pdf_url(self, info: strawberry.Info) -> str:
        return document_link(settings=info.context.settings, kind=BILL, pk=self.row.id, now=utc_now())


async def bill_of(info: strawberry.Info, bill_id: int | None) -> Bill | None:
    """A bill by id, with the ledger that gives its status (None until issued)."""
    if bill_id is None:
        return None
    owner = await loaders.OwnerByIdLoader.for_type(info.context, "Bill").load(bill_id)
    if owner is None:
        return None
    ledger = await pa_resolvers.ledger(info.context, owner)
    row = ledger.bills_by_id.get(bill_id)
    return Bill(row=row, ledger=ledger) if row is not None else None


@strawberry.type
class BillEdge(Edge):
    node: Bill


@strawberry.type
class BillConnection(AmountListingFields):
    ledger: strawberry.Private[Ledger]

    @strawberry.field
    def edges(self) -> list[BillEdge]:
        return [BillEdge(node=Bill(row=row, ledger=self.ledger), page=self.page, row=row) for row in self.page.rows]
