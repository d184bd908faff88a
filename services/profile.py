"""A login's own data: phones, email (confirmed from the new address) and password."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from mail.outbox import mail_enqueue
from models import Account, OneTimeToken
from models.base import OneTimeTokenKind
from services.account_fields import email_check, phones_check
from services.auth import Viewer, credentials_check, sessions_end_others
from services.errors import OperationRefused, Problems
from services.password_policy import password_check
from services.password_reset import one_time_token_take
from services.passwords import password_hash
from services.tokens import token_digest, token_new

EMAIL_CONFIRM_TTL = dt.timedelta(hours=24)


def email_confirm_link(settings: Settings, token: str) -> str:
    return f"{settings.frontend_root}/email-confirm#token={token}"


async def _own_account_locked(*, session: AsyncSession, account_id: int) -> Account:
    return (await session.execute(select(Account).where(Account.id == account_id).with_for_update())).scalar_one()


async def password_change(
    *,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
    current_password: str,
    new_password: str,
    client_address: str | None,
    now: dt.datetime,
) -> Account:
    """A new password; every other session ends, this one goes on."""
    account = await _own_account_locked(session=session, account_id=viewer.account_id)
    problems = Problems()
    if not current_password:
        problems.add(("currentPassword",), "REQUIRED")
    password_check(problems, ("newPassword",), new_password, login=account.login, email=account.email)
    problems.raise_if_any()
    # A wrong current password is a failed sign-in: counted and throttled the same way.
    await credentials_check(
        session=session,
        settings=settings,
        login=account.login,
        password=current_password,
        client_address=client_address,
        now=now,
    )
    account.password_hash = await password_hash(settings, new_password)
    await sessions_end_others(
        session=session, account_id=account.id, keep_session_id=viewer.session_id, reason="PASSWORD_CHANGED", now=now
    )
    return account


async def account_update(
    *,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
    email: str | None,
    phones: list[str] | None,
    current_password: str | None,
    client_address: str | None,
    language: str,
    now: dt.datetime,
) -> Account:
    """Phones change at once; a new email waits in pendingEmail until confirmed from that address.

    An address another login already uses is accepted in the same way (so the
    answer reveals nothing), but no link is sent: it could never be confirmed.
    """
    account = await _own_account_locked(session=session, account_id=viewer.account_id)
    problems = Problems()
    new_phones = phones_check(problems, ("input", "phones"), phones) if phones is not None else None
    new_email = email_check(problems, ("input", "email"), email) if email is not None else None
    changes_email = new_email is not None and new_email.lower() != account.email.lower()
    if changes_email and not current_password:
        problems.add(("input", "currentPassword"), "REQUIRED")
    problems.raise_if_any()

    if changes_email:
        # Checked before anything changes: a refusal keeps only the counted failure.
        await credentials_check(
            session=session,
            settings=settings,
            login=account.login,
            password=current_password or "",
            client_address=client_address,
            now=now,
        )
    if new_phones is not None:
        account.phones = new_phones
    if new_email is not None:
        # A new request (or going back to the current address) voids earlier links.
        await _email_links_void(session=session, account_id=account.id, now=now)
        account.pending_email = new_email if changes_email else None
        if new_email != account.email and not changes_email:
            account.email = new_email  # only the letter case differs: nothing to confirm
    if (
        changes_email
        and new_email is not None
        and not await _email_used(session=session, email=new_email, other_than=account.id)
    ):
        token = token_new()
        session.add(
            OneTimeToken(
                token_hash=token_digest(token),
                kind=OneTimeTokenKind.EMAIL_CONFIRM,
                account_id=account.id,
                payload=new_email,
                expires_at=now + EMAIL_CONFIRM_TTL,
                created_at=now,
            )
        )
        await mail_enqueue(
            session=session,
            kind="email_change_confirm",
            to=new_email,
            language=language,
            account_id=account.id,
            full_name=account.full_name,
            link=email_confirm_link(settings, token),
        )
    await session.flush()
    return account


async def account_email_confirm(*, session: AsyncSession, token: str, language: str, now: dt.datetime) -> Account:
    """The link from the new address: it becomes the email, and the old address is told.

    If another login took the address meanwhile, the link is TOKEN_INVALID and
    the pending change is dropped (the link's holder controls that address, so
    this tells them nothing new).
    """
    row = await one_time_token_take(session=session, token=token, kind=OneTimeTokenKind.EMAIL_CONFIRM, now=now)
    account = await _own_account_locked(session=session, account_id=row.account_id)
    new_email = row.payload or ""
    row.used_at = now
    if (account.pending_email or "").lower() != new_email.lower():
        raise OperationRefused("TOKEN_INVALID", keep_changes=True)
    old_email = account.email
    account.pending_email = None
    if await _email_used(session=session, email=new_email, other_than=account.id):
        raise OperationRefused("TOKEN_INVALID", keep_changes=True)
    try:
        async with session.begin_nested():
            account.email = new_email
            await session.flush()
    except IntegrityError as e:
        # Taken by a concurrent confirmation since we looked.
        raise OperationRefused("TOKEN_INVALID") from e
    await mail_enqueue(
        session=session,
        kind="email_changed_notice",
        to=old_email,
        language=language,
        account_id=account.id,
        full_name=account.full_name,
        new_email=new_email,
    )
    return account


async def _email_used(*, session: AsyncSession, email: str, other_than: int) -> bool:
    found = (
        await session.execute(
            select(Account.id).where(func.lower(Account.email) == email.lower(), Account.id != other_than)
        )
    ).first()
    return found is not None


async def _email_links_void(*, session: AsyncSession, account_id: int, now: dt.datetime) -> None:
    await session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.account_id == account_id,
            OneTimeToken.kind == OneTimeTokenKind.EMAIL_CONFIRM,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
