"""Live payment status across server processes, through PostgreSQL LISTEN/NOTIFY.

Each process keeps one listening connection; a state change anywhere runs
pg_notify('internet_payment', id) in its transaction (card_payments.payment_notify),
and PostgreSQL delivers it after commit to every process's listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg

from services.card_payments import NOTIFY_CHANNEL

log = logging.getLogger(f"cabinet.{__name__}")


class PaymentUpdates:
    """Wakes the watchers of a payment when PostgreSQL says it changed."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn.replace("postgresql+asyncpg://", "postgresql://", 1)
        self._connection: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._watchers: dict[int, set[asyncio.Event]] = {}

    async def _listening(self) -> None:
        async with self._lock:
            if self._connection is None or self._connection.is_closed():
                self._connection = await asyncpg.connect(self._dsn)
                await self._connection.add_listener(NOTIFY_CHANNEL, self._notified)

    def _notified(self, connection, pid, channel, payload: str) -> None:
        try:
            payment_id = int(payload)
        except ValueError:
            return
        for event in self._watchers.get(payment_id, ()):
            event.set()

    @contextlib.asynccontextmanager
    async def watch(self, payment_id: int) -> AsyncIterator[asyncio.Event]:
        """An event set on each change of the payment; registered before the caller's first read,
        so no change between that read and the next wait is missed."""
        await self._listening()
        event = asyncio.Event()
        self._watchers.setdefault(payment_id, set()).add(event)
        try:
            yield event
        finally:
            watchers = self._watchers.get(payment_id)
            if watchers is not None:
                watchers.discard(event)
                if not watchers:
                    del self._watchers[payment_id]

    async def close(self) -> None:
        async with self._lock:
            if self._connection is not None and not self._connection.is_closed():
                await self._connection.close()
            self._connection = None
