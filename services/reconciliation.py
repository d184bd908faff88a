"""Reconciliation: which card payments to ask the bank about, and settling one with its answer.

A callback can be lost; the status API is the bank's word too. Payments past
their time with no success from the bank expire; a success that comes later
still credits (card_payments.bank_status_apply). The rounds and the loop, and the
transactions, are workers/reconciliation.py's; nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from models import InternetPayment
from models.base import InternetPaymentStatus
from money import kopecks
from services.card_payments import OPEN, bank_status_apply, order_id, payment_expire


async def payments_due_for_check(
    *, session: AsyncSession, settings: Settings, now: dt.datetime, limit: int = 100
) -> list[int]:
    """Open payments past the poll delay, and cancelled ones (EXPIRED before their time) while
    the bank's page could still take the card, and a poll's worth after."""
    cancelled_but_payable = and_(
        InternetPayment.status == InternetPaymentStatus.EXPIRED,
        InternetPayment.expires_at > now - settings.payment_poll_after,
    )
    rows = await session.execute(
        select(InternetPayment.id)
        .where(
            or_(InternetPayment.status.in_(OPEN), cancelled_but_payable),
            InternetPayment.created_at <= now - settings.payment_poll_after,
        )
        .order_by(InternetPayment.expires_at)
        .limit(limit)
    )
    return list(rows.scalars())


async def payment_order_id(*, session: AsyncSession, payment_id: int) -> str:
    """The order id the bank knows the payment by."""
    payment = (await session.execute(select(InternetPayment).where(InternetPayment.id == payment_id))).scalar_one()
    return order_id(payment)


async def payment_settle(
    *, session: AsyncSession, settings: Settings, payment_id: int, order: str, answer: dict | None, now: dt.datetime
) -> str:
    """One payment with the bank's status answer (None: the status API was unavailable): the
    status applied, or expiry once its time is up. The outcome's name, or "unchanged"."""
    payment = (
        await session.execute(select(InternetPayment).where(InternetPayment.id == payment_id).with_for_update())
    ).scalar_one()
    known = answer is not None and answer.get("result") == "ok" and answer.get("order_id") == order
    if answer is not None and known and _same_amount(answer.get("amount"), payment.amount):
        verdict = await bank_status_apply(session=session, settings=settings, payment=payment, params=answer, now=now)
        if verdict.changed:
            return verdict.outcome
    # The bank cannot vouch for a success: expire it once its time is up.
    if answer is not None and await payment_expire(session=session, payment=payment, now=now):
        return "expired"
    return "unchanged"


def _same_amount(value: object, amount: Decimal) -> bool:
    try:
        return kopecks(Decimal(str(value))) == amount
    except InvalidOperation:
        return False
