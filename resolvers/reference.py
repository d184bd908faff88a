"""Reference data for the registration form."""

from __future__ import annotations

from models import Oblast, Res, Terms
from resolvers.context import RequestContext
from services import reference


async def oblasts(ctx: RequestContext) -> list[tuple[Oblast, list[Res]]]:
    return await ctx.read(lambda s: reference.oblasts_with_res(session=s))


async def oblast(ctx: RequestContext, code: str) -> Oblast | None:
    return await ctx.read(lambda s: reference.oblast_get(session=s, code=code))


async def terms(ctx: RequestContext) -> Terms:
    found = await ctx.read(lambda s: reference.terms_in_force(session=s, today=ctx.settings.today()))
    if found is None:
        raise RuntimeError("no user agreement is in force: load the terms")
    return found
