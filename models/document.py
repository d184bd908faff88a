"""Rendered PDFs, one kept per document: a receipt's for good, a bill's while its slip holds."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Created


class Document(Base):
    __tablename__ = "document"

    # "receipt:<id>"; "bill:<id>:<as of>:<amount due>" ("bill:<id>" for a bill that asks for nothing).
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    personal_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("personal_account.id"), index=True)
    etag: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[Created]
