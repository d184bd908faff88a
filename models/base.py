"""Declarative base, shared column types and the domain's enumerations."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Annotated

from sqlalchemy import BigInteger, DateTime, MetaData, Numeric, String, func
from sqlalchemy.orm import DeclarativeBase, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # Timestamps always carry their zone; plain Decimal columns are money.
    type_annotation_map = {dt.datetime: DateTime(timezone=True), Decimal: Numeric(14, 2)}


BigId = Annotated[int, mapped_column(BigInteger, primary_key=True, autoincrement=True)]
# Money in UAH with kopecks; prices per kWh have up to four decimals.
Money = Annotated[Decimal, mapped_column(Numeric(14, 2))]
Price = Annotated[Decimal, mapped_column(Numeric(12, 4))]
Created = Annotated[dt.datetime, mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)]
Text = Annotated[str, mapped_column(String)]


def enum_column(enum_cls: type[enum.Enum]):
    """Enums stored as their names in text with a CHECK, so adding a value is a small migration."""
    from sqlalchemy import Enum

    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=32,
        name=enum_cls.__name__.lower(),
        validate_strings=True,
    )


class Role(enum.StrEnum):
    CUSTOMER = "CUSTOMER"
    ADMIN = "ADMIN"


class AccountStatus(enum.StrEnum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    BLOCKED = "BLOCKED"


class ActivationStatus(enum.StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class ActivationMethod(enum.StrEnum):
    LAST_PAYMENT_AMOUNT = "LAST_PAYMENT_AMOUNT"
    METER_NUMBER = "METER_NUMBER"
    ADMIN_REVIEW = "ADMIN_REVIEW"


class ChargeCategory(enum.StrEnum):
    """In the manual's order; `ORDER` below keeps it for sorting."""

    ELECTRICITY = "ELECTRICITY"
    ELECTRICITY_SCHEDULE = "ELECTRICITY_SCHEDULE"
    ACTS = "ACTS"
    ACTS_SCHEDULE = "ACTS_SCHEDULE"
    SERVICES = "SERVICES"


CATEGORY_ORDER = tuple(ChargeCategory)


class MeterZone(enum.StrEnum):
    TOTAL = "TOTAL"
    DAY = "DAY"
    NIGHT = "NIGHT"
    PEAK = "PEAK"
    SEMI_PEAK = "SEMI_PEAK"


class ReadingSource(enum.StrEnum):
    CABINET = "CABINET"
    INSPECTOR = "INSPECTOR"
    IMPORT = "IMPORT"


class BillKind(enum.StrEnum):
    CONSUMPTION = "CONSUMPTION"
    CORRECTION = "CORRECTION"
    ACT = "ACT"
    SERVICE = "SERVICE"
    INSTALLMENT = "INSTALLMENT"


class BillStatus(enum.StrEnum):
    """Derived by allocation, never stored."""

    PAID = "PAID"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    UNPAID = "UNPAID"


class RecordSource(enum.StrEnum):
    CABINET = "CABINET"
    IMPORT = "IMPORT"


class PaymentChannel(enum.StrEnum):
    BANK = "BANK"
    INTERNET = "INTERNET"
    AGGREGATOR = "AGGREGATOR"


class InternetPaymentStatus(enum.StrEnum):
    CREATED = "CREATED"
    PENDING = "PENDING"
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"
    REVERSED = "REVERSED"
    EXPIRED = "EXPIRED"


class TariffMode(enum.StrEnum):
    INCREMENTAL = "INCREMENTAL"
    WHOLE_VOLUME = "WHOLE_VOLUME"
    FLAT = "FLAT"


class OutboxStatus(enum.StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    DEAD = "DEAD"


class OneTimeTokenKind(enum.StrEnum):
    PASSWORD_RESET = "PASSWORD_RESET"
    EMAIL_CONFIRM = "EMAIL_CONFIRM"


__all__ = [
    "Base",
    "BigId",
    "Money",
    "Price",
    "Created",
    "Text",
    "enum_column",
    "BigInteger",
    "Decimal",
]
