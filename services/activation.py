"""Linking personal accounts to logins: requests, evidence, and the admin's decisions.

An APPROVED request is the link. A request is approved at once when its
evidence matches and nobody else holds the personal account; otherwise it
waits for an admin, and the holders are told that someone asked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete, exists, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from config import Settings
from mail.outbox import mail_enqueue
from models import Account, ActivationRequest, PersonalAccount, Res
from models.base import AccountStatus, ActivationMethod, ActivationStatus
from services.account_fields import (
    account_number_check,
    evidence_amount_check,
    meter_serial_check,
    res_code_check,
)
from services.audit import audit_record
from services.errors import NotFound, OperationRefused, Problems
from services.evidence import evidence_verify
from services.pagination import Page, cursor_position, first_check

REASON_MAX = 1000


@dataclass(frozen=True, slots=True)
class Target:
    """The personal account a request names, locked for the rest of the transaction."""

    res: Res
    personal_account: PersonalAccount


@dataclass(frozen=True, slots=True)
class LinkForm:
    res_code: str | None
    number: str | None
    meter_serial_number: str | None
    last_payment_amount: Decimal | None


@dataclass(frozen=True, slots=True)
class LinkOutcome:
    request: ActivationRequest
    # Set when the request was approved at once.
    personal_account_id: int | None


@dataclass(frozen=True, slots=True)
class Decision:
    request: ActivationRequest
    # A rejected registration removes its pending login; this is the row as it was.
    removed_account: Account | None = None


def link_form_check(
    problems: Problems,
    path: tuple[str, ...],
    *,
    res_code: str,
    number: str,
    meter_serial_number: str | None,
    last_payment_amount: Decimal | None,
) -> LinkForm:
    return LinkForm(
        res_code=res_code_check(problems, (*path, "resCode"), res_code),
        number=account_number_check(problems, (*path, "personalAccountNumber"), number),
        meter_serial_number=meter_serial_check(problems, (*path, "meterSerialNumber"), meter_serial_number),
        last_payment_amount=evidence_amount_check(problems, (*path, "lastPaymentAmount"), last_payment_amount),
    )


async def target_lookup(
    *, session: AsyncSession, problems: Problems, path: tuple[str, ...], form: LinkForm
) -> Target | None:
    """The RES and personal account of a form, the account row locked; problems when unknown."""
    if form.res_code is None or form.number is None:
        return None
    res = (await session.execute(select(Res).where(func.lower(Res.code) == form.res_code.lower()))).scalar_one_or_none()
    if res is None:
        problems.add((*path, "resCode"), "UNKNOWN_RES")
        return None
    # Locked: concurrent requests for one personal account decide one after the other.
    personal_account = (
        await session.execute(
            select(PersonalAccount)
            .where(PersonalAccount.res_id == res.id, PersonalAccount.number == form.number)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if personal_account is None:
        problems.add((*path, "personalAccountNumber"), "PERSONAL_ACCOUNT_NOT_FOUND")
        return None
    return Target(res=res, personal_account=personal_account)


async def holders_of(*, session: AsyncSession, personal_account_id: int, other_than: int | None) -> list[Account]:
    """Logins the personal account is linked to now."""
    query = (
        select(Account)
        .join(ActivationRequest, ActivationRequest.account_id == Account.id)
        .where(
            ActivationRequest.personal_account_id == personal_account_id,
            ActivationRequest.status == ActivationStatus.APPROVED,
        )
        .distinct()
        .order_by(Account.id)
    )
    if other_than is not None:
        query = query.where(Account.id != other_than)
    return list((await session.execute(query)).scalars().all())


async def evidence_check(
    *,
    session: AsyncSession,
    settings: Settings,
    target: Target,
    form: LinkForm,
    client_address: str | None,
    now: dt.datetime,
) -> ActivationMethod | None:
    return await evidence_verify(
        session=session,
        settings=settings,
        res_code=target.res.code,
        personal_account_id=target.personal_account.id,
        personal_account_number=target.personal_account.number,
        meter_serial_number=form.meter_serial_number,
        last_payment=form.last_payment_amount,
        client_address=client_address,
        now=now,
    )


async def link_request_open(
    *,
    session: AsyncSession,
    settings: Settings,
    account: Account,
    target: Target,
    form: LinkForm,
    method: ActivationMethod | None,
    at_registration: bool,
    language: str,
    now: dt.datetime,
) -> LinkOutcome:
    """Record the request: approved at once on matching evidence, unless someone else holds the account.

    Holders are told when another login asks for their personal account.
    """
    pa = target.personal_account
    holders = await holders_of(session=session, personal_account_id=pa.id, other_than=account.id)
    approved = method is not None and not holders
    request = ActivationRequest(
        account_id=account.id,
        res_id=target.res.id,
        personal_account_number=pa.number,
        personal_account_id=pa.id,
        last_payment_amount=form.last_payment_amount,
        meter_serial_number=form.meter_serial_number,
        at_registration=at_registration,
        status=ActivationStatus.APPROVED if approved else ActivationStatus.PENDING,
        method=method if approved else None,
        decided_at=now if approved else None,
        created_at=now,
    )
    session.add(request)
    if approved:
        if account.status == AccountStatus.PENDING:
            account.status = AccountStatus.ACTIVE
        await _approved_mail(
            session=session, settings=settings, account=account, res=target.res, number=pa.number, language=language
        )
    for holder in holders:
        await mail_enqueue(
            session=session,
            kind="personal_account_requested",
            to=holder.email,
            language=holder.language,
            account_id=holder.id,
            full_name=holder.full_name,
            personal_account_number=pa.number,
            requester_login=account.login,
        )
    await session.flush()
    return LinkOutcome(request=request, personal_account_id=pa.id if approved else None)


async def _approved_mail(
    *, session: AsyncSession, settings: Settings, account: Account, res: Res, number: str, language: str
) -> None:
    await mail_enqueue(
        session=session,
        kind="activation_approved",
        to=account.email,
        language=language,
        account_id=account.id,
        full_name=account.full_name,
        login=account.login,
        res_name=res.name,
        personal_account_number=number,
        public_url=settings.frontend_root,
    )


async def personal_account_add(
    *,
    session: AsyncSession,
    settings: Settings,
    account_id: int,
    res_code: str,
    personal_account_number: str,
    meter_serial_number: str | None,
    last_payment_amount: Decimal | None,
    client_address: str | None,
    language: str,
    now: dt.datetime,
) -> LinkOutcome:
    """A signed-in login asks for one more personal account (the manual's «+»)."""
    problems = Problems()
    path = ("input",)
    form = link_form_check(
        problems,
        path,
        res_code=res_code,
        number=personal_account_number,
        meter_serial_number=meter_serial_number,
        last_payment_amount=last_payment_amount,
    )
    target = await target_lookup(session=session, problems=problems, path=path, form=form)
    problems.raise_if_any()
    assert target is not None
    account = (await session.execute(select(Account).where(Account.id == account_id).with_for_update())).scalar_one()
    already = (
        await session.execute(
            select(ActivationRequest.id).where(
                ActivationRequest.account_id == account.id,
                ActivationRequest.personal_account_id == target.personal_account.id,
                ActivationRequest.status.in_([ActivationStatus.APPROVED, ActivationStatus.PENDING]),
            )
        )
    ).first()
    if already is not None:
        raise OperationRefused("PERSONAL_ACCOUNT_ALREADY_LINKED")
    method = await evidence_check(
        session=session, settings=settings, target=target, form=form, client_address=client_address, now=now
    )
    return await link_request_open(
        session=session,
        settings=settings,
        account=account,
        target=target,
        form=form,
        method=method,
        at_registration=False,
        language=language,
        now=now,
    )


async def activation_requests_page(
    *,
    session: AsyncSession,
    status: ActivationStatus | None,
    res_code: str | None,
    first: int | None,
    after: str | None,
) -> tuple[Page[ActivationRequest], int]:
    """For admins: a page of requests oldest first, by status and RES when given, and how many
    there are; the page is read in SQL (keyset on created_at and id), never the whole queue.

    A rejected registration's request has no login left to show (the login went with it;
    the audit log names it), so it is not listed.
    """
    limit = first_check(first)
    filters: list[ColumnElement[bool]] = [ActivationRequest.account_id.is_not(None)]
    if status is not None:
        filters.append(ActivationRequest.status == status)
    if res_code is not None:
        filters.append(
            ActivationRequest.res_id.in_(select(Res.id).where(func.lower(Res.code) == res_code.strip().lower()))
        )
    key = tuple_(ActivationRequest.created_at, ActivationRequest.id)
    query = select(ActivationRequest).where(*filters)
    has_previous = False
    if after is not None:
        created_at, request_id = cursor_position(after, (dt.datetime.now(dt.UTC), 0))
        position = tuple_(literal(created_at), literal(request_id))
        query = query.where(key > position)
        has_previous = (await session.execute(select(exists().where(*filters, key <= position)))).scalar_one()
    rows = list(
        (await session.execute(query.order_by(ActivationRequest.created_at, ActivationRequest.id).limit(limit + 1)))
        .scalars()
        .all()
    )
    total = (await session.execute(select(func.count()).select_from(ActivationRequest).where(*filters))).scalar_one()
    chosen = rows[:limit]
    page = Page(
        rows=chosen,
        key=lambda r: (r.created_at, r.id),
        has_next=len(rows) > limit,
        has_previous=has_previous,
    )
    return page, total


async def _pending_locked(*, session: AsyncSession, request_id: int) -> tuple[ActivationRequest, Account]:
    """The request and its login, both locked, so two admins cannot both decide it."""
    request = (
        await session.execute(select(ActivationRequest).where(ActivationRequest.id == request_id).with_for_update())
    ).scalar_one_or_none()
    if request is None:
        raise NotFound(("id",))
    if request.status != ActivationStatus.PENDING:
        raise OperationRefused("ACTIVATION_ALREADY_DECIDED")
    account = (
        await session.execute(select(Account).where(Account.id == request.account_id).with_for_update())
    ).scalar_one()
    return request, account


async def activation_approve(
    *, session: AsyncSession, settings: Settings, request_id: int, admin_id: int, now: dt.datetime
) -> Decision:
    request, account = await _pending_locked(session=session, request_id=request_id)
    request.status = ActivationStatus.APPROVED
    request.method = ActivationMethod.ADMIN_REVIEW
    request.decided_at = now
    request.decided_by_id = admin_id
    # A login with an approved request may sign in; a blocked one stays blocked.
    if account.status == AccountStatus.PENDING:
        account.status = AccountStatus.ACTIVE
    res = await session.get(Res, request.res_id)
    assert res is not None
    await _approved_mail(
        session=session,
        settings=settings,
        account=account,
        res=res,
        number=request.personal_account_number,
        language=account.language,
    )
    audit_record(
        session=session, account_id=admin_id, action="activation_approved", request_id=request.id, login=account.login
    )
    await session.flush()
    return Decision(request=request)


async def activation_reject(
    *, session: AsyncSession, request_id: int, reason: str, admin_id: int, now: dt.datetime
) -> Decision:
    """Reject with a reason the person is mailed; a rejected registration frees its login and email."""
    text = reason.strip()
    problems = Problems()
    if not text:
        problems.add(("reason",), "REQUIRED")
    elif len(text) > REASON_MAX:
        problems.add(("reason",), "TOO_LONG", max=REASON_MAX)
    problems.raise_if_any()
    request, account = await _pending_locked(session=session, request_id=request_id)
    request.status = ActivationStatus.REJECTED
    request.method = ActivationMethod.ADMIN_REVIEW
    request.rejection_reason = text
    request.decided_at = now
    request.decided_by_id = admin_id
    await mail_enqueue(
        session=session,
        kind="activation_rejected",
        to=account.email,
        language=account.language,
        account_id=account.id,
        full_name=account.full_name,
        personal_account_number=request.personal_account_number,
        reason=text,
    )
    # The decision outlives the request row when the login goes with it.
    audit_record(
        session=session,
        account_id=admin_id,
        action="activation_rejected",
        request_id=request.id,
        login=account.login,
        email=account.email,
        personal_account_number=request.personal_account_number,
        res_id=request.res_id,
        reason=text,
    )
    await session.flush()
    removed = None
    if request.at_registration and account.status == AccountStatus.PENDING:
        linked = (
            await session.execute(
                select(ActivationRequest.id).where(
                    ActivationRequest.account_id == account.id,
                    ActivationRequest.status == ActivationStatus.APPROVED,
                )
            )
        ).first()
        if linked is None:
            # Its sessions and tokens go with it; queued mail keeps its address, and this
            # request stays (without its login), so a second decision is ACTIVATION_ALREADY_DECIDED.
            await session.execute(delete(Account).where(Account.id == account.id))
            removed = account
    return Decision(request=request, removed_account=removed)
