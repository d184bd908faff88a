"""Admin passwords: production does not start while an admin has a published one, and the
operator's way to set a new one (`cabinet set-password`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from models import Account
from models.base import AccountStatus, Role
from services.auth import sessions_end_others
from services.demo import DEMO_PASSWORD
from services.errors import OperationRefused, Problems
from services.password_policy import password_check
from services.passwords import password_hash, password_verify
from services.throttle import throttle_clear

# The demo's password (on the landing page and in the README) and the usual first guesses.
PUBLISHED_PASSWORDS = (DEMO_PASSWORD, "admin", "password", "changeme")


async def admins_with_published_passwords(*, session: AsyncSession, settings: Settings) -> list[str]:
    """The logins of active admins whose password is one of PUBLISHED_PASSWORDS."""
    admins = (
        await session.execute(
            select(Account.login, Account.password_hash)
            .where(Account.role == Role.ADMIN, Account.status == AccountStatus.ACTIVE)
            .order_by(Account.login)
        )
    ).all()
    found = []
    for login, stored in admins:
        for password in PUBLISHED_PASSWORDS:
            if (await password_verify(settings, stored, password))[0]:
                found.append(login)
                break
    return found


def operator_password_check(password: str, *, login: str, email: str | None) -> None:
    """The password policy, and none of the published passwords (for an operator's command)."""
    problems = Problems()
    password_check(problems, ("password",), password, login=login, email=email)
    if not problems.items and password in PUBLISHED_PASSWORDS:
        problems.add(("password",), "PASSWORD_TOO_COMMON")
    problems.raise_if_any()


async def password_set(
    *, session: AsyncSession, settings: Settings, login: str, new_password: str, now: dt.datetime
) -> None:
    """Set a login's password as the operator: the policy holds, no published password, and
    every session of the login ends."""
    account = (
        await session.execute(
            select(Account).where(func.lower(Account.login) == login.strip().lower()).with_for_update()
        )
    ).scalar_one_or_none()
    if account is None:
        raise OperationRefused("NOT_FOUND")
    operator_password_check(new_password, login=account.login, email=account.email)
    account.password_hash = await password_hash(settings, new_password)
    await sessions_end_others(
        session=session, account_id=account.id, keep_session_id=None, reason="PASSWORD_RESET", now=now
    )
    await throttle_clear(session=session, key="login:" + account.login.lower())
