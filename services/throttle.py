"""Throttling: growing delays per login or evidence target, hourly limits per client address.

- **Growing delays** (`throttle`): after the free failures each further one
  doubles the wait. An attempt is reserved, counted as failed with its delay
  set, before the costly check (Argon2, the evidence), and the upsert holds the
  key's row until the transaction ends: parallel attempts on one key take
  turns, so N at once give at most the free failures plus one check. A success
  clears the key.
- **Hourly limits** (`throttle_subject`): a key counts distinct subjects over
  the last hour, e.g. the logins a client address failed to sign in to. These
  take no lock, so one address's sign-ins never wait for each other; a burst
  can pass a limit by the attempts in flight at that moment (each holds a
  database connection, so at most the pools' size). `hourly_reserve` counts
  exactly, under a lock on its key, where every use matters (a letter sent).
"""

from __future__ import annotations

import datetime as dt
import math
import secrets

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from models import Throttle, ThrottleSubject
from services.errors import OperationRefused

FORGET_AFTER = dt.timedelta(days=1)
WINDOW = dt.timedelta(hours=1)


def address_key(purpose: str, client_address: str | None) -> str:
    """The key a client address is counted on for one purpose (sign-in, evidence, registration)."""
    return f"{purpose}-ip:" + (client_address or "unknown")


def _too_many(until: dt.datetime, now: dt.datetime) -> OperationRefused:
    wait = math.ceil((until - now).total_seconds())
    return OperationRefused("TOO_MANY_ATTEMPTS", retry_after=max(wait, 1))


def _delay(settings: Settings, failures: int) -> dt.timedelta | None:
    excess = failures - settings.throttle_free_failures
    if excess <= 0:
        return None
    return min(settings.throttle_base_delay * (2 ** min(excess - 1, 30)), settings.throttle_max_delay)


async def attempt_reserve(*, session: AsyncSession, settings: Settings, key: str, now: dt.datetime) -> None:
    """Count this attempt as a failure before it is checked; TOO_MANY_ATTEMPTS while the key waits.

    A refused attempt counts nothing. A parallel attempt on the same key waits
    for this transaction and then sees this one counted.
    """
    stmt = (
        insert(Throttle)
        .values(key=key, failures=1, updated_at=now)
        .on_conflict_do_update(
            index_elements=[Throttle.key],
            set_={
                # Failures a day old are forgiven: counting restarts.
                "failures": case((Throttle.updated_at < now - FORGET_AFTER, 1), else_=Throttle.failures + 1),
                "updated_at": now,
            },
            where=or_(Throttle.blocked_until.is_(None), Throttle.blocked_until <= now),
        )
        .returning(Throttle.failures)
    )
    failures = (await session.execute(stmt)).scalar_one_or_none()
    if failures is None:
        until = (await session.execute(select(Throttle.blocked_until).where(Throttle.key == key))).scalar_one()
        raise _too_many(until or now, now)  # refused by the upsert's condition: blocked until later
    delay = _delay(settings, failures)
    if delay is not None:
        await session.execute(update(Throttle).where(Throttle.key == key).values(blocked_until=now + delay))


async def throttle_clear(*, session: AsyncSession, key: str) -> None:
    """A success: the key's failures (this attempt's reservation too) are gone."""
    await session.execute(delete(Throttle).where(Throttle.key == key))


async def subjects_check(*, session: AsyncSession, key: str, limit: int, now: dt.datetime) -> None:
    """TOO_MANY_ATTEMPTS while `key` has `limit` subjects counted in the last hour."""
    times = (
        (
            await session.execute(
                select(ThrottleSubject.counted_at)
                .where(ThrottleSubject.key == key, ThrottleSubject.counted_at > now - WINDOW)
                .order_by(ThrottleSubject.counted_at)
            )
        )
        .scalars()
        .all()
    )
    if len(times) >= limit:
        # Allowed again once enough of them are an hour old.
        raise _too_many(times[len(times) - limit] + WINDOW, now)


async def subject_count(*, session: AsyncSession, key: str, subject: str, now: dt.datetime) -> None:
    """Count `subject` for `key` (again: its time moves to now)."""
    stmt = insert(ThrottleSubject).values(key=key, subject=subject, counted_at=now)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[ThrottleSubject.key, ThrottleSubject.subject], set_={"counted_at": now}
        )
    )


async def subject_forget(*, session: AsyncSession, key: str, subject: str) -> None:
    await session.execute(delete(ThrottleSubject).where(ThrottleSubject.key == key, ThrottleSubject.subject == subject))


async def hourly_reserve(*, session: AsyncSession, key: str, limit: int, now: dt.datetime) -> None:
    """One more use of `key` in the last hour, or TOO_MANY_ATTEMPTS; exact, since the key is
    locked until the transaction ends (concurrent uses of one key take turns)."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))
    await session.execute(
        delete(ThrottleSubject).where(ThrottleSubject.key == key, ThrottleSubject.counted_at <= now - WINDOW)
    )
    await subjects_check(session=session, key=key, limit=limit, now=now)
    # Every use is its own subject.
    await subject_count(session=session, key=key, subject=secrets.token_hex(8), now=now)
