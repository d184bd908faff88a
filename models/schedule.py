"""ГПЗ (repayment schedules) with instalments, and violation acts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, ChargeCategory, enum_column


class RepaymentSchedule(Base):
    __tablename__ = "repayment_schedule"
    __table_args__ = (UniqueConstraint("personal_account_id", "number"),)

    id: Mapped[BigId]
    personal_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("personal_account.id"), index=True)
    number: Mapped[str] = mapped_column(String(32))
    # ELECTRICITY_SCHEDULE or ACTS_SCHEDULE; the debt came from ELECTRICITY or ACTS.
    category: Mapped[ChargeCategory] = mapped_column(enum_column(ChargeCategory))
    agreed_on: Mapped[dt.date]
    total: Mapped[Decimal]
    # The CORRECTION bill of −total in the source category.
    correction_bill_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("bill.id"))


class Instalment(Base):
    __tablename__ = "instalment"

    id: Mapped[BigId]
    schedule_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("repayment_schedule.id", ondelete="CASCADE"), index=True
    )
    personal_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("personal_account.id"))
    due_on: Mapped[dt.date]
    amount: Mapped[Decimal]
    # The INSTALLMENT bill; its issued_on is due_on, so it is debt from that day on.
    bill_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("bill.id"))


class ViolationAct(Base):
    __tablename__ = "violation_act"
    __table_args__ = (UniqueConstraint("personal_account_id", "number"),)

    id: Mapped[BigId]
    personal_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("personal_account.id"), index=True)
    number: Mapped[str] = mapped_column(String(32))
    drawn_up_on: Mapped[dt.date]
    description: Mapped[str]
    kwh: Mapped[int | None]
    amount: Mapped[Decimal]
    bill_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("bill.id"))
