"""The outbox sender: takes a due letter from the outbox and hands it to SMTP (the rounds
and the loop are workers/outbox.py's).

Each letter is claimed in its own short transaction: lock the row
(`FOR UPDATE SKIP LOCKED`, so concurrent workers never take the same letter),
send it, record the outcome, commit. A slow SMTP server then holds one row
lock per worker, not a batch, and a crash loses at most the outcome of the
letter in hand.

Delivery is at least once. A letter is marked SENT only after the SMTP
server accepted it, so none is ever lost; if the process dies (or the
database fails) between that acceptance and the commit, the row stays
PENDING and is sent again later. Its Message-ID is stable per row, so the
duplicate is recognisable.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import logging
import os
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from mail.outbox import outbox_backlog
from models.base import OutboxStatus
from models.outbox import OutboxMessage

__all__ = [
    "FolderTransport",
    "Mail",
    "SmtpTransport",
    "Transport",
    "letter_deliver",
    "mail_message",
    "outbox_backlog",
    "transport_for",
]

log = logging.getLogger(f"cabinet.{__name__}")

# The longest wait between two attempts, however many failed.
MAX_RETRY_DELAY = dt.timedelta(hours=6)


@dataclass(frozen=True)
class Mail:
    """One letter as the transports see it, detached from the session."""

    id: int
    to: str
    subject: str
    body: str
    created_at: dt.datetime


def mail_message(mail: Mail, *, mail_from: str) -> EmailMessage:
    """The RFC 5322 message of a letter, with the same headers on every attempt."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    # When the letter was written, so a resend is dated like the original.
    message["Date"] = email.utils.format_datetime(mail.created_at)
    message["Message-ID"] = _message_id(mail, mail_from)
    message.set_content(mail.body, charset="utf-8")
    return message


def _message_id(mail: Mail, mail_from: str) -> str:
    # The row id alone would repeat after a database is recreated; its birth second does not.
    domain = email.utils.parseaddr(mail_from)[1].rpartition("@")[2] or "uens"
    return f"<outbox-{mail.id}.{int(mail.created_at.timestamp())}@{domain}>"


class Transport(Protocol):
    async def send(self, mail: Mail) -> None: ...

    async def close(self) -> None: ...


class SmtpTransport:
    """SMTP through aiosmtplib; one connection serves a round and is closed after it."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: aiosmtplib.SMTP | None = None
        # One SMTP conversation at a time, should rounds share the transport.
        self._lock = asyncio.Lock()

    async def send(self, mail: Mail) -> None:
        message = mail_message(mail, mail_from=self._settings.mail_from)
        async with self._lock:
            try:
                client = await self._connected()
                await client.send_message(message)
            except BaseException:
                # The conversation is in an unknown state: start the next letter afresh.
                self._drop()
                raise

    async def close(self) -> None:
        async with self._lock:
            if self._client is not None and self._client.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await self._client.quit()
            self._drop()

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        s = self._settings
        # No AUTH without a user name: a local relay usually takes mail without it.
        login = bool(s.smtp_username)
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username if login else None,
            password=s.smtp_password.get_secret_value() if login else None,
            timeout=s.smtp_timeout,
            # Explicit either way: opportunistic TLS would fail on a relay's self-signed cert.
            start_tls=s.smtp_starttls,
        )
        await client.connect()
        self._client = client
        return client

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __repr__(self) -> str:
        return f"SmtpTransport({self._settings.smtp_host}:{self._settings.smtp_port})"


class FolderTransport:
    """Letters as <id>.eml files in a folder, for the demo and development."""

    def __init__(self, folder: Path, *, mail_from: str | None = None) -> None:
        self.folder = Path(folder)
        self._mail_from = mail_from or Settings.model_fields["mail_from"].default

    async def send(self, mail: Mail) -> None:
        data = mail_message(mail, mail_from=self._mail_from).as_bytes()
        await asyncio.to_thread(self._write, f"{mail.id}.eml", data)

    async def close(self) -> None:
        return None

    def _write(self, name: str, data: bytes) -> None:
        # Written aside and renamed, so a reader never sees half a letter; a resend overwrites.
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{name}.part"
        partial.write_bytes(data)
        os.replace(partial, self.folder / name)

    def __repr__(self) -> str:
        return f"FolderTransport({self.folder})"


def transport_for(settings: Settings) -> Transport:
    """SMTP when a host is configured, otherwise files in settings.mail_dir."""
    if settings.smtp_host:
        return SmtpTransport(settings)
    return FolderTransport(settings.mail_dir, mail_from=settings.mail_from)


async def letter_deliver(
    *,
    session: AsyncSession,
    settings: Settings,
    transport: Transport,
    now: dt.datetime | None,
    tried: list[int],
) -> tuple[int, bool] | None:
    """Claim, send and settle one due letter in the caller's transaction (it commits); None
    when none is left for this round. The caller's commit is what makes a sent letter SENT."""
    row = (await session.execute(_claim_query(_now(now), tried))).scalar_one_or_none()
    if row is None:
        return None
    row.attempts += 1
    try:
        await transport.send(_mail(row))
    except Exception as error:  # any failure of this letter is its own, never the round's
        _record_failure(row, error=error, settings=settings, moment=_now(now))
        return row.id, False
    # If the commit never happens, the letter is sent again: see the module doc.
    row.status = OutboxStatus.SENT
    row.sent_at = _now(now)
    return row.id, True


def _claim_query(moment: dt.datetime, tried: list[int]):
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= moment)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        # Rows another worker holds are passed over, not waited for.
        .with_for_update(skip_locked=True)
    )
    if tried:
        query = query.where(OutboxMessage.id.not_in(tried))
    return query


def _record_failure(row: OutboxMessage, *, error: Exception, settings: Settings, moment: dt.datetime) -> None:
    row.last_error = f"{type(error).__name__}: {error}"[:2000]
    row.next_attempt_at = moment + retry_delay(attempts=row.attempts, settings=settings)
    if row.attempts >= settings.mail_max_attempts:
        row.status = OutboxStatus.DEAD
        log.error("outbox letter %s dead after %s attempts: %s", row.id, row.attempts, row.last_error)
    else:
        log.warning("outbox letter %s failed (attempt %s): %s", row.id, row.attempts, row.last_error)


def retry_delay(*, attempts: int, settings: Settings) -> dt.timedelta:
    """base × 2^(attempts-1), at most MAX_RETRY_DELAY."""
    exponent = min(max(attempts - 1, 0), 30)  # 2^30 × any sane base is past the cap already
    return min(settings.mail_retry_base * (2**exponent), MAX_RETRY_DELAY)


def _mail(row: OutboxMessage) -> Mail:
    return Mail(id=row.id, to=row.to_address, subject=row.subject, body=row.body, created_at=row.created_at)


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else dt.datetime.now(dt.UTC)
