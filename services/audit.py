"""The audit trail: who did what to logins, kept after the things themselves are gone."""

from __future__ import annotations

import json

from sqlalchemy.ext.asyncio import AsyncSession

from models import AuditEntry


def audit_record(*, session: AsyncSession, account_id: int | None, action: str, **details: object) -> AuditEntry:
    """Add an entry to the caller's transaction; details as JSON, for people to read later."""
    entry = AuditEntry(
        account_id=account_id,
        action=action,
        details=json.dumps(details, ensure_ascii=False, default=str, sort_keys=True) if details else None,
    )
    session.add(entry)
    return entry
