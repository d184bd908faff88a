"""Reference data: oblasts with their RES, and the user agreement in force."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Oblast, Res, Terms


async def oblasts_with_res(*, session: AsyncSession) -> list[tuple[Oblast, list[Res]]]:
    oblasts = (await session.execute(select(Oblast).order_by(Oblast.name))).scalars().all()
    res_rows = (await session.execute(select(Res).order_by(Res.name))).scalars().all()
    by_oblast: dict[str, list[Res]] = {}
    for res in res_rows:
        by_oblast.setdefault(res.oblast_code, []).append(res)
    return [(o, by_oblast.get(o.code, [])) for o in oblasts]


async def oblast_get(*, session: AsyncSession, code: str) -> Oblast | None:
    return await session.get(Oblast, code)


async def terms_in_force(*, session: AsyncSession, today: dt.date) -> Terms | None:
    return (
        await session.execute(
            select(Terms).where(Terms.in_force_from <= today).order_by(Terms.in_force_from.desc()).limit(1)
        )
    ).scalar_one_or_none()
