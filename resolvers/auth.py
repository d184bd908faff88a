"""Sign-in mutations and the viewer."""

from __future__ import annotations

from models import Account
from resolvers.context import RequestContext, utc_now
from resolvers.transaction import in_transaction
from services import accounts, auth
from services.auth import IssuedTokens


async def token_create(ctx: RequestContext, *, login: str, password: str) -> IssuedTokens:
    return await in_transaction(
        ctx,
        lambda s: auth.token_create(
            session=s,
            settings=ctx.settings,
            login=login,
            password=password,
            client_address=ctx.client_address,
            now=utc_now(),
        ),
    )


async def token_refresh(ctx: RequestContext, *, refresh_token: str) -> IssuedTokens:
    return await in_transaction(
        ctx,
        lambda s: auth.token_refresh(session=s, settings=ctx.settings, refresh_token=refresh_token, now=utc_now()),
    )


async def token_revoke(ctx: RequestContext, *, refresh_token: str | None, everywhere: bool) -> bool:
    viewer = await ctx.viewer()
    return await in_transaction(
        ctx,
        lambda s: auth.token_revoke(
            session=s,
            viewer=viewer,
            refresh_token=refresh_token,
            everywhere=bool(everywhere),
            now=utc_now(),
        ),
    )


async def viewer_account(ctx: RequestContext) -> Account | None:
    viewer = await ctx.viewer_or_none()
    if viewer is None:
        return None
    if viewer.account is not None and not ctx.fresh_reads:
        return viewer.account  # read in the query's snapshot with the token: no second statement
    return await account_by_id(ctx, viewer.account_id)


async def account_by_id(ctx: RequestContext, account_id: int) -> Account | None:
    return await ctx.read(lambda s: accounts.account_get(session=s, account_id=account_id))
