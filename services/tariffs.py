"""Tariff versions as data, read for pricing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from itertools import groupby

from sqlalchemy import Row, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Tariff, TariffBlock
from services import pricing

# A digest of every version and block as stored: what the cache below is keyed by. A
# statement that reads other things too (services/readings.FACTS_SQL) computes it in passing.
TARIFFS_KEY_SQL = """(SELECT md5(coalesce(string_agg(ROW(t.id, t.valid_from, t.mode, t.name, tb.block, tb.upper_bound,
                                                   tb.price)::text, ';' ORDER BY t.valid_from, t.id, tb.block), ''))
   FROM tariff t LEFT JOIN tariff_block tb ON tb.tariff_id = t.id)"""

# The versions as parsed last, under the digest of what they were parsed from: a change to
# any row changes the digest, and the next reading parses them again.
_parsed: tuple[str, list[pricing.TariffVersion]] | None = None


async def tariffs_load(*, session: AsyncSession) -> list[pricing.TariffVersion]:
    """Every version with its blocks (a few dozen rows at most), in one statement."""
    return (await _tariffs_read(session))[1]


async def tariffs_by_key(*, session: AsyncSession, key: str) -> list[pricing.TariffVersion]:
    """The versions whose digest is `key` (read in the caller's own statement): parsed once
    per process while they stay the same. Callers do not change what they get."""
    global _parsed
    if _parsed is not None and _parsed[0] == key:
        return _parsed[1]
    # Kept under the digest read with the rows themselves (one snapshot): if they changed since
    # the caller's statement, the next reading misses and parses again; none gets stale ones.
    _parsed = await _tariffs_read(session)
    return _parsed[1]


async def _tariffs_read(session: AsyncSession) -> tuple[str, list[pricing.TariffVersion]]:
    """The versions and their digest, in one statement."""
    rows: Sequence[Row] = (
        await session.execute(
            select(
                Tariff.id,
                Tariff.valid_from,
                Tariff.mode,
                Tariff.name,
                TariffBlock.block,
                TariffBlock.upper_bound,
                TariffBlock.price,
                literal_column(TARIFFS_KEY_SQL).label("tariffs_key"),
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
    # No versions at all: no row to carry the digest, which is then that of nothing.
    return (rows[0].tariffs_key if rows else _EMPTY_KEY), versions


_EMPTY_KEY = "d41d8cd98f00b204e9800998ecf8427e"  # md5 of '', as TARIFFS_KEY_SQL gives for no rows


async def tariff_starts_load(*, session: AsyncSession) -> list[dt.date]:
    """The days the versions came into force: where consumption is split (pricing)."""
    return list((await session.execute(select(Tariff.valid_from).order_by(Tariff.valid_from))).scalars())
