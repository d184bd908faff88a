"""Meters and their readings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ARRAY, BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, Created, ReadingSource, enum_column


class Meter(Base):
    """A meter at a personal account; the current one has no removed_on."""

    __tablename__ = "meter"

    id: Mapped[BigId]
    personal_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("personal_account.id"), index=True)
    serial_number: Mapped[str] = mapped_column(String(64), index=True)
    model: Mapped[str | None] = mapped_column(String(100))
    digits: Mapped[int]
    # [TOTAL], [DAY, NIGHT] or [PEAK, SEMI_PEAK, NIGHT], in that order.
    zones: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    installed_on: Mapped[dt.date | None]
    verified_on: Mapped[dt.date | None]
    next_verification_on: Mapped[dt.date | None]
    removed_on: Mapped[dt.date | None]


class MeterReading(Base):
    """One reading per personal account and date, with a value per zone.

    zones, values and consumptions are parallel arrays in the meter's zone
    order; consumption is null for the first reading of a meter.
    """

    __tablename__ = "meter_reading"
    __table_args__ = (UniqueConstraint("personal_account_id", "taken_on"),)

    id: Mapped[BigId]
    personal_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("personal_account.id"))
    meter_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("meter.id"), index=True)
    taken_on: Mapped[dt.date]
    zones: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    values: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    consumptions: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    consumption: Mapped[int | None]
    source: Mapped[ReadingSource] = mapped_column(enum_column(ReadingSource))
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[Created]
