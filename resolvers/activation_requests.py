"""Activation requests as their requester or an admin may see them."""

from __future__ import annotations

from models import ActivationRequest
from models.base import ActivationStatus
from resolvers import loaders
from resolvers.context import RequestContext
from services.errors import AuthError
from services.visibility import activation_request_visible, activation_target_visible, login_visible


async def of_account(ctx: RequestContext, account_id: int, status: ActivationStatus | None) -> list[ActivationRequest]:
    if not login_visible(viewer=await ctx.viewer(), account_id=account_id):
        raise AuthError("FORBIDDEN")
    rows = await loaders.ActivationRequestsByAccountIdLoader.of(ctx).load(account_id)
    return [r for r in rows if status is None or r.status == status]


async def by_id(ctx: RequestContext, request_id: int) -> ActivationRequest | None:
    viewer = await ctx.viewer_or_none()
    row = await loaders.ActivationRequestByIdLoader.of(ctx).load(request_id)
    if viewer is None or row is None:
        return None
    return row if activation_request_visible(viewer=viewer, requester_id=row.account_id) else None


async def target_visible(ctx: RequestContext, row: ActivationRequest) -> bool:
    """The record a request targets: shown to admins, and to the requester once approved."""
    return activation_target_visible(viewer=await ctx.viewer(), status=row.status)
