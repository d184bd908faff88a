"""Oblasts and RES (district offices), with the supplier details a bill needs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class Oblast(Base):
    __tablename__ = "oblast"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str]


class Res(Base):
    __tablename__ = "res"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    oblast_code: Mapped[str] = mapped_column(ForeignKey("oblast.code"), index=True)
    name: Mapped[str]
    # The supplier on the bill: the oblenergo and its bank details.
    supplier_name: Mapped[str]
    edrpou: Mapped[str] = mapped_column(String(10))
    iban: Mapped[str] = mapped_column(String(34))
    address: Mapped[str]


class Terms(Base):
    """Versions of the user agreement; the newest in force is shown before registration."""

    __tablename__ = "terms"

    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    text: Mapped[str]
    in_force_from: Mapped[dt.date]
