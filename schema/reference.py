"""Oblasts, RES and the user agreement."""

from __future__ import annotations

import strawberry

import models
from resolvers import reference as reference_resolvers


@strawberry.type(description="Район електричних мереж: the district office that keeps the personal accounts.")
class Res:
    row: strawberry.Private[models.Res]
    oblast_row: strawberry.Private[models.Oblast | None] = None

    @strawberry.field
    def code(self) -> str:
        return self.row.code

    @strawberry.field
    def name(self) -> str:
        return self.row.name

    @strawberry.field
    async def oblast(self, info: strawberry.Info) -> Oblast:
        row = self.oblast_row or await reference_resolvers.oblast(info.context, self.row.oblast_code)
        assert row is not None
        return Oblast(row=row, res_rows=None)


@strawberry.type
class Oblast:
    row: strawberry.Private[models.Oblast]
    res_rows: strawberry.Private[list[models.Res] | None]

    @strawberry.field
    def code(self) -> str:
        return self.row.code

    @strawberry.field
    def name(self) -> str:
        return self.row.name

    @strawberry.field
    async def res(self, info: strawberry.Info) -> list[Res]:
        rows = self.res_rows
        if rows is None:
            rows = next((r for o, r in await reference_resolvers.oblasts(info.context) if o.code == self.row.code), [])
        return [Res(row=r, oblast_row=self.row) for r in rows]


@strawberry.type
class Terms:
    version: str
    text: str
