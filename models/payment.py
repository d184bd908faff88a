"""Money received for a personal account, from any channel, and the card payments behind it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ForeignKey,
    Identity,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import (
    Base,
    BigId,
    ChargeCategory,
    Created,
    InternetPaymentStatus,
    PaymentChannel,
    enum_column,
)


class Payment(Base):
    """A credit. Each bank payment, processed internet payment or aggregator payment is one."""

    __tablename__ = "payment"
    __table_args__ = (
        Index("ix_payment_account_paid", "personal_account_id", "paid_on", "id"),
        # One credit per confirmed card payment (its reversal is a second row).
        Index(
            "uq_payment_internet_credit",
            "internet_payment_id",
            unique=True,
            postgresql_where=text("reverses_payment_id IS NULL"),
        ),
    )

    id: Mapped[BigId]
    personal_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("personal_account.id"))
    paid_on: Mapped[dt.date]
    amount: Mapped[Decimal]
    category: Mapped[ChargeCategory] = mapped_column(enum_column(ChargeCategory))
    channel: Mapped[PaymentChannel] = mapped_column(enum_column(PaymentChannel))
    # A payment made for a chosen bill pays that bill first.
    bill_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("bill.id"))
    # At most one credit per source: these are unique where set.
    internet_payment_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("internet_payment.id"))
    aggregator_payment_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("aggregator_payment.id"), unique=True
    )
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # A reversal is a negative payment pointing at the one it undoes.
    reverses_payment_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("payment.id"), unique=True)
    created_at: Mapped[Created]


class InternetPayment(Base):
    """A card payment started in the cabinet; credited once the bank confirms it."""

    __tablename__ = "internet_payment"
    __table_args__ = (
        UniqueConstraint("account_id", "idempotency_key"),
        Index("ix_internet_payment_account_created", "personal_account_id", "created_at", "id"),
        Index("ix_internet_payment_open", "status", "expires_at"),
    )

    id: Mapped[BigId]
    # The number shown to people (ID платежу); continues after imported ones.
    number: Mapped[int] = mapped_column(BigInteger, Identity(start=100000), unique=True)
    personal_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("personal_account.id"))
    account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("account.id", ondelete="SET NULL"), index=True
    )
    amount: Mapped[Decimal]
    category: Mapped[ChargeCategory] = mapped_column(enum_column(ChargeCategory))
    bill_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("bill.id"))
    status: Mapped[InternetPaymentStatus] = mapped_column(enum_column(InternetPaymentStatus))
    created_at: Mapped[Created]
    expires_at: Mapped[dt.datetime]
    confirmed_at: Mapped[dt.datetime | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    return_url: Mapped[str | None] = mapped_column(String(2000))
    # The bank's own id of the transaction.
    bank_payment_id: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)


class BankCallback(Base):
    """Every callback the bank sent, verified or not, as received."""

    __tablename__ = "bank_callback"

    id: Mapped[BigId]
    internet_payment_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("internet_payment.id"), index=True)
    personal_account_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("personal_account.id"))
    received_at: Mapped[Created]
    data: Mapped[str]
    signature: Mapped[str] = mapped_column(String(200))
    verified: Mapped[bool]
    bank_status: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(64))


class ApiClient(Base):
    """An aggregator's API key, stored as SHA-256."""

    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[bytes] = mapped_column(unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    created_at: Mapped[Created]
    revoked_at: Mapped[dt.datetime | None]


class AggregatorPayment(Base):
    """A payment an aggregator posted, idempotent by (client, transaction id)."""

    __tablename__ = "aggregator_payment"
    __table_args__ = (
        UniqueConstraint("api_client_id", "transaction_id"),
        Index("ix_aggregator_payment_client_paid", "api_client_id", "paid_at", "id"),
    )

    id: Mapped[BigId]
    api_client_id: Mapped[int] = mapped_column(ForeignKey("api_client.id"))
    transaction_id: Mapped[str] = mapped_column(String(64))
    personal_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("personal_account.id"))
    category: Mapped[ChargeCategory] = mapped_column(enum_column(ChargeCategory))
    amount: Mapped[Decimal]
    paid_at: Mapped[dt.datetime]
    posted_at: Mapped[Created]
