"""Rendered PDFs: bills and receipts never change, so each is rendered once and kept."""
from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Created


class Document(Base):
    __tablename__ = "document"

    # "bill:<id>" or "receipt:<id>".
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    personal_account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("personal_account.id"), index=True
    )
    etag: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[Created]
