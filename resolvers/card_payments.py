"""paymentStart for a personal account one may see; paymentCancel for a payment one may see."""

from __future__ import annotations

from decimal import Decimal

from models.base import ChargeCategory
from resolvers import personal_accounts as pa_resolvers
from resolvers.context import RequestContext
from resolvers.ids import pk_of
from resolvers.transaction import in_transaction
from services import card_payments
from services.card_payments import StartOutcome
from services.errors import NotFound


async def payment_start(
    ctx: RequestContext,
    *,
    personal_account_id: str,
    category: ChargeCategory | None,
    amount: Decimal,
    bill_id: str | None,
    idempotency_key: str,
    return_url: str | None,
) -> StartOutcome:
    viewer = await ctx.viewer()
    pa = pk_of(personal_account_id, "PersonalAccount")
    if pa is None or not await pa_resolvers.may_see(ctx, pa):
        raise NotFound(("input", "personalAccountId"))
    bill = None
    if bill_id is not None:
        bill = pk_of(bill_id, "Bill")
        if bill is None:
            raise NotFound(("input", "billId"))
    return await in_transaction(
        ctx,
        lambda s: card_payments.payment_start(
            session=s,
            settings=ctx.settings,
            account_id=viewer.account_id,
            personal_account_id=pa,
            category=category,
            bill_id=bill,
            amount=amount,
            idempotency_key=idempotency_key,
            return_url=return_url,
            now=ctx.settings.now(),
        ),
    )


async def payment_cancel(ctx: RequestContext, *, payment_id: str) -> int:
    viewer = await ctx.viewer()
    pk = pk_of(payment_id, "InternetPayment")
    if pk is None or not await pa_resolvers.owned(ctx, "InternetPayment", pk):
        raise NotFound(("id",))
    return await in_transaction(
        ctx, lambda s: card_payments.payment_cancel(session=s, payment_id=pk, account_id=viewer.account_id)
    )
