"""paymentStart: an InternetPayment and the form that sends the browser to the bank's page."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from resolvers import card_payments as payment_resolvers
from resolvers import loaders
from schema.enums import ChargeCategory
from schema.errors import OperationError, ValidationError, result_of
from schema.payment import InternetPayment
from services.card_payments import StartOutcome


@strawberry.type
class FormField:
    name: str
    value: str


@strawberry.type(description="Where to send the browser: an auto-submitted form to the bank's page.")
class Checkout:
    url: str
    method: str
    fields: list[FormField]


@strawberry.input
class PaymentStartInput:
    personal_account_id: strawberry.ID
    category: ChargeCategory | None = strawberry.field(
        default=None, description="Required unless billId is given (then the bill's category)."
    )
    amount: Decimal
    bill_id: strawberry.ID | None = strawberry.field(
        default=None, description="Pay this bill first; any surplus goes to the category's debt, oldest bill first."
    )
    idempotency_key: str = strawberry.field(
        description="Client-made key; a retry with the same key returns the same payment and form."
    )
    return_url: str | None = strawberry.field(
        default=None, description="Where the bank sends the person back; must match the configured allow-list."
    )


@strawberry.type
class PaymentStartSuccess:
    outcome: strawberry.Private[StartOutcome]

    @strawberry.field
    async def payment(self, info: strawberry.Info) -> InternetPayment:
        return InternetPayment(
            row=await loaders.InternetPaymentByIdLoader.of(info.context).load(self.outcome.payment_id)
        )

    @strawberry.field(
        description="True when this is the open payment of the same personal account, category and bill, "
        "started before (a closed bank tab): its own amount and form, whatever the idempotency key."
    )
    def resumed(self) -> bool:
        return self.outcome.resumed

    @strawberry.field(description="Null once the payment is final (a retry after it was processed or expired).")
    def checkout(self) -> Checkout | None:
        c = self.outcome.checkout
        if c is None:
            return None
        return Checkout(url=c.url, method=c.method, fields=[FormField(name=n, value=v) for n, v in c.fields])


PaymentStartResult = Annotated[
    PaymentStartSuccess | ValidationError | OperationError, strawberry.union("PaymentStartResult")
]


@strawberry.type
class PaymentMutations:
    @strawberry.mutation
    async def payment_start(self, info: strawberry.Info, input: PaymentStartInput) -> PaymentStartResult:
        return await result_of(
            info,
            payment_resolvers.payment_start(
                info.context,
                personal_account_id=input.personal_account_id,
                category=input.category,
                amount=input.amount,
                bill_id=input.bill_id,
                idempotency_key=input.idempotency_key,
                return_url=input.return_url,
            ),
            lambda o: PaymentStartSuccess(outcome=o),
        )
