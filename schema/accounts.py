"""Account mutations (registration, recovery, profile, personal accounts, merge, admin review)
and the admins' activation request list."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

import models
from resolvers import accounts as account_resolvers
from schema.account import Account, ActivationRequest
from schema.common import Edge, PageInfo
from schema.enums import ActivationStatus
from schema.errors import OperationError, ValidationError, result_of
from schema.permissions import IsAdmin
from schema.personal_account import PersonalAccount
from services.activation import LinkOutcome
from services.merge import MergeOutcome
from services.pagination import Page
from services.registration import RegistrationForm

# ---------------------------------------------------------------- registration


@strawberry.input
class AccountRegisterInput:
    full_name: str
    login: str
    email: str
    phones: list[str]
    password: str
    res_code: str
    personal_account_number: str
    last_payment_amount: Decimal | None = strawberry.field(
        default=None, description="Optional evidence: a match activates the account at once."
    )
    meter_serial_number: str | None = None
    accepted_terms_version: str = strawberry.field(
        description="The version of the user agreement the person accepted (Query.terms)."
    )

    def form(self) -> RegistrationForm:
        return RegistrationForm(
            full_name=self.full_name,
            login=self.login,
            email=self.email,
            phones=list(self.phones),
            password=self.password,
            res_code=self.res_code,
            personal_account_number=self.personal_account_number,
            last_payment_amount=self.last_payment_amount,
            meter_serial_number=self.meter_serial_number,
            accepted_terms_version=self.accepted_terms_version,
        )


@strawberry.type(
    description="The same shape whether or not the email was already registered (then its owner is told by email)."
)
class AccountRegisterSuccess:
    activated: bool = strawberry.field(description="True when the evidence matched and the login can sign in now.")


AccountRegisterResult = Annotated[
    AccountRegisterSuccess | ValidationError | OperationError, strawberry.union("AccountRegisterResult")
]

# ---------------------------------------------------------------- passwords


@strawberry.type(description="Always the same answer, whether or not the login or email exists.")
class PasswordResetRequestSuccess:
    accepted: bool


PasswordResetRequestResult = Annotated[
    PasswordResetRequestSuccess | ValidationError | OperationError, strawberry.union("PasswordResetRequestResult")
]


@strawberry.type
class PasswordResetSuccess:
    reset: bool = strawberry.field(description="Sign in with the new password; every other session was ended.")


PasswordResetResult = Annotated[
    PasswordResetSuccess | ValidationError | OperationError, strawberry.union("PasswordResetResult")
]


@strawberry.type
class PasswordChangeSuccess:
    account: Account


PasswordChangeResult = Annotated[
    PasswordChangeSuccess | ValidationError | OperationError, strawberry.union("PasswordChangeResult")
]

# ---------------------------------------------------------------- profile


@strawberry.input
class AccountUpdateInput:
    email: str | None = strawberry.field(
        default=None, description="A new email becomes active once confirmed from that address."
    )
    phones: list[str] | None = None
    current_password: str | None = strawberry.field(default=None, description="Required when the email changes.")


@strawberry.type
class AccountUpdateSuccess:
    account: Account


AccountUpdateResult = Annotated[
    AccountUpdateSuccess | ValidationError | OperationError, strawberry.union("AccountUpdateResult")
]

# ---------------------------------------------------------------- personal accounts and merge


@strawberry.input
class PersonalAccountAddInput:
    res_code: str
    personal_account_number: str
    last_payment_amount: Decimal | None = None
    meter_serial_number: str | None = None


@strawberry.type
class PersonalAccountAddSuccess:
    outcome: strawberry.Private[LinkOutcome]

    @strawberry.field
    def request(self) -> ActivationRequest:
        return ActivationRequest(row=self.outcome.request)

    @strawberry.field(description="Set when the evidence matched and the account is linked now.")
    async def personal_account(self, info: strawberry.Info) -> PersonalAccount | None:
        if self.outcome.personal_account_id is None:
            return None
        rows = await account_resolvers.personal_accounts_rows(info.context, [self.outcome.personal_account_id])
        return PersonalAccount(row=rows[0]) if rows else None


PersonalAccountAddResult = Annotated[
    PersonalAccountAddSuccess | ValidationError | OperationError, strawberry.union("PersonalAccountAddResult")
]


@strawberry.type
class AccountMergeSuccess:
    outcome: strawberry.Private[MergeOutcome]

    @strawberry.field
    def account(self) -> Account:
        return Account(row=self.outcome.account)

    @strawberry.field(description="Personal accounts that came over from the merged login.")
    async def moved(self, info: strawberry.Info) -> list[PersonalAccount]:
        rows = await account_resolvers.personal_accounts_rows(info.context, self.outcome.moved_personal_account_ids)
        return [PersonalAccount(row=r) for r in rows]

    @strawberry.field
    def moved_requests(self) -> list[ActivationRequest]:
        return [ActivationRequest(row=r) for r in self.outcome.moved_requests]


AccountMergeResult = Annotated[
    AccountMergeSuccess | ValidationError | OperationError, strawberry.union("AccountMergeResult")
]

# ---------------------------------------------------------------- admin review


@strawberry.type
class ActivationDecideSuccess:
    request: ActivationRequest


ActivationDecideResult = Annotated[
    ActivationDecideSuccess | ValidationError | OperationError, strawberry.union("ActivationDecideResult")
]


@strawberry.type
class ActivationRequestEdge(Edge):
    node: ActivationRequest


@strawberry.type
class ActivationRequestConnection:
    page: strawberry.Private[Page[models.ActivationRequest]]
    count: strawberry.Private[int]

    @strawberry.field
    def edges(self) -> list[ActivationRequestEdge]:
        return [
            ActivationRequestEdge(node=ActivationRequest(row=row), page=self.page, row=row) for row in self.page.rows
        ]

    @strawberry.field
    def page_info(self) -> PageInfo:
        return PageInfo.of(self.page)

    @strawberry.field
    def total_count(self) -> int:
        return self.count


@strawberry.type
class AccountQueries:
    @strawberry.field(description="Admins: activation requests, oldest first.", permission_classes=[IsAdmin])
    async def activation_requests(
        self,
        info: strawberry.Info,
        status: ActivationStatus | None = None,
        res_code: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> ActivationRequestConnection:
        page, count = await account_resolvers.activation_requests(
            info.context, status=status, res_code=res_code, first=first, after=after
        )
        return ActivationRequestConnection(page=page, count=count)


# ---------------------------------------------------------------- the mutations


@strawberry.type
class AccountMutations:
    @strawberry.mutation
    async def account_register(self, info: strawberry.Info, input: AccountRegisterInput) -> AccountRegisterResult:
        return await result_of(
            info,
            account_resolvers.account_register(info.context, input.form()),
            lambda activated: AccountRegisterSuccess(activated=activated),
        )

    @strawberry.mutation
    async def password_reset_request(self, info: strawberry.Info, login_or_email: str) -> PasswordResetRequestResult:
        return await result_of(
            info,
            account_resolvers.password_reset_request(info.context, login_or_email),
            lambda accepted: PasswordResetRequestSuccess(accepted=accepted),
        )

    @strawberry.mutation
    async def password_reset(self, info: strawberry.Info, token: str, new_password: str) -> PasswordResetResult:
        return await result_of(
            info,
            account_resolvers.password_reset_apply(info.context, token, new_password),
            lambda reset: PasswordResetSuccess(reset=reset),
        )

    @strawberry.mutation
    async def password_change(
        self, info: strawberry.Info, current_password: str, new_password: str
    ) -> PasswordChangeResult:
        return await result_of(
            info,
            account_resolvers.password_change(info.context, current_password, new_password),
            lambda row: PasswordChangeSuccess(account=Account(row=row)),
        )

    @strawberry.mutation
    async def account_update(self, info: strawberry.Info, input: AccountUpdateInput) -> AccountUpdateResult:
        return await result_of(
            info,
            account_resolvers.account_update(
                info.context,
                email=input.email,
                phones=list(input.phones) if input.phones is not None else None,
                current_password=input.current_password,
            ),
            lambda row: AccountUpdateSuccess(account=Account(row=row)),
        )

    @strawberry.mutation(description="Confirms an email change with the token sent to the new address.")
    async def account_email_confirm(self, info: strawberry.Info, token: str) -> AccountUpdateResult:
        return await result_of(
            info,
            account_resolvers.account_email_confirm(info.context, token),
            lambda row: AccountUpdateSuccess(account=Account(row=row)),
        )

    @strawberry.mutation
    async def personal_account_add(
        self, info: strawberry.Info, input: PersonalAccountAddInput
    ) -> PersonalAccountAddResult:
        return await result_of(
            info,
            account_resolvers.personal_account_add(
                info.context,
                res_code=input.res_code,
                personal_account_number=input.personal_account_number,
                meter_serial_number=input.meter_serial_number,
                last_payment_amount=input.last_payment_amount,
            ),
            lambda outcome: PersonalAccountAddSuccess(outcome=outcome),
        )

    @strawberry.mutation(description="Moves the other login's personal accounts here; the other login is deleted.")
    async def account_merge(self, info: strawberry.Info, login: str, password: str) -> AccountMergeResult:
        return await result_of(
            info,
            account_resolvers.account_merge(info.context, login=login, password=password),
            lambda outcome: AccountMergeSuccess(outcome=outcome),
        )

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def activation_approve(self, info: strawberry.Info, id: strawberry.ID) -> ActivationDecideResult:
        return await result_of(
            info,
            account_resolvers.activation_approve(info.context, id),
            lambda row: ActivationDecideSuccess(request=ActivationRequest(row=row)),
        )

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def activation_reject(self, info: strawberry.Info, id: strawberry.ID, reason: str) -> ActivationDecideResult:
        return await result_of(
            info,
            account_resolvers.activation_reject(info.context, id, reason),
            lambda row: ActivationDecideSuccess(request=ActivationRequest(row=row)),
        )
