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
from services.throttle import throttle_check, throttle_clear, throttle_fail


def address_key(client_address: str | None) -> str:
    """The per-address key, the same one sign-in failures count on."""
    return "ip:" + (client_address or "unknown")


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
    """evidence_match, throttled like passwords: per target and per client address.

    No evidence given is no guess. A guess that does not match counts as a
    failure; TOO_MANY_ATTEMPTS while a key waits out its delay.
    """
    if meter_serial_number is None and last_payment is None:
        return None
    target = evidence_key(res_code, personal_account_number)
    keys = [target, address_key(client_address)]
    await throttle_check(session=session, keys=keys, now=now)
    method = await evidence_match(
        session=session,
        personal_account_id=personal_account_id,
        meter_serial_number=meter_serial_number,
        last_payment=last_payment,
        today=settings.today(),
    )
    if method is None:
        await throttle_fail(session=session, settings=settings, keys=keys, now=now)
    else:
        await throttle_clear(session=session, key=target)
    return method
