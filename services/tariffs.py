"""Tariff versions as data, read for pricing."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Tariff, TariffBlock
from services import pricing


async def tariffs_load(*, session: AsyncSession) -> list[pricing.TariffVersion]:
    """Every version with its blocks (a few dozen rows at most)."""
    tariffs = (await session.execute(select(Tariff).order_by(Tariff.valid_from))).scalars().all()
    blocks = (await session.execute(select(TariffBlock).order_by(TariffBlock.tariff_id, TariffBlock.block))).scalars().all()
    by_tariff: dict[int, list[TariffBlock]] = defaultdict(list)
    for block in blocks:
        by_tariff[block.tariff_id].append(block)
    return [
        pricing.TariffVersion(
            id=t.id,
            valid_from=t.valid_from,
            mode=t.mode.value,
            name=t.name,
            blocks=tuple(pricing.TariffBlock(b.upper_bound, b.price) for b in by_tariff[t.id]),
        )
        for t in tariffs
    ]


async def tariff_starts_load(*, session: AsyncSession) -> list[dt.date]:
    """The days the versions came into force: where consumption is split (pricing)."""
    return list((await session.execute(select(Tariff.valid_from).order_by(Tariff.valid_from))).scalars())
