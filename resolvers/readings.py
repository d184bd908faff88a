"""Meter readings: preview and submit for a personal account one may see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from resolvers import personal_accounts as pa_resolvers
from resolvers.context import RequestContext
from resolvers.ids import pk_of
from resolvers.transaction import in_transaction
from services import readings
from services.errors import NotFound
from services.readings import ReadingEvaluation, SubmitOutcome, ZoneReading

ID_PATH = ("input", "personalAccountId")


async def _personal_account_id(ctx: RequestContext, value: str) -> int:
    await ctx.viewer()
    pk = pk_of(value, "PersonalAccount")
    if pk is None or not await pa_resolvers.may_see(ctx, pk):
        raise NotFound(ID_PATH)
    return pk


async def preview(
    ctx: RequestContext, *, personal_account_id: str, taken_on: dt.date, values: Sequence[ZoneReading]
) -> ReadingEvaluation:
    pk = await _personal_account_id(ctx, personal_account_id)
    return await ctx.read(
        lambda s: readings.reading_evaluate(
            session=s, settings=ctx.settings, personal_account_id=pk, taken_on=taken_on, values=values
        )
    )


async def submit(
    ctx: RequestContext, *, personal_account_id: str, taken_on: dt.date, values: Sequence[ZoneReading]
) -> SubmitOutcome:
    pk = await _personal_account_id(ctx, personal_account_id)
    viewer = await ctx.viewer()
    return await in_transaction(
        ctx,
        lambda s: readings.reading_submit(
            session=s,
            settings=ctx.settings,
            personal_account_id=pk,
            taken_on=taken_on,
            values=values,
            account_id=viewer.account_id,
            language=ctx.language,
        ),
    )
