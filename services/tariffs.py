"""Tariff versions as data, read for pricing."""

from __future__ import annotations

import datetime as dt
from itertools import groupby

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Tariff, TariffBlock
from services import pricing


async def tariffs_load(*, session: AsyncSession) -> list[pricing.TariffVersion]:
    """Every version with its blocks (a few dozen rows at most), in one statement."""
    rows = (
        await session.execute(
            select(
                Tariff.id,
                Tariff.valid_from,
                Tariff.mode,
                Tariff.name,
                TariffBlock.block,
                TariffBlock.upper_bound,
                TariffBlock.price,
            )
            .outerjoin(TariffBlock, TariffBlock.tariff_id == Tariff.id)
            .order_by(Tariff.valid_from, Tariff.id, TariffBlock.block)
        )
    ).all()
    versions = []
    for _, group in groupby(rows, key=lambda r: r.id):
        blocks = list(group)
        first = blocks[0]
        versions.append(
            pricing.TariffVersion(
                id=first.id,
                valid_from=first.valid_from,
                mode=first.mode.value,
                name=first.name,
                # A version with no blocks yet comes back as one row of nulls.
                blocks=tuple(pricing.TariffBlock(b.upper_bound, b.price) for b in blocks if b.block is not None),
            )
        )
    return versions


async def tariff_starts_load(*, session: AsyncSession) -> list[dt.date]:
    """The days the versions came into force: where consumption is split (pricing)."""
    return list((await session.execute(select(Tariff.valid_from).order_by(Tariff.valid_from))).scalars())
