"""Reading activation requests (the requests that link personal accounts to logins)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import ActivationRequest


async def requests_of(*, session: AsyncSession, account_ids: Sequence[int]) -> dict[int, list[ActivationRequest]]:
    """Every request of each login, newest first."""
    rows = (
        (
            await session.execute(
                select(ActivationRequest)
                .where(ActivationRequest.account_id.in_(list(account_ids)))
                .order_by(ActivationRequest.created_at.desc(), ActivationRequest.id.desc())
            )
        )
        .scalars()
        .all()
    )
    grouped: dict[int, list[ActivationRequest]] = defaultdict(list)
    for row in rows:
        if row.account_id is not None:  # the filter above: always a login's
            grouped[row.account_id].append(row)
    return grouped


async def requests_get(*, session: AsyncSession, ids: Sequence[int]) -> dict[int, ActivationRequest]:
    rows = (await session.execute(select(ActivationRequest).where(ActivationRequest.id.in_(list(ids))))).scalars().all()
    return {r.id: r for r in rows}
