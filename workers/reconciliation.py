"""The reconciliation worker: every poll interval, ask the bank's status API about the card
payments that need it and settle each in its own transaction (services/reconciliation.py)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

import httpx

from config import Settings
from db import Database
from payments.bank_client import BankUnavailable, bank_status
from services.card_payments import liqpay_keys
from services.reconciliation import payment_order_id, payment_settle, payments_due_for_check

log = logging.getLogger("cabinet.workers.reconciliation")


async def payment_reconcile(
    *, db: Database, settings: Settings, client: httpx.AsyncClient, payment_id: int, now: dt.datetime
) -> str:
    """One payment: the bank asked outside any transaction, its answer settled inside one."""
    async with db.sessions() as session:
        order = await payment_order_id(session=session, payment_id=payment_id)
    try:
        answer = await bank_status(client=client, url=settings.bank_api_url, keys=liqpay_keys(settings), order_id=order)
    except BankUnavailable as e:
        log.warning("status API unavailable for %s: %s", order, e)
        answer = None
    async with db.transaction() as session:
        return await payment_settle(
            session=session, settings=settings, payment_id=payment_id, order=order, answer=answer, now=now
        )


async def reconciliation_round(
    *, db: Database, settings: Settings, client: httpx.AsyncClient, now: dt.datetime | None = None
) -> dict[int, str]:
    now = now or settings.now()
    async with db.sessions() as session:
        due = await payments_due_for_check(session=session, settings=settings, now=now)
    return {
        payment_id: await payment_reconcile(db=db, settings=settings, client=client, payment_id=payment_id, now=now)
        for payment_id in due
    }


async def reconciliation_worker(db: Database, settings: Settings, stop: asyncio.Event) -> None:
    log.info("payment reconciliation started: %s", settings.bank_api_url)
    async with httpx.AsyncClient(timeout=10.0) as client:
        while not stop.is_set():
            try:
                await reconciliation_round(db=db, settings=settings, client=client)
            except Exception:  # a bad round must not end the worker
                log.exception("reconciliation round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.payment_poll_interval)
