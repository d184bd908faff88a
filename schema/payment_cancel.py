"""paymentCancel: end a card payment the bank has not begun, so the category can be paid afresh."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import card_payments as payment_resolvers
from resolvers import loaders
from schema.errors import OperationError, ValidationError, result_of
from schema.payment import InternetPayment


@strawberry.type
class PaymentCancelSuccess:
    payment_id: strawberry.Private[int]

    @strawberry.field(
        description="EXPIRED now (or already FAILED or EXPIRED); a success the bank still reports credits."
    )
    async def payment(self, info: strawberry.Info) -> InternetPayment:
        return InternetPayment(row=await loaders.InternetPaymentByIdLoader.of(info.context).load(self.payment_id))


PaymentCancelResult = Annotated[
    PaymentCancelSuccess | ValidationError | OperationError, strawberry.union("PaymentCancelResult")
]


@strawberry.type
class PaymentCancelMutations:
    @strawberry.mutation(
        description="End a CREATED card payment (a closed bank tab); PENDING or processed ones are "
        "PAYMENT_NOT_CANCELLABLE: the bank may charge or has charged them."
    )
    async def payment_cancel(self, info: strawberry.Info, id: strawberry.ID) -> PaymentCancelResult:
        return await result_of(
            info,
            payment_resolvers.payment_cancel(info.context, payment_id=id),
            lambda pk: PaymentCancelSuccess(payment_id=pk),
        )
