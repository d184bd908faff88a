"""Personal accounts (особові рахунки) and the requests that link them to logins."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import (
    ActivationMethod,
    ActivationStatus,
    Base,
    BigId,
    Created,
    enum_column,
)


class PersonalAccount(Base):
    """The utility's record of one supply point, keyed by (RES, number)."""

    __tablename__ = "personal_account"
    __table_args__ = (UniqueConstraint("res_id", "number"),)

    id: Mapped[BigId]
    res_id: Mapped[int] = mapped_column(ForeignKey("res.id"))
    number: Mapped[str] = mapped_column(String(32))
    holder_name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[Created]


class ActivationRequest(Base):
    """A request to link a personal account to a login. An APPROVED one is the link."""

    __tablename__ = "activation_request"
    __table_args__ = (
        # The links of a login, read on every screen.
        Index(
            "ix_activation_request_linked",
            "account_id",
            "personal_account_id",
            postgresql_where=text("status = 'APPROVED'"),
        ),
        Index("ix_activation_request_status_created", "status", "created_at", "id"),
    )

    id: Mapped[BigId]
    # Null once a rejected registration removed its login: the request stays as the decision's record.
    account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("account.id", ondelete="SET NULL"), index=True
    )
    res_id: Mapped[int] = mapped_column(ForeignKey("res.id"))
    personal_account_number: Mapped[str] = mapped_column(String(32))
    personal_account_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("personal_account.id"), index=True)
    # Evidence given with the request.
    last_payment_amount: Mapped[Decimal | None]
    meter_serial_number: Mapped[str | None] = mapped_column(String(64))
    # Made at registration: rejecting it removes the pending login.
    at_registration: Mapped[bool] = mapped_column(server_default="false")
    status: Mapped[ActivationStatus] = mapped_column(enum_column(ActivationStatus))
    method: Mapped[ActivationMethod | None] = mapped_column(enum_column(ActivationMethod))
    created_at: Mapped[Created]
    decided_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("account.id", ondelete="SET NULL"))
    rejection_reason: Mapped[str | None] = mapped_column(String(1000))
