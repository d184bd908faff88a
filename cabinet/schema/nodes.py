"""Query.node: one place that knows which type each global ID names."""
from __future__ import annotations

import strawberry

from cabinet.resolvers import auth as auth_resolvers
from cabinet.resolvers.ids import global_id_decode
from cabinet.schema.account import Account


async def node_resolve(info: strawberry.Info, id: str):
    decoded = global_id_decode(id)
    if decoded is None:
        return None
    type_name, pk = decoded
    ctx = info.context
    viewer = await ctx.viewer_or_none()
    if viewer is None:
        return None
    if type_name == "Account":
        # One's own login; admins see any.
        if pk != viewer.account_id and not viewer.is_admin:
            return None
        row = await auth_resolvers.account_by_id(ctx, pk)
        return Account(row=row) if row is not None else None
    return None
