"""Logins: lookups and the CLI's admin tasks."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from models import Account
from models.base import AccountStatus, Role
from services.errors import OperationRefused
from services.passwords import password_hash


async def account_get(*, session: AsyncSession, account_id: int) -> Account | None:
    return await session.get(Account, account_id)


async def accounts_get(*, session: AsyncSession, ids: Sequence[int]) -> dict[int, Account]:
    rows = (await session.execute(select(Account).where(Account.id.in_(list(ids))))).scalars().all()
    return {r.id: r for r in rows}


async def account_by_login(*, session: AsyncSession, login: str) -> Account | None:
    return (
        await session.execute(select(Account).where(func.lower(Account.login) == login.strip().lower()))
    ).scalar_one_or_none()


async def account_create(
    *,
    session: AsyncSession,
    settings: Settings,
    login: str,
    password: str,
    full_name: str,
    email: str,
    phones: list[str],
    role: Role = Role.CUSTOMER,
    status: AccountStatus = AccountStatus.ACTIVE,
) -> Account:
    """A login as the CLI and the demo make it; registration adds its own rules on top."""
    if await account_by_login(session=session, login=login) is not None:
        raise OperationRefused("LOGIN_TAKEN")
    account = Account(
        login=login.strip(),
        full_name=full_name,
        email=email.strip(),
        phones=phones,
        password_hash=await password_hash(settings, password),
        role=role,
        status=status,
    )
    session.add(account)
    await session.flush()
    return account


async def account_set_status(*, session: AsyncSession, login: str, status: AccountStatus) -> Account:
    account = await account_by_login(session=session, login=login)
    if account is None:
        raise OperationRefused("NOT_FOUND")
    account.status = status
    return account
