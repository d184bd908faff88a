"""The mail outbox: written with its cause, sent later by the worker."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, Created, OutboxStatus, enum_column


class OutboxMessage(Base):
    __tablename__ = "outbox_message"
    __table_args__ = (
        Index(
            "ix_outbox_message_due",
            "next_attempt_at",
            postgresql_where=text("status = 'PENDING'"),
        ),
    )

    id: Mapped[BigId]
    # Who it concerns; kept when the login is merged away, so queued mail still goes.
    account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("account.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str]
    status: Mapped[OutboxStatus] = mapped_column(enum_column(OutboxStatus))
    attempts: Mapped[int] = mapped_column(server_default="0")
    next_attempt_at: Mapped[dt.datetime] = mapped_column(server_default=text("now()"))
    last_error: Mapped[str | None]
    created_at: Mapped[Created]
    sent_at: Mapped[dt.datetime | None]
