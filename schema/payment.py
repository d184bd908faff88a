"""Payments from every channel, and card payments made in the cabinet."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import Row

from resolvers import loaders
from resolvers.context import utc_now
from resolvers.ids import global_id
from schema.bill import Bill, bill_of
from schema.common import AmountListingFields, Edge
from schema.enums import ChargeCategory, InternetPaymentStatus, PaymentChannel
from schema.node import Node
from services.documents import RECEIPT, RECEIPT_STATUSES, document_link

if TYPE_CHECKING:
    from schema.personal_account import PersonalAccount

PersonalAccountRef = Annotated["PersonalAccount", strawberry.lazy("schema.personal_account")]


async def _personal_account(info: strawberry.Info, pk: int):
    from schema.personal_account import PersonalAccount

    return PersonalAccount(row=await loaders.PersonalAccountByIdLoader.of(info.context).load(pk))


@strawberry.type(description="Money received for a personal account, from any channel.")
class Payment(Node):
    row: strawberry.Private[Row]
    id: strawberry.ID = strawberry.field(default=None)
    paid_on: dt.date = strawberry.field(default=None)
    amount: Decimal = strawberry.field(default=None)
    category: ChargeCategory = strawberry.field(default=None)
    channel: PaymentChannel = strawberry.field(default=None)

    def __post_init__(self) -> None:
        # Plain attributes, filled once: Strawberry resolves them without a resolver call each.
        row = self.row
        self.id = strawberry.ID(global_id("Payment", row.id))
        self.paid_on = row.paid_on
        self.amount = row.amount
        self.category = row.category
        self.channel = row.channel

    @strawberry.field
    async def personal_account(self, info: strawberry.Info) -> PersonalAccountRef:
        return await _personal_account(info, self.row.personal_account_id)


@strawberry.type
class PaymentEdge(Edge):
    node: Payment


@strawberry.type
class PaymentConnection(AmountListingFields):
    @strawberry.field
    def edges(self) -> list[PaymentEdge]:
        return [PaymentEdge(node=Payment(row=r), page=self.page, row=r) for r in self.page.rows]


@strawberry.type(description="A card payment started in the cabinet and confirmed by the bank.")
class InternetPayment(Node):
    row: strawberry.Private[Row]
    id: strawberry.ID = strawberry.field(default=None)
    number: int = strawberry.field(default=None, description="The number shown to people (ID платежу).")
    amount: Decimal = strawberry.field(default=None)
    category: ChargeCategory = strawberry.field(default=None)
    status: InternetPaymentStatus = strawberry.field(default=None)
    created_at: dt.datetime = strawberry.field(default=None)
    expires_at: dt.datetime = strawberry.field(
        default=None, description="After this the bank's page no longer takes the payment."
    )
    confirmed_at: dt.datetime | None = strawberry.field(default=None, description="When the bank confirmed it.")

    def __post_init__(self) -> None:
        # Plain attributes, filled once: Strawberry resolves them without a resolver call each.
        row = self.row
        self.id = strawberry.ID(global_id("InternetPayment", row.id))
        self.number = row.number
        self.amount = row.amount
        self.category = row.category
        self.status = row.status
        self.created_at = row.created_at
        self.expires_at = row.expires_at
        self.confirmed_at = row.confirmed_at

    @strawberry.field
    async def personal_account(self, info: strawberry.Info) -> PersonalAccountRef:
        return await _personal_account(info, self.row.personal_account_id)

    @strawberry.field
    async def bill(self, info: strawberry.Info) -> Bill | None:
        return await bill_of(info, self.row.bill_id)

    @strawberry.field(description="A short-lived link to the receipt PDF, once processed.")
    def receipt_url(self, info: strawberry.Info) -> str | None:
        if self.row.status not in RECEIPT_STATUSES:
            return None
        return document_link(settings=info.context.settings, kind=RECEIPT, pk=self.row.id, now=utc_now())


@strawberry.type
class InternetPaymentEdge(Edge):
    node: InternetPayment


@strawberry.type
class InternetPaymentConnection(AmountListingFields):
    @strawberry.field
    def edges(self) -> list[InternetPaymentEdge]:
        return [InternetPaymentEdge(node=InternetPayment(row=r), page=self.page, row=r) for r in self.page.rows]
