"""Sign-in mutations: tokenCreate, tokenRefresh, tokenRevoke."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from resolvers import auth as auth_resolvers
from schema.account import Account
from schema.errors import OperationError, ValidationError, refusal_result_of, result_of
from services.auth import IssuedTokens


@strawberry.type
class TokenCreateSuccess:
    tokens: strawberry.Private[IssuedTokens]

    @strawberry.field
    def access_token(self) -> str:
        return self.tokens.access_token

    @strawberry.field
    def refresh_token(self) -> str:
        return self.tokens.refresh_token

    @strawberry.field
    def access_expires_at(self) -> dt.datetime:
        return self.tokens.access_expires_at

    @strawberry.field
    def refresh_expires_at(self) -> dt.datetime:
        return self.tokens.refresh_expires_at

    @strawberry.field
    async def account(self, info: strawberry.Info) -> Account:
        row = await auth_resolvers.account_by_id(info.context, self.tokens.account_id)
        assert row is not None
        return Account(row=row)


TokenCreateResult = Annotated[
    TokenCreateSuccess | ValidationError | OperationError, strawberry.union("TokenCreateResult")
]


@strawberry.type(description="Sign out: this session, the session of the given refresh token, or every session.")
class TokenRevokeSuccess:
    revoked: bool


TokenRevokeResult = Annotated[TokenRevokeSuccess | OperationError, strawberry.union("TokenRevokeResult")]


@strawberry.type
class AuthMutations:
    @strawberry.mutation
    async def token_create(self, info: strawberry.Info, login: str, password: str) -> TokenCreateResult:
        return await result_of(
            info,
            auth_resolvers.token_create(info.context, login=login, password=password),
            lambda t: TokenCreateSuccess(tokens=t),
        )

    @strawberry.mutation
    async def token_refresh(self, info: strawberry.Info, refresh_token: str) -> TokenCreateResult:
        return await result_of(
            info,
            auth_resolvers.token_refresh(info.context, refresh_token=refresh_token),
            lambda t: TokenCreateSuccess(tokens=t),
        )

    @strawberry.mutation
    async def token_revoke(
        self, info: strawberry.Info, refresh_token: str | None = None, everywhere: bool | None = False
    ) -> TokenRevokeResult:
        return await refusal_result_of(
            info,
            auth_resolvers.token_revoke(info.context, refresh_token=refresh_token, everywhere=bool(everywhere)),
            lambda revoked: TokenRevokeSuccess(revoked=revoked),
        )
