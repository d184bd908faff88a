"""Forming bills: due dates, lines, the bill and its lines in one statement, and the "bill formed" mail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from mail.outbox import mail_enqueue
from models import Account
from models.base import BillKind, ChargeCategory, RecordSource
from services.pricing import PricedLine, PricingResult

KWH = "кВт·год"
ZONE_NAMES = {"TOTAL": "", "DAY": "день", "NIGHT": "ніч", "PEAK": "пік", "SEMI_PEAK": "напівпік"}


def due_date(issued_on: dt.date) -> dt.date:
    """The 20th of the month after issue."""
    year, month = (issued_on.year + 1, 1) if issued_on.month == 12 else (issued_on.year, issued_on.month + 1)
    return dt.date(year, month, 20)


def line_description(line: PricedLine) -> str:
    zone = ZONE_NAMES.get(line.zone, line.zone)
    words = f"Електроенергія, тариф з {line.tariff_valid_from:%d.%m.%Y}, блок {line.block}"
    return f"{words}, зона «{zone}»" if zone else words


@dataclass(frozen=True, slots=True)
class BillLineDraft:
    """A priced line as the bill stores it; the preview shows the same lines before any is stored."""

    description: str
    tariff_id: object  # as PricedLine has it
    block: int
    zone: str
    quantity: Decimal
    unit: str
    price: Decimal
    coefficient: Decimal
    amount: Decimal


def bill_lines(pricing: PricingResult) -> list[BillLineDraft]:
    """The lines of a consumption bill, in pricing order (their positions)."""
    return [
        BillLineDraft(
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
        for line in pricing.lines
    ]


# The bill and its lines in one statement; the number comes from the bill's default,
# the sequence (models.bill.BILL_NUMBERS), so nothing global is locked.
BILL_WITH_LINES_SQL = text(
    """
WITH bill AS (
  INSERT INTO bill (personal_account_id, category, kind, issued_on, period_start, period_end, reading_id,
                    due_on, amount, source)
  VALUES (:personal_account_id, :category, :kind, :issued_on, :period_start, :period_end, :reading_id,
          :due_on, :amount, :source)
  RETURNING id, number
), lines AS (
  INSERT INTO bill_line (bill_id, personal_account_id, position, description, tariff_id, block, zone, quantity,
                         unit, price, coefficient, amount)
  SELECT bill.id, CAST(:personal_account_id AS bigint), line.position, line.description, line.tariff_id, line.block,
         line.zone, line.quantity, CAST(:unit AS text), line.price, line.coefficient, line.amount
  FROM bill, unnest(CAST(:descriptions AS text[]), CAST(:tariff_ids AS integer[]), CAST(:blocks AS smallint[]),
                    CAST(:zones AS text[]), CAST(:quantities AS numeric[]), CAST(:prices AS numeric[]),
                    CAST(:coefficients AS numeric[]), CAST(:amounts AS numeric[]))
         WITH ORDINALITY AS line(description, tariff_id, block, zone, quantity, price, coefficient, amount, position)
)
SELECT id, number FROM bill
"""
)


async def consumption_bill_form(
    *,
    session: AsyncSession,
    settings: Settings,
    personal_account_id: int,
    personal_account_number: str,
    reading_id: int,
    pricing: PricingResult,
    account_id: int | None,
    language: str,
) -> int:
    """Form the bill of a reading with its lines and queue the "bill formed" mail; its id."""
    today = settings.today()
    lines = bill_lines(pricing)
    bill = (
        await session.execute(
            BILL_WITH_LINES_SQL,
            {
                "personal_account_id": personal_account_id,
                "category": ChargeCategory.ELECTRICITY.value,
                "kind": BillKind.CONSUMPTION.value,
                "issued_on": today,
                "period_start": pricing.period_start,
                "period_end": pricing.period_end,
                "reading_id": reading_id,
                "due_on": due_date(today),
                "amount": pricing.amount,
                "source": RecordSource.CABINET.value,
                "unit": KWH,
                "descriptions": [line.description for line in lines],
                "tariff_ids": [line.tariff_id for line in lines],
                "blocks": [line.block for line in lines],
                "zones": [line.zone for line in lines],
                "quantities": [line.quantity for line in lines],
                "prices": [line.price for line in lines],
                "coefficients": [line.coefficient for line in lines],
                "amounts": [line.amount for line in lines],
            },
        )
    ).one()
    if account_id is not None:
        await _bill_formed_mail(
            session=session,
            settings=settings,
            account_id=account_id,
            personal_account_number=personal_account_number,
            bill_number=bill.number,
            amount=pricing.amount,
            due_on=due_date(today),
            language=language,
        )
    return bill.id


async def _bill_formed_mail(
    *,
    session: AsyncSession,
    settings: Settings,
    account_id: int,
    personal_account_number: str,
    bill_number: int,
    amount: Decimal,
    due_on: dt.date,
    language: str,
) -> None:
    account = (await session.execute(select(Account.email, Account.full_name).where(Account.id == account_id))).one()
    await mail_enqueue(
        session=session,
        kind="bill_formed",
        to=account.email,
        language=language,
        account_id=account_id,
        full_name=account.full_name,
        personal_account_number=personal_account_number,
        bill_number=str(bill_number),
        amount=amount,
        due_on=due_on,
        link=f"{settings.frontend_root}/",
    )


def quantity_shown(q: Decimal | None) -> Decimal | None:
    """A line's quantity as a bill prints it: whole kWh without the stored ".000"."""
    return q.normalize() if q is not None and q == q.to_integral() else q


def coefficient_shown(c: Decimal | None) -> Decimal | None:
    """A line's coefficient as people write it: 1.0, 0.5, 1.5."""
    return c.quantize(Decimal("0.1")) if c is not None and c == c.quantize(Decimal("0.1")) else c
