"""Growing delays after repeated failures, per login, client address or evidence target."""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from sqlalchemy import case, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from models import Throttle
from services.errors import OperationRefused

FORGET_AFTER = dt.timedelta(days=1)


async def throttle_check(*, session: AsyncSession, keys: Sequence[str], now: dt.datetime) -> None:
    """Refuse with TOO_MANY_ATTEMPTS while any key is in its delay."""
    rows = await session.execute(
        select(Throttle.blocked_until).where(Throttle.key.in_(keys), Throttle.blocked_until > now)
    )
    until = max((r.blocked_until for r in rows), default=None)
    if until is not None:
        wait = math.ceil((until - now).total_seconds())
        raise OperationRefused("TOO_MANY_ATTEMPTS", retry_after=max(wait, 1))


async def throttle_fail(
    *, session: AsyncSession, settings: Settings, keys: Sequence[str], now: dt.datetime
) -> None:
    """Count a failure on each key; past the free ones, each doubles the delay."""
    for key in sorted(set(keys)):  # a fixed order, so concurrent failures cannot deadlock
        stmt = insert(Throttle).values(key=key, failures=1, updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[Throttle.key],
            set_={
                # Failures a day old are forgiven: counting restarts.
                "failures": case(
                    (Throttle.updated_at < now - FORGET_AFTER, 1), else_=Throttle.failures + 1
                ),
                "updated_at": now,
            },
        ).returning(Throttle.failures)
        failures = (await session.execute(stmt)).scalar_one()
        excess = failures - settings.throttle_free_failures
        if excess > 0:
            delay = min(
                settings.throttle_base_delay * (2 ** min(excess - 1, 30)),
                settings.throttle_max_delay,
            )
            await session.execute(
                Throttle.__table__.update()
                .where(Throttle.key == key)
                .values(blocked_until=now + delay)
            )


async def throttle_clear(*, session: AsyncSession, key: str) -> None:
    await session.execute(delete(Throttle).where(Throttle.key == key))
