"""Bills, their lines, and the sequence bill numbers come from."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, Sequence, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import (
    Base,
    BigId,
    BillKind,
    ChargeCategory,
    Created,
    MeterZone,
    RecordSource,
    enum_column,
)

# The cabinet's own bill numbers. A sequence, not a locked counter row: no submit waits for
# another, and a rolled-back one leaves a gap (a number identifies, it does not count).
# The import moves it past the highest number it loads (services/importing/bills.py).
BILL_NUMBERS = Sequence("bill_number_seq", metadata=Base.metadata)


class Bill(Base):
    """An immutable charge (or, for a CORRECTION, possibly a credit) in one category."""

    __tablename__ = "bill"
    __table_args__ = (
        # The screens list bills of a personal account by category and date.
        Index("ix_bill_account_issued", "personal_account_id", "issued_on", "number"),
    )

    id: Mapped[BigId]
    personal_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("personal_account.id"))
    number: Mapped[int] = mapped_column(BigInteger, BILL_NUMBERS, server_default=BILL_NUMBERS.next_value(), unique=True)
    category: Mapped[ChargeCategory] = mapped_column(enum_column(ChargeCategory))
    kind: Mapped[BillKind] = mapped_column(enum_column(BillKind))
    issued_on: Mapped[dt.date]
    period_start: Mapped[dt.date | None]
    period_end: Mapped[dt.date | None]
    reading_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("meter_reading.id"), unique=True)
    due_on: Mapped[dt.date | None]
    amount: Mapped[Decimal]
    source: Mapped[RecordSource] = mapped_column(enum_column(RecordSource))
    created_at: Mapped[Created]


class BillLine(Base):
    __tablename__ = "bill_line"

    id: Mapped[BigId]
    bill_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bill.id", ondelete="CASCADE"), index=True)
    personal_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("personal_account.id"))
    position: Mapped[int] = mapped_column(SmallInteger)
    description: Mapped[str]
    tariff_id: Mapped[int | None] = mapped_column(ForeignKey("tariff.id"))
    block: Mapped[int | None] = mapped_column(SmallInteger)
    zone: Mapped[MeterZone | None] = mapped_column(enum_column(MeterZone))
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    unit: Mapped[str | None] = mapped_column(String(16))
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    coefficient: Mapped[Decimal | None] = mapped_column(Numeric(6, 3))
    amount: Mapped[Decimal]
