"""The root Query."""

from __future__ import annotations

import datetime as dt

import strawberry

from resolvers import auth as auth_resolvers
from resolvers import reference as reference_resolvers
from schema.account import Account
from schema.accounts import AccountQueries
from schema.aggregators import AggregatorQueries
from schema.node import Node
from schema.nodes import node_resolve
from schema.readings import ReadingQueries
from schema.reference import Oblast, Terms


@strawberry.type
class Query(ReadingQueries, AccountQueries, AggregatorQueries):
    @strawberry.field
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> Node | None:
        return await node_resolve(info, id)

    @strawberry.field(description="The signed-in login; null for anonymous requests.")
    async def viewer(self, info: strawberry.Info) -> Account | None:
        row = await auth_resolvers.viewer_account(info.context)
        return Account(row=row) if row is not None else None

    @strawberry.field(description="Oblasts with their RES, for the registration form.")
    async def oblasts(self, info: strawberry.Info) -> list[Oblast]:
        return [Oblast(row=o, res_rows=r) for o, r in await reference_resolvers.oblasts(info.context)]

    @strawberry.field(
        description="Today for the cabinet (Europe/Kyiv, or the deployment's pinned business date): "
        "what forms prefill, e.g. a reading's date; later dates are refused."
    )
    def business_date(self, info: strawberry.Info) -> dt.date:
        return info.context.settings.today()

    @strawberry.field(
        description="Now on the cabinet's clock: the real time of day on the business date, as new "
        "payments are stamped."
    )
    def server_time(self, info: strawberry.Info) -> dt.datetime:
        return info.context.settings.now()

    @strawberry.field(description="The user agreement in force, to show before registration.")
    async def terms(self, info: strawberry.Info) -> Terms:
        row = await reference_resolvers.terms(info.context)
        return Terms(version=row.version, text=row.text)
