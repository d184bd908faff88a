"""Reconciliation: ask the bank about open card payments, settle them, expire the stale ones.

A callback can be lost; the status API is the bank's word too. Payments past
their time with no success from the bank expire; a success that comes later
still credits (card_payments.bank_status_apply).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from decimal import Decimal, InvalidOperation

import httpx
from sqlalchemy import and_, or_, select

from config import Settings
from db import Database
from models import InternetPayment
from models.base import InternetPaymentStatus
from payments.bank_client import BankUnavailable, bank_status
from services.card_payments import OPEN, bank_status_apply, liqpay_keys, order_id, payment_expire

log = logging.getLogger(f"cabinet.{__name__}")


async def payments_due_for_check(*, db: Database, settings: Settings, now: dt.datetime, limit: int = 100) -> list[int]:
    """Open payments past the poll delay, and cancelled ones (EXPIRED before their time) while
    the bank's page could still take the card, and a poll's worth after."""
    cancelled_but_payable = and_(
        InternetPayment.status == InternetPaymentStatus.EXPIRED,
        InternetPayment.expires_at > now - settings.payment_poll_after,
    )
    async with db.sessions() as session:
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


async def payment_reconcile(
    *, db: Database, settings: Settings, client: httpx.AsyncClient, payment_id: int, now: dt.datetime
) -> str:
    """One payment: the bank's status applied, or expiry once its time is up."""
    async with db.sessions() as session:
        order = order_id(await session.get(InternetPayment, payment_id))
    try:
        answer = await bank_status(client=client, url=settings.bank_api_url, keys=liqpay_keys(settings), order_id=order)
    except BankUnavailable as e:
        log.warning("status API unavailable for %s: %s", order, e)
        answer = None
    async with db.transaction() as session:
        payment = (
            await session.execute(select(InternetPayment).where(InternetPayment.id == payment_id).with_for_update())
        ).scalar_one()
        known = answer is not None and answer.get("result") == "ok" and answer.get("order_id") == order
        if known and _same_amount(answer.get("amount"), payment.amount):
            verdict = await bank_status_apply(session=session, settings=settings, payment=payment, params=answer, now=now)
            if verdict.changed:
                return verdict.outcome
        # The bank cannot vouch for a success: expire it once its time is up.
        if answer is not None and await payment_expire(session=session, payment=payment, now=now):
            return "expired"
    return "unchanged"


def _same_amount(value: object, amount: Decimal) -> bool:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01")) == amount
    except InvalidOperation:
        return False


async def reconciliation_round(*, db: Database, settings: Settings, client: httpx.AsyncClient, now: dt.datetime | None = None) -> dict[int, str]:
    now = now or settings.now()
    results = {}
    for payment_id in await payments_due_for_check(db=db, settings=settings, now=now):
        results[payment_id] = await payment_reconcile(db=db, settings=settings, client=client, payment_id=payment_id, now=now)
    return results


async def reconciliation_worker(db: Database, settings: Settings, stop: asyncio.Event) -> None:
    log.info("payment reconciliation started: %s", settings.bank_api_url)
    async with httpx.AsyncClient(timeout=10.0) as client:
        while not stop.is_set():
            try:
                await reconciliation_round(db=db, settings=settings, client=client)
            except Exception:  # a bad round must not end the worker
                log.exception("reconciliation round failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=settings.payment_poll_interval)
            except TimeoutError:
                pass
