"""Meter readings: preview and submit for a personal account one may see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers import loaders
from resolvers import personal_accounts as pa_resolvers
from resolvers.context import RequestContext, utc_now
from resolvers.ids import pk_of
from resolvers.transaction import in_transaction
from services import readings
from services.account_records import line_row
from services.errors import NotFound
from services.readings import ReadingEvaluation, SubmitOutcome, ZoneReading
from services.tokens import token_digest
from services.viewer_records import AccountParts

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
    pk = pk_of(personal_account_id, "PersonalAccount")
    token = ctx.bearer_token
    if pk is None or token is None or ctx.viewer_known():
        return await _submit_checked_before(ctx, personal_account_id, taken_on, values)

    async def work(session: AsyncSession) -> SubmitOutcome:
        # The token check, the visibility check and the lock in the write's first statement.
        target = await readings.submit_target(
            session=session, token_digest=token_digest(token), personal_account_id=pk, now=utc_now()
        )
        ctx.viewer_set(target.viewer, target.error)
        viewer = await ctx.viewer()  # the token's refusal, if any
        if target.personal_account is None:
            raise NotFound(ID_PATH)
        loaders.PersonalAccountByIdLoader.of(ctx).prime(pk, target.personal_account)
        return await _stored(ctx, session, pk, taken_on, values, viewer.account_id, target.personal_account.number)

    outcome = await in_transaction(ctx, work)
    _answer_keep(ctx, outcome)
    return outcome


async def _submit_checked_before(
    ctx: RequestContext, personal_account_id: str, taken_on: dt.date, values: Sequence[ZoneReading]
) -> SubmitOutcome:
    """A malformed id, no bearer token, or a caller already looked up: checked as the reads check."""
    pk = await _personal_account_id(ctx, personal_account_id)
    viewer = await ctx.viewer()
    outcome = await in_transaction(ctx, lambda s: _stored(ctx, s, pk, taken_on, values, viewer.account_id))
    _answer_keep(ctx, outcome)
    return outcome


async def _stored(
    ctx: RequestContext,
    session: AsyncSession,
    pk: int,
    taken_on: dt.date,
    values: Sequence[ZoneReading],
    account_id: int,
    personal_account_number: str | None = None,
) -> SubmitOutcome:
    """The service's submit, for a caller and personal account already checked."""
    return await readings.reading_submit(
        session=session,
        settings=ctx.settings,
        personal_account_id=pk,
        taken_on=taken_on,
        values=values,
        account_id=account_id,
        language=ctx.language,
        personal_account_number=personal_account_number,
    )


def _answer_keep(ctx: RequestContext, outcome: SubmitOutcome) -> None:
    """What the write's transaction stored (or, for a replay, found) and read, kept where the
    answer's resolvers look, so the answer needs no read after the commit."""
    answer = outcome.answer
    if answer is None or outcome.bill_id is None:
        return
    pk = outcome.personal_account_id
    loaders.ReadingByIdLoader.of(ctx).prime(outcome.reading_id, answer.reading)
    loaders.OwnerByIdLoader.for_type(ctx, "Bill").prime(outcome.bill_id, pk)
    loaders.BillLinesByBillIdLoader.of(ctx).prime(outcome.bill_id, [line_row(x) for x in answer.lines])
    parts = ctx.read_ahead.setdefault(pk, AccountParts())
    parts.ledger, parts.last_reading = answer.ledger, [answer.reading]
