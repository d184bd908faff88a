"""Aggregators: debt lookup, posting payments, their own registry (scopes: the fields' permissions)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from models.base import ChargeCategory
from resolvers.context import RequestContext, utc_now
from resolvers.transaction import in_transaction
from services import aggregators
from services.aggregators import DebtLookupData, PostOutcome, Registry
from services.periods import period_resolve


async def debt_lookup(ctx: RequestContext, *, res_code: str, personal_account_number: str) -> DebtLookupData:
    today = ctx.settings.today()
    return await ctx.read_driver(
        lambda connection, seen: aggregators.debt_lookup(
            connection=connection,
            seen=seen,
            res_code=res_code,
            personal_account_number=personal_account_number,
            today=today,
        ),
        # The operation's only field: its one statement is its own snapshot (PgBouncer aside,
        # where every statement runs inside a transaction).
        alone=ctx.lone_field and not ctx.settings.db_pgbouncer,
    )


async def payment_post(
    ctx: RequestContext,
    *,
    res_code: str,
    personal_account_number: str,
    category: ChargeCategory,
    amount: Decimal,
    transaction_id: str,
    paid_at: dt.datetime,
) -> PostOutcome:
    client = await ctx.api_caller()  # its scope: the field's permission
    return await in_transaction(
        ctx,
        lambda s: aggregators.aggregator_payment_post(
            session=s,
            api_client_id=client.id,
            res_code=res_code,
            personal_account_number=personal_account_number,
            category=category,
            amount=amount,
            transaction_id=transaction_id,
            paid_at=paid_at,
            now=utc_now(),
            max_amount=ctx.settings.payment_max_amount,
        ),
    )


async def payments(
    ctx: RequestContext, *, start: dt.date | None, end: dt.date | None, first: int | None, after: str | None
) -> Registry:
    client = await ctx.api_caller()  # its scope: the field's permission
    period = period_resolve(start=start, end=end, today=ctx.settings.today())
    return await ctx.read(
        lambda s: aggregators.aggregator_payments_registry(
            session=s, api_client_id=client.id, period=period, first=first, after=after
        )
    )
