"""Tariff versions: the price blocks in force from a date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TariffMode, enum_column


class Tariff(Base):
    __tablename__ = "tariff"

    id: Mapped[int] = mapped_column(primary_key=True)
    valid_from: Mapped[dt.date] = mapped_column(unique=True)
    mode: Mapped[TariffMode] = mapped_column(enum_column(TariffMode))
    name: Mapped[str]


class TariffBlock(Base):
    __tablename__ = "tariff_block"

    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariff.id", ondelete="CASCADE"), primary_key=True)
    # 1-based, in ascending bounds.
    block: Mapped[int] = mapped_column(primary_key=True)
    # kWh per month; null for the open top block.
    upper_bound: Mapped[int | None]
    price: Mapped[Decimal] = mapped_column(Numeric(12, 4))
