"""What a document shows, as plain data: the renderers know nothing else.

Categories, kinds, zones and statuses are their enum names as plain strings
("ELECTRICITY", "CONSUMPTION", "DAY", "PROCESSED"); money is Decimal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Supplier:
    """The oblenergo and the RES (district office) the personal account belongs to."""

    name: str
    edrpou: str
    iban: str
    address: str
    res_name: str


@dataclass(frozen=True, slots=True)
class Meter:
    serial_number: str
    digits: int
    zones: tuple[str, ...]
    model: str | None = None


@dataclass(frozen=True, slots=True)
class ZoneReading:
    zone: str
    previous: int | None
    current: int
    consumption: int | None


@dataclass(frozen=True, slots=True)
class Readings:
    """A consumption bill's reading and the one before it on the same meter."""

    previous_on: dt.date | None
    current_on: dt.date
    zones: tuple[ZoneReading, ...]
    consumption: int | None


@dataclass(frozen=True, slots=True)
class BillLine:
    description: str
    block: int | None
    zone: str | None
    quantity: Decimal | None
    unit: str | None
    price: Decimal | None
    coefficient: Decimal | None
    amount: Decimal


@dataclass(frozen=True, slots=True)
class CategoryDebt:
    category: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class MonthKwh:
    month: dt.date  # the first day of the month
    kwh: int


@dataclass(frozen=True, slots=True)
class PaymentSlip:
    """What the tear-off slip and the QR code ask for: what is still due on the bill as of a
    day. Unlike the rest of the bill it changes as payments arrive."""

    as_of: dt.date
    amount_due: Decimal  # 0.00: the bill is paid

    @property
    def paid(self) -> bool:
        return self.amount_due <= 0


@dataclass(frozen=True, slots=True)
class BillDocument:
    supplier: Supplier
    personal_account_number: str
    holder_name: str
    address: str
    number: int
    category: str
    kind: str
    issued_on: dt.date
    period_start: dt.date | None
    period_end: dt.date | None
    due_on: dt.date | None
    amount: Decimal
    lines: tuple[BillLine, ...]
    # The five categories in the manual's order, as of the issue date.
    debts: tuple[CategoryDebt, ...]
    purpose: str
    # None: a bill of zero or less, which never asks for payment.
    slip: PaymentSlip | None
    meter: Meter | None = None
    readings: Readings | None = None
    # kWh when the bill has no readings block (imported consumption bills).
    consumption: int | None = None
    # The last twelve months up to the issue date, oldest first; empty: no chart.
    consumption_history: tuple[MonthKwh, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class ReceiptDocument:
    supplier: Supplier
    personal_account_number: str
    holder_name: str
    address: str
    payment_number: int
    amount: Decimal
    category: str
    status: str
    created_at: dt.datetime
    confirmed_at: dt.datetime | None
    bank_payment_id: str | None
    purpose: str
    bill_number: int | None = None
