"""One transaction per mutation: all or nothing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from db import unavailable
from replicas import stamp_read_after
from resolvers.context import RequestContext
from services.errors import DomainError

T = TypeVar("T")
log = logging.getLogger(f"cabinet.{__name__}")


async def in_transaction(ctx: RequestContext, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Commit when `work` returns; roll back when it raises, unless the refusal keeps its record.

    The request's read snapshot ends before (its connection serves the write) and
    after (what the mutation returns is read from a snapshot that shows its commit).
    A connection found dead before the commit was sent (the server restarted since the pool
    last used it) rolled everything back, so the work runs once more on a fresh one; a
    failure at the commit itself is left to the client, whose retry the mutation recognises.
    """
    await ctx.snapshot_end()
    try:
        return await _committed(ctx, work)
    finally:
        await ctx.snapshot_end()


async def _committed(ctx: RequestContext, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    for attempt in (1, 2):
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
            except Exception as error:
                await _rollback_quietly(session)
                if attempt == 1 and unavailable(error):
                    continue
                raise
            except BaseException:
                await _rollback_quietly(session)
                raise
            await session.commit()
            await _reads_after_write(ctx, session)
            return result
    raise AssertionError("unreachable")


async def _reads_after_write(ctx: RequestContext, session: AsyncSession) -> None:
    """With replicas: the signed-in person's next queries wait for a replica that has this."""
    account_id = ctx.signed_in_account_id()
    if ctx.db.replicas is None or account_id is None:
        return
    try:
        await stamp_read_after(session, account_id=account_id)
    except Exception:  # noqa: BLE001  the write stands; its reads may then come from the primary's lag window
        log.warning("read-after stamp failed for account %s", account_id, exc_info=True)


async def _rollback_quietly(session: AsyncSession) -> None:
    try:
        await session.rollback()
    except Exception:  # noqa: BLE001  a dead connection has nothing to roll back
        log.debug("rollback on a failed connection", exc_info=True)
