"""Account: a login on the site."""
from __future__ import annotations

import strawberry

from cabinet import models
from cabinet.resolvers.ids import global_id
from cabinet.schema.enums import AccountStatus, Role
from cabinet.schema.node import Node


@strawberry.type(description="A login on the site. One account may hold several personal accounts.")
class Account(Node):
    row: strawberry.Private[models.Account]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(global_id("Account", self.row.id))

    @strawberry.field
    def login(self) -> str:
        return self.row.login

    @strawberry.field
    def full_name(self) -> str:
        return self.row.full_name

    @strawberry.field
    def email(self) -> str:
        return self.row.email

    @strawberry.field
    def phones(self) -> list[str]:
        return list(self.row.phones)

    @strawberry.field
    def role(self) -> Role:
        return self.row.role

    @strawberry.field
    def status(self) -> AccountStatus:
        return self.row.status

    @strawberry.field(description="An email change waiting for confirmation from the new address.")
    def pending_email(self) -> str | None:
        return self.row.pending_email
