"""Sign-in: access and refresh tokens, rotation, revocation, and who is calling."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from models import Account, AuthSession, AuthToken
from models.base import AccountStatus, Role
from services.errors import AuthError, OperationRefused
from services.passwords import dummy_hash, password_hash, password_verify
from services.throttle import (
    address_key,
    attempt_reserve,
    subject_count,
    subject_forget,
    subjects_check,
    throttle_clear,
)
from services.tokens import token_digest, token_new

ACCESS = "ACCESS"
REFRESH = "REFRESH"


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in person of a request."""

    account_id: int
    session_id: int
    role: Role
    # The account itself, read with the token in the same statement (what `viewer` shows): the
    # model, or services/viewer_records.AccountRow (the same columns, read only).
    account: Any = field(default=None, compare=False, repr=False)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    account_id: int
    access_token: str
    refresh_token: str
    access_expires_at: dt.datetime
    refresh_expires_at: dt.datetime


def login_key(login: str) -> str:
    return "login:" + login.strip().lower()


async def credentials_check(
    *,
    session: AsyncSession,
    settings: Settings,
    login: str,
    password: str,
    client_address: str | None,
    now: dt.datetime,
) -> Account:
    """The account whose login and password these are, or a refusal.

    Unknown logins are verified against a dummy hash so they cost the same.
    The attempt is counted on the login before the verify, so parallel guesses
    take turns; a failure also counts the login on the client address, whose
    limit is far higher (many logins failing from one address is stuffing, a
    household's typos are not). Failures are kept, though the refusal rolls the
    rest back; a success clears the login's.
    """
    key = login_key(login)
    address = address_key("sign-in", client_address)
    # The account is locked before the throttle, as password change and merge do: one lock order.
    account = (
        await session.execute(
            select(Account).where(func.lower(Account.login) == login.strip().lower()).with_for_update()
        )
    ).scalar_one_or_none()
    await subjects_check(session=session, key=address, limit=settings.throttle_address_failed_logins_per_hour, now=now)
    await attempt_reserve(session=session, settings=settings, key=key, now=now)
    stored = account.password_hash if account is not None else dummy_hash(settings)
    matches, needs_rehash = await password_verify(settings, stored, password)
    if account is None or not matches:
        await subject_count(session=session, key=address, subject=key, now=now)
        raise OperationRefused("INVALID_CREDENTIALS", keep_changes=True)
    await throttle_clear(session=session, key=key)
    await subject_forget(session=session, key=address, subject=key)
    if needs_rehash:
        account.password_hash = await password_hash(settings, password)
    return account


async def token_create(
    *,
    session: AsyncSession,
    settings: Settings,
    login: str,
    password: str,
    client_address: str | None,
    now: dt.datetime,
) -> IssuedTokens:
    account = await credentials_check(
        session=session,
        settings=settings,
        login=login,
        password=password,
        client_address=client_address,
        now=now,
    )
    if account.status == AccountStatus.PENDING:
        raise OperationRefused("ACCOUNT_NOT_ACTIVE", keep_changes=True)
    if account.status == AccountStatus.BLOCKED:
        raise OperationRefused("ACCOUNT_BLOCKED", keep_changes=True)
    auth_session = AuthSession(account_id=account.id, created_at=now)
    session.add(auth_session)
    await session.flush()
    return await _tokens_issue(session=session, settings=settings, auth_session=auth_session, now=now)


async def _tokens_issue(
    *, session: AsyncSession, settings: Settings, auth_session: AuthSession, now: dt.datetime
) -> IssuedTokens:
    access, refresh = token_new(), token_new()
    access_expires = now + settings.access_token_ttl
    refresh_expires = now + settings.refresh_token_ttl
    session.add_all(
        [
            AuthToken(
                token_hash=token_digest(access),
                session_id=auth_session.id,
                kind=ACCESS,
                expires_at=access_expires,
                created_at=now,
            ),
            AuthToken(
                token_hash=token_digest(refresh),
                session_id=auth_session.id,
                kind=REFRESH,
                expires_at=refresh_expires,
                created_at=now,
            ),
        ]
    )
    await session.flush()
    return IssuedTokens(
        account_id=auth_session.account_id,
        access_token=access,
        refresh_token=refresh,
        access_expires_at=access_expires,
        refresh_expires_at=refresh_expires,
    )


async def token_refresh(
    *, session: AsyncSession, settings: Settings, refresh_token: str, now: dt.datetime
) -> IssuedTokens:
    """Rotate: the old refresh token is spent; spending it twice ends the whole session."""
    row = (
        await session.execute(
            select(AuthToken, AuthSession, Account)
            .join(AuthSession, AuthSession.id == AuthToken.session_id)
            .join(Account, Account.id == AuthSession.account_id)
            .where(AuthToken.token_hash == token_digest(refresh_token), AuthToken.kind == REFRESH)
            .with_for_update(of=[AuthToken, AuthSession])
        )
    ).one_or_none()
    if row is None:
        raise OperationRefused("TOKEN_INVALID")
    token, auth_session, account = row
    if auth_session.revoked_at is not None:
        raise OperationRefused("TOKEN_INVALID")
    if token.used_at is not None:
        # A rotated token came back: someone has a copy. End the family.
        auth_session.revoked_at = now
        auth_session.revoked_reason = "REFRESH_REUSED"
        raise OperationRefused("TOKEN_INVALID", keep_changes=True)
    if token.expires_at <= now:
        raise OperationRefused("TOKEN_EXPIRED")
    if account.status != AccountStatus.ACTIVE:
        raise OperationRefused("ACCOUNT_BLOCKED" if account.status == AccountStatus.BLOCKED else "ACCOUNT_NOT_ACTIVE")
    token.used_at = now
    return await _tokens_issue(session=session, settings=settings, auth_session=auth_session, now=now)


async def token_revoke(
    *,
    session: AsyncSession,
    viewer: Viewer,
    refresh_token: str | None,
    everywhere: bool,
    now: dt.datetime,
) -> bool:
    """End this session, the session of a given refresh token (one's own), or all of them."""
    target = AuthSession.account_id == viewer.account_id
    if everywhere:
        condition = target
    elif refresh_token is not None:
        session_id = (
            await session.execute(
                select(AuthToken.session_id)
                .join(AuthSession, AuthSession.id == AuthToken.session_id)
                .where(
                    AuthToken.token_hash == token_digest(refresh_token),
                    AuthToken.kind == REFRESH,
                    target,
                )
            )
        ).scalar_one_or_none()
        if session_id is None:
            # Someone else's token looks exactly like a made-up one.
            raise OperationRefused("TOKEN_INVALID")
        condition = target & (AuthSession.id == session_id)
    else:
        condition = target & (AuthSession.id == viewer.session_id)
    await session.execute(
        update(AuthSession)
        .where(condition, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="REVOKED")
    )
    return True


async def sessions_end_others(
    *, session: AsyncSession, account_id: int, keep_session_id: int | None, reason: str, now: dt.datetime
) -> None:
    """After a password change or reset, or a merge: every other session stops working."""
    condition = (AuthSession.account_id == account_id) & AuthSession.revoked_at.is_(None)
    if keep_session_id is not None:
        condition &= AuthSession.id != keep_session_id
    await session.execute(update(AuthSession).where(condition).values(revoked_at=now, revoked_reason=reason))


def access_refusal(
    *, revoked_at: dt.datetime | None, status: AccountStatus, expires_at: dt.datetime, now: dt.datetime
) -> AuthError | None:
    """Why a stored access token lets nobody in, or None: a signed-out session or a login that is
    not active is UNAUTHENTICATED; an expired token is too, with reason TOKEN_EXPIRED (a refresh helps)."""
    if revoked_at is not None or status != AccountStatus.ACTIVE:
        return AuthError("UNAUTHENTICATED")
    if expires_at <= now:
        return AuthError("UNAUTHENTICATED", reason="TOKEN_EXPIRED")
    return None


async def viewer_from_access_token(*, session: AsyncSession, token: str, now: dt.datetime) -> Viewer:
    """Who holds this access token, or UNAUTHENTICATED (reason TOKEN_EXPIRED when a refresh helps)."""
    row = (
        await session.execute(
            select(
                AuthToken.expires_at,
                AuthSession.id.label("session_id"),
                AuthSession.revoked_at,
                Account,
            )
            .join(AuthSession, AuthSession.id == AuthToken.session_id)
            .join(Account, Account.id == AuthSession.account_id)
            .where(AuthToken.token_hash == token_digest(token), AuthToken.kind == ACCESS)
        )
    ).one_or_none()
    if row is None:
        raise AuthError("UNAUTHENTICATED")
    refusal = access_refusal(revoked_at=row.revoked_at, status=row.Account.status, expires_at=row.expires_at, now=now)
    if refusal is not None:
        raise refusal
    return Viewer(account_id=row.Account.id, session_id=row.session_id, role=row.Account.role, account=row.Account)
