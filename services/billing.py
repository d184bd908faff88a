"""Forming bills: due dates, lines, the reading with its bill and lines in one statement, and the "bill formed" mail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from mail.outbox import mail_values
from models.base import BillKind, ChargeCategory, RecordSource
from services.account_records import LINE_JSON
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


# The reading, its bill and the bill's lines in one statement, the lines as stored (with their
# tariff's start) for the answer; the number comes from the bill's default, the sequence
# (models.bill.BILL_NUMBERS), so nothing global is locked.
READING_BILL_SQL = text(
    f"""
WITH reading AS (
  INSERT INTO meter_reading (personal_account_id, meter_id, taken_on, zones, "values", consumptions, consumption, source)
  VALUES (:personal_account_id, :meter_id, :taken_on, :reading_zones, :reading_values, :consumptions, :consumption,
          :reading_source)
  RETURNING id
), bill AS (
  INSERT INTO bill (personal_account_id, category, kind, issued_on, period_start, period_end, reading_id,
                    due_on, amount, source)
  VALUES (:personal_account_id, :category, :kind, :issued_on, :period_start, :period_end, (SELECT id FROM reading),
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
  RETURNING bill_id, position, description, block, zone, quantity, unit, price, coefficient, amount, tariff_id
)
SELECT reading.id AS reading_id, bill.id AS bill_id, bill.number,
  (SELECT {LINE_JSON} ORDER BY l.position)
     FROM lines l LEFT JOIN tariff t ON t.id = l.tariff_id) AS lines
FROM reading, bill
"""
)


@dataclass(frozen=True, slots=True)
class FormedBill:
    reading_id: int
    bill_id: int
    number: int
    lines: list[list]  # LINE_JSON's, as stored: bill_id, position, description, block, zone, quantity, unit, price,
    # coefficient, amount, the tariff's valid_from (services/account_records.LineRow's order)


async def reading_bill_form(
    *, session: AsyncSession, settings: Settings, reading: dict, pricing: PricingResult
) -> FormedBill:
    """Store a reading (`reading`: its meter_reading columns) and form its bill with its lines."""
    today = settings.today()
    lines = bill_lines(pricing)
    row = (
        await session.execute(
            READING_BILL_SQL,
            {
                **{
                    "personal_account_id": reading["personal_account_id"],
                    "meter_id": reading["meter_id"],
                    "taken_on": reading["taken_on"],
                    "reading_zones": reading["zones"],
                    "reading_values": reading["values"],
                    "consumptions": reading["consumptions"],
                    "consumption": reading["consumption"],
                    "reading_source": reading["source"],
                },
                "category": ChargeCategory.ELECTRICITY.value,
                "kind": BillKind.CONSUMPTION.value,
                "issued_on": today,
                "period_start": pricing.period_start,
                "period_end": pricing.period_end,
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
    return FormedBill(row.reading_id, row.bill_id, row.number, row.lines or [])


def bill_formed_mail(
    *,
    settings: Settings,
    account_id: int,
    to: str,
    full_name: str,
    personal_account_number: str,
    bill_number: int,
    amount: Decimal,
    language: str,
) -> dict:
    """The "bill formed" letter's outbox columns (mail.outbox.mail_values)."""
    return mail_values(
        kind="bill_formed",
        to=to,
        language=language,
        account_id=account_id,
        full_name=full_name,
        personal_account_number=personal_account_number,
        bill_number=str(bill_number),
        amount=amount,
        due_on=due_date(settings.today()),
        link=f"{settings.frontend_root}/",
    )


def quantity_shown(q: Decimal | None) -> Decimal | None:
    """A line's quantity as a bill prints it: whole kWh without the stored ".000"."""
    return q.normalize() if q is not None and q == q.to_integral() else q


def coefficient_shown(c: Decimal | None) -> Decimal | None:
    """A line's coefficient as people write it: 1.0, 0.5, 1.5."""
    return c.quantize(Decimal("0.1")) if c is not None and c == c.quantize(Decimal("0.1")) else c
