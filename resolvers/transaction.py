"""One transaction per mutation: all or nothing."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.context import RequestContext
from services.errors import DomainError

T = TypeVar("T")


async def in_transaction(ctx: RequestContext, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Commit when `work` returns; roll back when it raises, unless the refusal keeps its record.

    The request's read snapshot ends before (its connection serves the write) and
    after (what the mutation returns is read from a snapshot that shows its commit).
    """
    await ctx.snapshot_end()
    try:
        async with ctx.db.sessions() as session:
            await session.begin()
            try:
                result = await work(session)
            except DomainError as e:
                if e.keep_changes:
                    await session.commit()
                else:
                    await session.rollback()
                raise
            except BaseException:
                await session.rollback()
                raise
            await session.commit()
            return result
    finally:
        await ctx.snapshot_end()
