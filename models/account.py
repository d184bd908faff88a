"""Logins, their sessions and tokens, one-time tokens and throttling."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ARRAY, BigInteger, ForeignKey, Index, LargeBinary, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import (
    AccountStatus,
    Base,
    BigId,
    Created,
    OneTimeTokenKind,
    Role,
    enum_column,
)


class Account(Base):
    """A login on the site. Login and email are unique case-insensitively."""

    __tablename__ = "account"
    __table_args__ = (
        Index("uq_account_login_lower", func.lower(text("login")), unique=True),
        Index("uq_account_email_lower", func.lower(text("email")), unique=True),
    )

    id: Mapped[BigId]
    login: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phones: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default="{}")
    password_hash: Mapped[str]
    role: Mapped[Role] = mapped_column(enum_column(Role), default=Role.CUSTOMER)
    status: Mapped[AccountStatus] = mapped_column(enum_column(AccountStatus))
    pending_email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), server_default="uk")
    created_at: Mapped[Created]
    # The primary's WAL position (bytes) after this login's last write: its queries read on a
    # replica only once it has replayed that far (replicas.py). Set only with replicas.
    read_after_lsn: Mapped[int | None] = mapped_column(BigInteger)


class AuthSession(Base):
    """One sign-in: the family of its rotated refresh tokens and their access tokens."""

    __tablename__ = "auth_session"

    id: Mapped[BigId]
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[Created]
    revoked_at: Mapped[dt.datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class AuthToken(Base):
    """Access and refresh tokens, kept only as SHA-256 of the random value."""

    __tablename__ = "auth_token"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    session_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("auth_session.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # ACCESS | REFRESH
    expires_at: Mapped[dt.datetime]
    # A refresh token is used once; using it again means it leaked.
    used_at: Mapped[dt.datetime | None]
    created_at: Mapped[Created]


class OneTimeToken(Base):
    """Password-reset and email-confirmation tokens, stored hashed, single use."""

    __tablename__ = "one_time_token"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    kind: Mapped[OneTimeTokenKind] = mapped_column(enum_column(OneTimeTokenKind))
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("account.id", ondelete="CASCADE"), index=True)
    # For an email change: the new address.
    payload: Mapped[str | None]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    created_at: Mapped[Created]


class Throttle(Base):
    """Failures per key ("login:…", "ip:…", "evidence:…") and when trying is allowed again."""

    __tablename__ = "throttle"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(server_default="0")
    blocked_until: Mapped[dt.datetime | None]
    updated_at: Mapped[Created]


class ThrottleSubject(Base):
    """What a key (a client address, an email) was counted for, and when last: the logins an
    address failed to sign in to, the emails it registered. Limits count the last hour's."""

    __tablename__ = "throttle_subject"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    subject: Mapped[str] = mapped_column(String(300), primary_key=True)
    counted_at: Mapped[dt.datetime]


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    id: Mapped[BigId]
    account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("account.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[str | None]
    created_at: Mapped[Created]
