"""Merge: the signed-in login A takes over login B, given B's login and password.

B's links and requests move to A (except what A already has), every row that
referred to B refers to A, and B ends: its sessions are revoked and its row is
deleted, so its login and email are free. Mail already queued for B keeps its
address and still goes out. Both logins are locked in id order, so merges
that cross cannot deadlock and a second merge of the same B finds it gone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from models import Account, ActivationRequest, Base
from models.base import AccountStatus, ActivationStatus, Role
from services.audit import audit_record
from services.auth import Viewer, credentials_check, sessions_end_others
from services.errors import AuthError, OperationRefused, Problems

# Columns that die with B (cascade) or are moved one by one below; every other
# foreign key to account.id is re-pointed to A, including ones added later.
_NOT_REPOINTED = {
    ("activation_request", "account_id"),
    ("auth_session", "account_id"),
    ("one_time_token", "account_id"),
}


@dataclass(frozen=True, slots=True)
class MergeOutcome:
    account: Account
    moved_personal_account_ids: list[int]
    moved_requests: list[ActivationRequest]


async def account_merge(
    *,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
    login: str,
    password: str,
    client_address: str | None,
    now: dt.datetime,
) -> MergeOutcome:
    problems = Problems()
    if not login.strip():
        problems.add(("login",), "REQUIRED")
    if not password:
        problems.add(("password",), "REQUIRED")
    problems.raise_if_any()

    own_login = (
        await session.execute(select(Account.login).where(Account.id == viewer.account_id))
    ).scalar_one_or_none()
    if own_login is None:
        raise AuthError("UNAUTHENTICATED")  # merged away by a concurrent merge
    if login.strip().lower() == own_login.lower():
        raise OperationRefused("MERGE_WITH_SELF")
    other_id = (
        await session.execute(select(Account.id).where(func.lower(Account.login) == login.strip().lower()))
    ).scalar_one_or_none()
    locked = {
        row.id: row
        for row in (
            await session.execute(
                select(Account)
                .where(Account.id.in_([i for i in (viewer.account_id, other_id) if i is not None]))
                .order_by(Account.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalars()
    }
    account = locked.get(viewer.account_id)
    if account is None:
        # A crossing merge took this login over while we waited: its session has ended.
        raise AuthError("UNAUTHENTICATED")
    # A wrong password is a failed sign-in of B; B gone meanwhile reads the same.
    other = await credentials_check(
        session=session,
        settings=settings,
        login=login,
        password=password,
        client_address=client_address,
        now=now,
    )
    if other.id == account.id:
        raise OperationRefused("MERGE_WITH_SELF")
    if Role.ADMIN in (account.role, other.role) or other.status == AccountStatus.BLOCKED:
        raise OperationRefused("MERGE_NOT_ALLOWED")

    moved_ids, moved_requests = await _requests_move(session=session, into=account.id, source=other.id)
    await _references_repoint(session=session, into=account.id, source=other.id)
    await sessions_end_others(session=session, account_id=other.id, keep_session_id=None, reason="MERGED", now=now)
    audit_record(
        session=session,
        account_id=account.id,
        action="account_merged",
        merged_account_id=other.id,
        merged_login=other.login,
        merged_email=other.email,
        moved_requests=[r.id for r in moved_requests],
        moved_personal_accounts=moved_ids,
    )
    await session.flush()
    # The requests not moved repeat A's own; they go, then B with its sessions and tokens.
    await session.execute(delete(ActivationRequest).where(ActivationRequest.account_id == other.id))
    await session.execute(delete(Account).where(Account.id == other.id))
    session.expunge(other)
    return MergeOutcome(account=account, moved_personal_account_ids=moved_ids, moved_requests=moved_requests)


async def _requests_move(*, session: AsyncSession, into: int, source: int) -> tuple[list[int], list[ActivationRequest]]:
    """Move B's requests to A, skipping links A has and pending requests A already made."""
    mine = (
        await session.execute(
            select(ActivationRequest.personal_account_id, ActivationRequest.status).where(
                ActivationRequest.account_id == into,
                ActivationRequest.status.in_([ActivationStatus.APPROVED, ActivationStatus.PENDING]),
            )
        )
    ).all()
    linked = {r.personal_account_id for r in mine if r.status == ActivationStatus.APPROVED}
    pending = {r.personal_account_id for r in mine if r.status == ActivationStatus.PENDING}
    theirs = (
        (
            await session.execute(
                select(ActivationRequest)
                .where(ActivationRequest.account_id == source)
                .order_by(ActivationRequest.created_at, ActivationRequest.id)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    # Links first, so a pending request of B for what B also holds is seen as a duplicate.
    ordered = sorted(theirs, key=lambda r: r.status != ActivationStatus.APPROVED)
    moved_ids: list[int] = []
    moved: list[ActivationRequest] = []
    for request in ordered:
        target = request.personal_account_id
        if request.status == ActivationStatus.APPROVED and target is not None:  # a link names its account
            if target in linked:
                continue
            linked.add(target)
            moved_ids.append(target)
        elif request.status == ActivationStatus.PENDING:
            if target in linked or target in pending:
                continue
            pending.add(target)
        request.account_id = into
        # No longer a registration: rejecting it must not remove A.
        request.at_registration = False
        moved.append(request)
    await session.flush()
    moved.sort(key=lambda r: (r.created_at, r.id))
    return moved_ids, moved


async def _references_repoint(*, session: AsyncSession, into: int, source: int) -> None:
    """Every other row that named B names A: payments it made, decisions, audit, queued mail."""
    # The same client key may exist under both logins: B's copy is renamed, not lost.
    await session.execute(
        text(
            "UPDATE internet_payment AS b SET idempotency_key = "
            "left('merged-' || b.account_id || ':' || b.idempotency_key, 128) "
            "WHERE b.account_id = :source AND EXISTS (SELECT 1 FROM internet_payment AS a "
            "WHERE a.account_id = :into AND a.idempotency_key = b.idempotency_key)"
        ),
        {"source": source, "into": into},
    )
    account_table = Account.__table__
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if (table.name, column.name) in _NOT_REPOINTED:
                continue
            if any(fk.column.table is account_table for fk in column.foreign_keys):
                await session.execute(update(table).where(column == source).values({column.name: into}))
