"""Aggregators' part of the API: debtLookup, aggregatorPaymentPost, aggregatorPayments.

Callers authenticate with `Authorization: ApiKey <key>`; they never see
customer data beyond the holder's surname and initials and the debt.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import strawberry

from resolvers import aggregators as aggregator_resolvers
from schema.common import DateRange, Edge, PageInfo
from schema.enums import ChargeCategory
from schema.errors import OperationError, ValidationError, result_of
from schema.extensions import period_check
from schema.permissions import scoped
from schema.personal_account import Debt, debt_shown
from services.aggregators import AggregatorPaymentView, DebtLookupData, PostOutcome, Registry
from services.api_clients import SCOPE_DEBT_READ, SCOPE_PAYMENTS_WRITE


@strawberry.type
class DebtLookup:
    data: strawberry.Private[DebtLookupData]

    @strawberry.field
    def res_code(self) -> str:
        return self.data.res_code

    @strawberry.field
    def personal_account_number(self) -> str:
        return self.data.personal_account_number

    @strawberry.field(description="Surname and initials only, e.g. `Лысенко А. А.`")
    def holder_name(self) -> str:
        return self.data.holder_name

    @strawberry.field
    def debt(self) -> Debt:
        return debt_shown(self.data.debt)


DebtLookupResult = Annotated[DebtLookup | ValidationError | OperationError, strawberry.union("DebtLookupResult")]


@strawberry.type(description="A payment posted by an aggregator, as the aggregator sees it (no customer data).")
class AggregatorPayment:
    view: strawberry.Private[AggregatorPaymentView]

    @strawberry.field
    def transaction_id(self) -> str:
        return self.view.transaction_id

    @strawberry.field
    def res_code(self) -> str:
        return self.view.res_code

    @strawberry.field
    def personal_account_number(self) -> str:
        return self.view.personal_account_number

    @strawberry.field
    def category(self) -> ChargeCategory:
        return self.view.category

    @strawberry.field
    def amount(self) -> Decimal:
        return self.view.amount

    @strawberry.field
    def paid_at(self) -> dt.datetime:
        return self.view.paid_at

    @strawberry.field(description="When the cabinet recorded it.")
    def posted_at(self) -> dt.datetime:
        return self.view.posted_at


@strawberry.type
class AggregatorPaymentEdge(Edge):
    node: AggregatorPayment


@strawberry.type(description="The calling aggregator's registry, for daily reconciliation.")
class AggregatorPaymentConnection:
    registry: strawberry.Private[Registry]

    @strawberry.field
    def edges(self) -> list[AggregatorPaymentEdge]:
        page = self.registry.page
        return [AggregatorPaymentEdge(node=AggregatorPayment(view=v), page=page, row=v) for v in page.rows]

    @strawberry.field
    def period(self) -> DateRange:
        return DateRange.of(self.registry.period)

    @strawberry.field
    def page_info(self) -> PageInfo:
        return PageInfo.of(self.registry.page)

    @strawberry.field
    def total_count(self) -> int:
        return self.registry.total_count

    @strawberry.field
    def total_amount(self) -> Decimal:
        return self.registry.total_amount


@strawberry.input
class AggregatorPaymentPostInput:
    res_code: str
    personal_account_number: str
    category: ChargeCategory
    amount: Decimal
    transaction_id: str = strawberry.field(
        description="The aggregator's own transaction id; posting it again changes nothing."
    )
    paid_at: dt.datetime = strawberry.field(description="When the customer paid; must carry a UTC offset.")


@strawberry.type
class AggregatorPaymentPostSuccess:
    payment: AggregatorPayment
    duplicate: bool = strawberry.field(description="True when this transactionId had been posted before.")

    @classmethod
    def of(cls, outcome: PostOutcome) -> AggregatorPaymentPostSuccess:
        return cls(payment=AggregatorPayment(view=outcome.payment), duplicate=outcome.duplicate)


AggregatorPaymentPostResult = Annotated[
    AggregatorPaymentPostSuccess | ValidationError | OperationError, strawberry.union("AggregatorPaymentPostResult")
]

FromDate = Annotated[dt.date | None, strawberry.argument(name="from")]


@strawberry.type
class AggregatorQueries:
    @strawberry.field(
        description="Aggregators (scope debt:read): debt of one personal account.", extensions=scoped(SCOPE_DEBT_READ)
    )
    async def debt_lookup(self, info: strawberry.Info, res_code: str, personal_account_number: str) -> DebtLookupResult:
        return await result_of(
            info,
            aggregator_resolvers.debt_lookup(
                info.context, res_code=res_code, personal_account_number=personal_account_number
            ),
            lambda d: DebtLookup(data=d),
        )

    @strawberry.field(
        description="Aggregators (scope payments:write): their own posted payments, by Kyiv date of paidAt.",
        extensions=scoped(SCOPE_PAYMENTS_WRITE),
    )
    async def aggregator_payments(
        self,
        info: strawberry.Info,
        from_: FromDate = None,
        to: dt.date | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> AggregatorPaymentConnection:
        registry = await aggregator_resolvers.payments(info.context, start=from_, end=to, first=first, after=after)
        period_check(info, registry.period)
        return AggregatorPaymentConnection(registry=registry)


@strawberry.type
class AggregatorMutations:
    @strawberry.mutation(
        description="Aggregators (scope payments:write): record a payment taken for a personal account.",
        extensions=scoped(SCOPE_PAYMENTS_WRITE),
    )
    async def aggregator_payment_post(
        self, info: strawberry.Info, input: AggregatorPaymentPostInput
    ) -> AggregatorPaymentPostResult:
        return await result_of(
            info,
            aggregator_resolvers.payment_post(
                info.context,
                res_code=input.res_code,
                personal_account_number=input.personal_account_number,
                category=input.category,
                amount=input.amount,
                transaction_id=input.transaction_id,
                paid_at=input.paid_at,
            ),
            AggregatorPaymentPostSuccess.of,
        )
