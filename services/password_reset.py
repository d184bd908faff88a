"""Password recovery by login or email: a single-use, one-hour link sent by mail.

The request always gets the same answer, whether or not the login or email
exists, and is throttled quietly (per client address and per login) so the
form cannot be used to flood someone's mailbox.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from mail.outbox import mail_enqueue
from models import Account, OneTimeToken
from models.base import AccountStatus, OneTimeTokenKind
from services.auth import login_key, sessions_end_others
from services.errors import OperationRefused, Problems
from services.password_policy import password_check
from services.passwords import password_hash
from services.throttle import attempt_reserve, throttle_clear
from services.tokens import token_digest, token_new

RESET_TTL = dt.timedelta(hours=1)
LOGIN_OR_EMAIL_MAX = 254


def reset_link(settings: Settings, token: str) -> str:
    # In the fragment: browsers send it to no server, so it stays out of logs and Referer.
    return f"{settings.frontend_root}/password-reset#token={token}"


async def _quietly_throttled(*, session: AsyncSession, settings: Settings, key: str, now: dt.datetime) -> bool:
    """Count this request on `key`; True (and nothing counted) while the key waits."""
    try:
        await attempt_reserve(session=session, settings=settings, key=key, now=now)
    except OperationRefused:
        return True
    return False


async def password_reset_request(
    *,
    session: AsyncSession,
    settings: Settings,
    login_or_email: str,
    client_address: str | None,
    language: str,
    now: dt.datetime,
) -> bool:
    """Mail a reset link to the login's address; True whatever happened."""
    value = login_or_email.strip()
    problems = Problems()
    if not value:
        problems.add(("loginOrEmail",), "REQUIRED")
    elif len(value) > LOGIN_OR_EMAIL_MAX:
        problems.add(("loginOrEmail",), "TOO_LONG", max=LOGIN_OR_EMAIL_MAX)
    problems.raise_if_any()

    # Every request sends (or could send) a letter, so each one counts.
    address = "reset-ip:" + (client_address or "unknown")
    if await _quietly_throttled(session=session, settings=settings, key=address, now=now):
        return True
    folded = value.lower()
    account = (
        (
            await session.execute(
                select(Account).where(or_(func.lower(Account.login) == folded, func.lower(Account.email) == folded))
            )
        )
        .scalars()
        .first()
    )
    # A blocked login is refused at sign-in anyway; a link would only invite questions.
    if account is None or account.status == AccountStatus.BLOCKED:
        return True
    if await _quietly_throttled(session=session, settings=settings, key=f"reset-account:{account.id}", now=now):
        return True

    token = token_new()
    session.add(
        OneTimeToken(
            token_hash=token_digest(token),
            kind=OneTimeTokenKind.PASSWORD_RESET,
            account_id=account.id,
            expires_at=now + RESET_TTL,
            created_at=now,
        )
    )
    await mail_enqueue(
        session=session,
        kind="password_reset",
        to=account.email,
        language=language,
        account_id=account.id,
        full_name=account.full_name,
        login=account.login,
        link=reset_link(settings, token),
    )
    return True


async def one_time_token_take(
    *, session: AsyncSession, token: str, kind: OneTimeTokenKind, now: dt.datetime
) -> OneTimeToken:
    """The unused, unexpired token of that kind, locked; TOKEN_INVALID or TOKEN_EXPIRED otherwise."""
    row = (
        await session.execute(
            select(OneTimeToken)
            .where(OneTimeToken.token_hash == token_digest(token), OneTimeToken.kind == kind)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None or row.used_at is not None:
        raise OperationRefused("TOKEN_INVALID")
    if row.expires_at <= now:
        raise OperationRefused("TOKEN_EXPIRED")
    return row


async def password_reset(
    *, session: AsyncSession, settings: Settings, token: str, new_password: str, now: dt.datetime
) -> bool:
    """Set the new password, spend the token (and any other reset link), end every session."""
    problems = Problems()
    password_check(problems, ("newPassword",), new_password)
    problems.raise_if_any()
    row = await one_time_token_take(session=session, token=token, kind=OneTimeTokenKind.PASSWORD_RESET, now=now)
    account = (
        await session.execute(select(Account).where(Account.id == row.account_id).with_for_update())
    ).scalar_one()
    password_check(problems, ("newPassword",), new_password, login=account.login, email=account.email)
    problems.raise_if_any()
    account.password_hash = await password_hash(settings, new_password)
    await session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.account_id == account.id,
            OneTimeToken.kind == OneTimeTokenKind.PASSWORD_RESET,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    await sessions_end_others(
        session=session, account_id=account.id, keep_session_id=None, reason="PASSWORD_RESET", now=now
    )
    # The mailbox proved who this is: earlier failed sign-ins no longer hold the login back.
    await throttle_clear(session=session, key=login_key(account.login))
    return True
