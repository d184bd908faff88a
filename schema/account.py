"""Account (a login on the site) and its activation requests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

import models
from resolvers import activation_requests as request_resolvers
from resolvers import loaders
from resolvers import personal_accounts as pa_resolvers
from resolvers.ids import global_id
from schema.enums import AccountStatus, ActivationMethod, ActivationStatus, Role
from schema.node import Node
from schema.personal_account import PersonalAccount
from schema.reference import Res


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

    @strawberry.field
    async def personal_accounts(self, info: strawberry.Info) -> list[PersonalAccount]:
        return [PersonalAccount(row=r) for r in await pa_resolvers.of_account(info.context, self.row.id)]

    @strawberry.field(description="Requests to link personal accounts to this login; all statuses when none is given.")
    async def activation_requests(
        self, info: strawberry.Info, status: ActivationStatus | None = None
    ) -> list[ActivationRequest]:
        rows = await request_resolvers.of_account(info.context, self.row.id, status)
        return [ActivationRequest(row=r) for r in rows]


@strawberry.type(description="A request to link a personal account to a login (at registration or later).")
class ActivationRequest(Node):
    row: strawberry.Private[models.ActivationRequest]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(global_id("ActivationRequest", self.row.id))

    @strawberry.field
    async def account(self, info: strawberry.Info) -> Account:
        return Account(row=await loaders.AccountByIdLoader.of(info.context).load(self.row.account_id))

    @strawberry.field
    async def res(self, info: strawberry.Info) -> Res:
        return Res(row=await loaders.ResByIdLoader.of(info.context).load(self.row.res_id))

    @strawberry.field
    def personal_account_number(self) -> str:
        return self.row.personal_account_number

    @strawberry.field(description="The record it targets: shown to admins, and to the requester once approved.")
    async def personal_account(self, info: strawberry.Info) -> PersonalAccount | None:
        if self.row.personal_account_id is None or not await request_resolvers.target_visible(info.context, self.row):
            return None
        row = await loaders.PersonalAccountByIdLoader.of(info.context).load(self.row.personal_account_id)
        return PersonalAccount(row=row) if row is not None else None

    @strawberry.field(description="Evidence given with the request.")
    def last_payment_amount(self) -> Decimal | None:
        return self.row.last_payment_amount

    @strawberry.field
    def meter_serial_number(self) -> str | None:
        return self.row.meter_serial_number

    @strawberry.field
    def status(self) -> ActivationStatus:
        return self.row.status

    @strawberry.field
    def method(self) -> ActivationMethod | None:
        return self.row.method

    @strawberry.field
    def created_at(self) -> dt.datetime:
        return self.row.created_at

    @strawberry.field
    def decided_at(self) -> dt.datetime | None:
        return self.row.decided_at

    @strawberry.field
    async def decided_by(self, info: strawberry.Info) -> Account | None:
        if self.row.decided_by_id is None:
            return None
        viewer = await info.context.viewer()
        if not viewer.is_admin:
            return None  # an admin's identity is for admins
        row = await loaders.AccountByIdLoader.of(info.context).load(self.row.decided_by_id)
        return Account(row=row) if row is not None else None

    @strawberry.field
    def rejection_reason(self) -> str | None:
        return self.row.rejection_reason
