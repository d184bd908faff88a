"""The transactional outbox writer: mail is queued in the same transaction as its cause.

A letter exists exactly when the change that caused it committed; the worker
in `mail.sender` sends it later, with retries, so SMTP being down
never fails a mutation.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mail.templates import mail_language, mail_render
from models.base import OutboxStatus
from models.outbox import OutboxMessage


def mail_values(*, kind: str, to: str, language: str, account_id: int | None, **params: object) -> dict:
    """A letter's outbox columns, rendered now: what `mail_enqueue` adds, for a statement that
    writes it itself (the meter reading submit's)."""
    language = mail_language(language)
    subject, body = mail_render(kind, language, **params)
    return {
        "account_id": account_id,
        "kind": kind,
        "language": language,
        "to_address": to.strip(),
        "subject": subject,
        "body": body,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        # The app's clock, like the sender's, so "due" compares like with like.
        "next_attempt_at": dt.datetime.now(dt.UTC),
    }


async def mail_enqueue(
    *,
    session: AsyncSession,
    kind: str,
    to: str,
    language: str,
    account_id: int | None,
    **params: object,
) -> OutboxMessage:
    """Render a letter now and add it to the caller's transaction (never commits).

    Rendering at once keeps the text independent of later changes: mail for a
    login that is merged away or renamed still goes out as it was written.
    """
    message = OutboxMessage(**mail_values(kind=kind, to=to, language=language, account_id=account_id, **params))
    session.add(message)
    return message


async def outbox_backlog(*, session: AsyncSession) -> int:
    """How many letters wait to be sent (due or backing off), for metrics."""
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
    return (await session.execute(query)).scalar_one()
