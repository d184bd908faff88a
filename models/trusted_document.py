"""Trusted documents: the operations a frontend's build registered, by their SHA-256."""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Created


class TrustedDocument(Base):
    __tablename__ = "trusted_document"

    # The lower-case hex SHA-256 of the body, as Apollo's persisted queries name a document.
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    # The operation's name in the manifest, for people reading the table.
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[Created]
