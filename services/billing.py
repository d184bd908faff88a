"""Forming bills: numbers from the gap-free counter, due dates, lines, and the "bill formed" mail."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from mail.outbox import mail_enqueue
from models import Account, Bill, BillLine, BillNumberCounter, PersonalAccount
from models.base import BillKind, ChargeCategory, RecordSource
from services.pricing import PricedLine, PricingResult

KWH = "кВт·год"
ZONE_NAMES = {"TOTAL": "", "DAY": "день", "NIGHT": "ніч", "PEAK": "пік", "SEMI_PEAK": "напівпік"}


def due_date(issued_on: dt.date) -> dt.date:
    """The 20th of the month after issue."""
    year, month = (issued_on.year + 1, 1) if issued_on.month == 12 else (issued_on.year, issued_on.month + 1)
    return dt.date(year, month, 20)


async def bill_number_next(*, session: AsyncSession) -> int:
    """The next number, from one locked row: a rolled-back bill leaves no hole.

    It also continues after the highest number any bill has (imported ones included).
    """
    last = (
        await session.execute(select(BillNumberCounter.last_number).where(BillNumberCounter.id == 1).with_for_update())
    ).scalar_one()
    highest = (await session.execute(select(func.max(Bill.number)))).scalar_one() or 0
    number = max(last, highest) + 1
    await session.execute(update(BillNumberCounter).where(BillNumberCounter.id == 1).values(last_number=number))
    return number


def line_description(line: PricedLine) -> str:
    zone = ZONE_NAMES.get(line.zone, line.zone)
    text = f"Електроенергія, тариф з {line.tariff_valid_from:%d.%m.%Y}, блок {line.block}"
    return f"{text}, зона «{zone}»" if zone else text


async def consumption_bill_form(
    *,
    session: AsyncSession,
    settings: Settings,
    personal_account_id: int,
    reading_id: int,
    pricing: PricingResult,
    account_id: int | None,
    language: str,
) -> Bill:
    today = settings.today()
    bill = Bill(
        personal_account_id=personal_account_id,
        number=await bill_number_next(session=session),
        category=ChargeCategory.ELECTRICITY,
        kind=BillKind.CONSUMPTION,
        issued_on=today,
        period_start=pricing.period_start,
        period_end=pricing.period_end,
        reading_id=reading_id,
        due_on=due_date(today),
        amount=pricing.amount,
        source=RecordSource.CABINET,
    )
    session.add(bill)
    await session.flush()
    session.add_all(
        BillLine(
            bill_id=bill.id,
            personal_account_id=personal_account_id,
            position=position,
            description=line_description(line),
            tariff_id=line.tariff_id,
            block=line.block,
            zone=line.zone,
            quantity=Decimal(line.kwh),
            unit=KWH,
            price=line.price,
            coefficient=line.coefficient,
            amount=line.amount,
        )
        for position, line in enumerate(pricing.lines, start=1)
    )
    await _bill_formed_mail(session=session, settings=settings, bill=bill, account_id=account_id, language=language)
    return bill


async def _bill_formed_mail(
    *, session: AsyncSession, settings: Settings, bill: Bill, account_id: int | None, language: str
) -> None:
    if account_id is None:
        return
    account = await session.get(Account, account_id)
    number = (
        await session.execute(select(PersonalAccount.number).where(PersonalAccount.id == bill.personal_account_id))
    ).scalar_one()
    await mail_enqueue(
        session=session,
        kind="bill_formed",
        to=account.email,
        language=language,
        account_id=account.id,
        full_name=account.full_name,
        personal_account_number=number,
        bill_number=str(bill.number),
        amount=bill.amount,
        due_on=bill.due_on,
        link=f"{settings.frontend_root}/",
    )
