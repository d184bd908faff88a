"""Evidence that a person holds a personal account: the meter's serial number or the last payment.

The last payment amount is that of the most recent ELECTRICITY payment made
before the latest bill was formed: the holder finds it on that bill, while a
stranger's fresh payment (after the bill) proves nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from config import Settings
from models import Bill, Meter, Payment
from models.base import ActivationMethod, ChargeCategory
from services.throttle import (
    address_key,
    attempt_reserve,
    subject_count,
    subject_forget,
    subjects_check,
    throttle_clear,
)


def evidence_key(res_code: str, number: str) -> str:
    return f"evidence:{res_code.lower()}/{number.lower()}"


def serial_normalise(serial: str) -> str:
    # Serials are printed with spaces or dashes now and then; case never matters.
    return "".join(ch for ch in serial if ch not in " -").casefold()


async def meter_serial_current(*, session: AsyncSession, personal_account_id: int) -> str | None:
    row = (
        await session.execute(
            select(Meter.serial_number)
            .where(Meter.personal_account_id == personal_account_id, Meter.removed_on.is_(None))
            .order_by(Meter.installed_on.desc().nulls_last(), Meter.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return row


async def last_payment_amount(*, session: AsyncSession, personal_account_id: int, today: dt.date) -> Decimal | None:
    """The amount of the most recent ELECTRICITY payment paid before the latest bill's issue date.

    Bills of every category count as "formed" once issued (up to the business
    date). Among payments of one day the latest entered wins: by time, then id.
    Reversed payments and reversals are not evidence.
    """
    latest_bill = (
        select(func.max(Bill.issued_on))
        .where(Bill.personal_account_id == personal_account_id, Bill.issued_on <= today)
        .scalar_subquery()
    )
    reversal = aliased(Payment)
    row = (
        await session.execute(
            select(Payment.amount)
            .where(
                Payment.personal_account_id == personal_account_id,
                Payment.category == ChargeCategory.ELECTRICITY,
                Payment.amount > 0,
                Payment.reverses_payment_id.is_(None),
                ~exists().where(reversal.reverses_payment_id == Payment.id),
                Payment.paid_on < latest_bill,
            )
            .order_by(Payment.paid_on.desc(), Payment.created_at.desc(), Payment.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return row


async def evidence_match(
    *,
    session: AsyncSession,
    personal_account_id: int,
    meter_serial_number: str | None,
    last_payment: Decimal | None,
    today: dt.date,
) -> ActivationMethod | None:
    """Which given piece of evidence matches the record, if any (the meter first)."""
    if meter_serial_number is not None:
        serial = await meter_serial_current(session=session, personal_account_id=personal_account_id)
        if serial is not None and serial_normalise(serial) == serial_normalise(meter_serial_number):
            return ActivationMethod.METER_NUMBER
    if last_payment is not None:
        amount = await last_payment_amount(session=session, personal_account_id=personal_account_id, today=today)
        if amount is not None and amount == last_payment:
            return ActivationMethod.LAST_PAYMENT_AMOUNT
    return None


async def evidence_verify(
    *,
    session: AsyncSession,
    settings: Settings,
    res_code: str,
    personal_account_id: int,
    personal_account_number: str,
    meter_serial_number: str | None,
    last_payment: Decimal | None,
    client_address: str | None,
    now: dt.datetime,
) -> ActivationMethod | None:
    """evidence_match, throttled like passwords: per target with growing delays, and per client
    address by the personal accounts it guessed wrong in the last hour (not on sign-in).

    No evidence given is no guess. The guess is counted on the target before
    the match, so parallel guesses take turns; TOO_MANY_ATTEMPTS while a key waits.
    """
    if meter_serial_number is None and last_payment is None:
        return None
    target = evidence_key(res_code, personal_account_number)
    address = address_key("evidence", client_address)
    await subjects_check(
        session=session, key=address, limit=settings.throttle_address_failed_evidence_per_hour, now=now
    )
    await attempt_reserve(session=session, settings=settings, key=target, now=now)
    method = await evidence_match(
        session=session,
        personal_account_id=personal_account_id,
        meter_serial_number=meter_serial_number,
        last_payment=last_payment,
        today=settings.today(),
    )
    if method is None:
        await subject_count(session=session, key=address, subject=target, now=now)
    else:
        await throttle_clear(session=session, key=target)
        await subject_forget(session=session, key=address, subject=target)
    return method
