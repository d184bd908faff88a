"""Registration: a new login and the request for its first personal account.

The answer never tells whether an email is registered: a registered one gets
the same `activated: false` as a new login that waits for an admin, nothing
is created, and the address's owner is told by mail. The password is hashed
on both paths, so they also take the same time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from mail.outbox import mail_enqueue
from models import Account
from models.base import AccountStatus, Role
from services.account_fields import email_check, full_name_check, login_check, phones_check
from services.accounts import account_by_login
from services.activation import evidence_check, link_form_check, link_request_open, target_lookup
from services.errors import OperationRefused, Problems
from services.password_policy import password_check
from services.passwords import password_hash
from services.reference import terms_in_force
from services.throttle import address_key, hourly_reserve, subject_count, subjects_check

PATH = ("input",)


@dataclass(frozen=True, slots=True)
class RegistrationForm:
    full_name: str
    login: str
    email: str
    phones: list[str]
    password: str
    res_code: str
    personal_account_number: str
    last_payment_amount: Decimal | None
    meter_serial_number: str | None
    accepted_terms_version: str


async def account_register(
    *,
    session: AsyncSession,
    settings: Settings,
    form: RegistrationForm,
    client_address: str | None,
    language: str,
    now: dt.datetime,
) -> bool:
    """Register; True when the evidence matched and the login may sign in now."""
    problems = Problems()
    # In the order of the manual's form, so the first problem is the first field shown.
    full_name = full_name_check(problems, (*PATH, "fullName"), form.full_name)
    login = login_check(problems, (*PATH, "login"), form.login)
    email = email_check(problems, (*PATH, "email"), form.email)
    link = link_form_check(
        problems,
        PATH,
        res_code=form.res_code,
        number=form.personal_account_number,
        meter_serial_number=form.meter_serial_number,
        last_payment_amount=form.last_payment_amount,
    )
    target = await target_lookup(session=session, problems=problems, path=PATH, form=link)
    phones = phones_check(problems, (*PATH, "phones"), form.phones)
    password_check(problems, (*PATH, "password"), form.password, login=login, email=email)
    terms = await terms_in_force(session=session, today=settings.today())
    if terms is None or form.accepted_terms_version.strip() != terms.version:
        problems.add((*PATH, "acceptedTermsVersion"), "TERMS_NOT_ACCEPTED")
    problems.raise_if_any()
    assert full_name and login and email and phones is not None and target is not None

    await _login_free_check(session=session, settings=settings, login=login, client_address=client_address, now=now)
    # Each registration can mail the address and wait in the admins' queue: limited per client
    # address (in distinct emails) and per email, whether or not the email is free.
    registering = address_key("registration", client_address)
    await subjects_check(
        session=session, key=registering, limit=settings.throttle_address_registrations_per_hour, now=now
    )
    await hourly_reserve(
        session=session,
        key="registration-email:" + email.lower(),
        limit=settings.throttle_email_registrations_per_hour,
        now=now,
    )
    await subject_count(session=session, key=registering, subject="email:" + email.lower(), now=now)
    # Counted as a guess whether or not the email is free, so the paths stay alike.
    method = await evidence_check(
        session=session, settings=settings, target=target, form=link, client_address=client_address, now=now
    )
    hashed = await password_hash(settings, form.password)

    owner = await _email_owner(session=session, email=email)
    if owner is not None:
        await _email_taken_mail(session=session, settings=settings, owner=owner)
        return False
    account = Account(
        login=login,
        full_name=full_name,
        email=email,
        phones=phones,
        password_hash=hashed,
        role=Role.CUSTOMER,
        status=AccountStatus.PENDING,
        language=language,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(account)
            await session.flush()
    except IntegrityError as e:
        # A concurrent registration took the login or the email since we looked.
        if "uq_account_login_lower" in str(e.orig):
            await _login_taken_count(session=session, login=login, client_address=client_address, now=now)
            raise OperationRefused("LOGIN_TAKEN", keep_changes=True) from e
        owner = await _email_owner(session=session, email=email)
        if owner is None:
            raise
        await _email_taken_mail(session=session, settings=settings, owner=owner)
        return False

    outcome = await link_request_open(
        session=session,
        settings=settings,
        account=account,
        target=target,
        form=link,
        method=method,
        at_registration=True,
        language=language,
        now=now,
    )
    if outcome.personal_account_id is None:
        await mail_enqueue(
            session=session,
            kind="registration_received",
            to=account.email,
            language=language,
            account_id=account.id,
            full_name=account.full_name,
            login=account.login,
        )
    return outcome.personal_account_id is not None


async def _login_free_check(
    *, session: AsyncSession, settings: Settings, login: str, client_address: str | None, now: dt.datetime
) -> None:
    """LOGIN_TAKEN tells that a login exists: a client address gets a few such answers an hour
    (in distinct logins), not an enumeration. The refusal keeps the count (keep_changes)."""
    await subjects_check(
        session=session,
        key=address_key("login-taken", client_address),
        limit=settings.throttle_address_taken_logins_per_hour,
        now=now,
    )
    if await account_by_login(session=session, login=login) is not None:
        await _login_taken_count(session=session, login=login, client_address=client_address, now=now)
        raise OperationRefused("LOGIN_TAKEN", keep_changes=True)


async def _login_taken_count(
    *, session: AsyncSession, login: str, client_address: str | None, now: dt.datetime
) -> None:
    await subject_count(
        session=session, key=address_key("login-taken", client_address), subject="login:" + login.lower(), now=now
    )


async def _email_owner(*, session: AsyncSession, email: str) -> Account | None:
    return (
        await session.execute(select(Account).where(func.lower(Account.email) == email.lower()))
    ).scalar_one_or_none()


async def _email_taken_mail(*, session: AsyncSession, settings: Settings, owner: Account) -> None:
    await mail_enqueue(
        session=session,
        kind="registration_email_taken",
        to=owner.email,
        language=owner.language,
        account_id=owner.id,
        email=owner.email,
        public_url=settings.frontend_root,
    )
