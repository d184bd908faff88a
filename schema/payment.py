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
from schema.common import AmountListingFields
from schema.enums import ChargeCategory, InternetPaymentStatus, PaymentChannel
from schema.node import Node
from services.documents import RECEIPT, RECEIPT_STATUSES, document_link

if TYPE_CHECKING:
    from schema.personal_account import PersonalAccount

PersonalAccountRef = Annotated["PersonalAccount", strawberry.lazy("schema.personal_account")]


async def _personal_account(info: strawberry.Info, pk: int):
    from schema.personal_account import PersonalAccount

    return PersonalAccount(row=await loaders.personal_account(info.context).load(pk))


@strawberry.type(description="Money received for a personal account, from any channel.")
class Payment(Node):
    row: strawberry.Private[Row]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(global_id("Payment", self.row.id))

    @strawberry.field
    async def personal_account(self, info: strawberry.Info) -> PersonalAccountRef:
        return await _personal_account(info, self.row.personal_account_id)

    @strawberry.field
    def paid_on(self) -> dt.date:
        return self.row.paid_on

    @strawberry.field
    def amount(self) -> Decimal:
        return self.row.amount

    @strawberry.field
    def category(self) -> ChargeCategory:
        return self.row.category

    @strawberry.field
    def channel(self) -> PaymentChannel:
        return self.row.channel


@strawberry.type
class PaymentEdge:
    node: Payment
    cursor: str


@strawberry.type
class PaymentConnection(AmountListingFields):

    @strawberry.field
    def edges(self) -> list[PaymentEdge]:
        return [PaymentEdge(node=Payment(row=r), cursor=c) for r, c in zip(self.page.rows, self.page.cursors, strict=True)]


@strawberry.type(description="A card payment started in the cabinet and confirmed by the bank.")
class InternetPayment(Node):
    row: strawberry.Private[Row]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(global_id("InternetPayment", self.row.id))

    @strawberry.field
    async def personal_account(self, info: strawberry.Info) -> PersonalAccountRef:
        return await _personal_account(info, self.row.personal_account_id)

    @strawberry.field(description="The number shown to people (ID платежу).")
    def number(self) -> int:
        return self.row.number

    @strawberry.field
    def amount(self) -> Decimal:
        return self.row.amount

    @strawberry.field
    def category(self) -> ChargeCategory:
        return self.row.category

    @strawberry.field
    async def bill(self, info: strawberry.Info) -> Bill | None:
        return await bill_of(info, self.row.bill_id)

    @strawberry.field
    def status(self) -> InternetPaymentStatus:
        return self.row.status

    @strawberry.field
    def created_at(self) -> dt.datetime:
        return self.row.created_at

    @strawberry.field(description="After this the bank's page no longer takes the payment.")
    def expires_at(self) -> dt.datetime:
        return self.row.expires_at

    @strawberry.field(description="When the bank confirmed it.")
    def confirmed_at(self) -> dt.datetime | None:
        return self.row.confirmed_at

    @strawberry.field(description="A short-lived link to the receipt PDF, once processed.")
    def receipt_url(self, info: strawberry.Info) -> str | None:
        if self.row.status not in RECEIPT_STATUSES:
            return None
        return document_link(settings=info.context.settings, kind=RECEIPT, pk=self.row.id, now=utc_now())


@strawberry.type
class InternetPaymentEdge:
    node: InternetPayment
    cursor: str


@strawberry.type
class InternetPaymentConnection(AmountListingFields):

    @strawberry.field
    def edges(self) -> list[InternetPaymentEdge]:
        return [
            InternetPaymentEdge(node=InternetPayment(row=r), cursor=c)
            for r, c in zip(self.page.rows, self.page.cursors, strict=True)
        ]
