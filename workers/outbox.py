"""The outbox worker: rounds of due letters, one transaction per letter (mail/sender.py holds
how one letter is claimed, sent and settled)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

from config import Settings
from db import Database
from mail.sender import Transport, letter_deliver, transport_for

log = logging.getLogger("cabinet.workers.outbox")

# Letters per round; a full round is followed at once by the next one.
ROUND_LIMIT = 50
# The longest pause after rounds that failed (the database being away).
MAX_ERROR_PAUSE = 60.0


async def outbox_deliver_due(
    *,
    db: Database,
    settings: Settings,
    transport: Transport,
    now: dt.datetime | None = None,
    limit: int = ROUND_LIMIT,
    stop: asyncio.Event | None = None,
) -> int:
    """Send up to `limit` due letters, one transaction each; returns how many were sent.

    A failed letter is backed off and the round goes on with the others. A
    letter is tried at most once per round, even when its retry is due at once.
    """
    tried: list[int] = []
    sent = 0
    try:
        while len(tried) < limit and not (stop is not None and stop.is_set()):
            # Each letter is its own short transaction: one row lock per worker, never a batch.
            async with db.transaction() as session:
                outcome = await letter_deliver(
                    session=session, settings=settings, transport=transport, now=now, tried=tried
                )
            if outcome is None:
                break
            row_id, delivered = outcome
            tried.append(row_id)
            sent += delivered
    finally:
        await transport.close()
    return sent


async def outbox_worker(db: Database, settings: Settings, stop: asyncio.Event) -> None:
    """Send due mail until `stop` is set; a failed round is logged and the loop goes on."""
    transport = transport_for(settings)
    log.info("outbox worker started: %r", transport)
    failures = 0
    while not stop.is_set():
        try:
            sent = await outbox_deliver_due(db=db, settings=settings, transport=transport, limit=ROUND_LIMIT, stop=stop)
            failures = 0
        except Exception:
            failures += 1
            sent = 0
            log.exception("outbox round failed (%s in a row)", failures)
        if sent:
            log.info("outbox: %s letters sent", sent)
        if sent < ROUND_LIMIT:  # nothing more is due now; a full round goes straight on
            await pause(stop, idle_pause(settings, failures))
    log.info("outbox worker stopped")


def idle_pause(settings: Settings, failures: int) -> float:
    # Failing rounds (the database away) back off so the log is not flooded.
    if not failures:
        return settings.mail_poll_interval
    return min(settings.mail_poll_interval * 2 ** min(failures, 10), MAX_ERROR_PAUSE)


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake as soon as `stop` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
