"""Activation requests as their requester or an admin may see them."""
from __future__ import annotations

from models import ActivationRequest
from models.base import ActivationStatus
from resolvers import loaders
from resolvers.context import RequestContext
from services.errors import AuthError


async def of_account(
    ctx: RequestContext, account_id: int, status: ActivationStatus | None
) -> list[ActivationRequest]:
    viewer = await ctx.viewer()
    if viewer.account_id != account_id and not viewer.is_admin:
        raise AuthError("FORBIDDEN")
    rows = await loaders.activation_requests_of(ctx).load(account_id)
    return [r for r in rows if status is None or r.status == status]


async def by_id(ctx: RequestContext, request_id: int) -> ActivationRequest | None:
    viewer = await ctx.viewer_or_none()
    row = await loaders.activation_request(ctx).load(request_id)
    if viewer is None or row is None or row.account_id is None:
        return None  # a rejected registration's request has no login left to show
    if row.account_id != viewer.account_id and not viewer.is_admin:
        return None
    return row


async def target_visible(ctx: RequestContext, row: ActivationRequest) -> bool:
    """The record a request targets: shown to admins, and to the requester once approved."""
    viewer = await ctx.viewer()
    return viewer.is_admin or row.status == ActivationStatus.APPROVED
