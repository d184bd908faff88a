"""Aggregators' API keys: made and revoked by the CLI, checked on every aggregator request.

A key is a random 256-bit value shown once when it is made; the database
keeps only its SHA-256. A key carries scopes: `debt:read` (debtLookup) and
`payments:write` (aggregatorPaymentPost and the client's own registry).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db import Seen
from models import ApiClient
from services.errors import NotFound, OperationRefused, Problems
from services.tokens import token_digest, token_new

SCOPE_DEBT_READ = "debt:read"
SCOPE_PAYMENTS_WRITE = "payments:write"
SCOPES = (SCOPE_DEBT_READ, SCOPE_PAYMENTS_WRITE)
NAME_MAX = 100
# token_new gives 43 characters; anything much longer is not a key of ours.
KEY_MAX = 200


@dataclass(frozen=True, slots=True)
class ApiCaller:
    """The aggregator behind a request."""

    id: int
    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True, slots=True)
class ApiClientInfo:
    id: int
    name: str
    scopes: tuple[str, ...]
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def scopes_parse(text: str) -> list[str]:
    """`debt:read,payments:write` as a list in SCOPES order; an unknown or missing scope is refused."""
    given = [s.strip() for s in (text or "").split(",") if s.strip()]
    problems = Problems()
    if not given:
        problems.add(("scopes",), "REQUIRED")
    elif any(s not in SCOPES for s in given):
        problems.add(("scopes",), "INVALID_FORMAT")
    problems.raise_if_any()
    return [s for s in SCOPES if s in given]


def _name_check(name: str, problems: Problems) -> str:
    name = (name or "").strip()
    if not name:
        problems.add(("name",), "REQUIRED")
    elif len(name) > NAME_MAX:
        problems.add(("name",), "TOO_LONG", max=NAME_MAX)
    elif not name.isprintable():
        problems.add(("name",), "INVALID_FORMAT")
    return name


async def api_client_create(*, session: AsyncSession, name: str, scopes: Sequence[str]) -> tuple[ApiClientInfo, str]:
    """A new client and its key. The key is returned once and never stored."""
    problems = Problems()
    name = _name_check(name, problems)
    if not scopes:
        problems.add(("scopes",), "REQUIRED")
    elif any(s not in SCOPES for s in scopes):
        problems.add(("scopes",), "INVALID_FORMAT")
    problems.raise_if_any()
    key = token_new()
    row = (
        await session.execute(
            pg_insert(ApiClient)
            .values(name=name, key_hash=token_digest(key), scopes=[s for s in SCOPES if s in scopes])
            .on_conflict_do_nothing(index_elements=[ApiClient.name])
            .returning(ApiClient.id, ApiClient.name, ApiClient.scopes, ApiClient.created_at, ApiClient.revoked_at)
        )
    ).first()
    if row is None:
        # A CLI-only code: the name is how admins tell clients apart and revoke them.
        raise OperationRefused("API_CLIENT_NAME_TAKEN")
    return _info(row), key


_BY_KEY_SQL = "SELECT id, name, scopes FROM api_client WHERE key_hash = $1 AND revoked_at IS NULL"


async def api_client_by_key(*, connection: Any, key: str, seen: Seen = None) -> ApiCaller | None:
    """The active client holding this key; None for an unknown or revoked key. On asyncpg
    itself (`connection`): every aggregator request asks it first, and the ORM's statement
    building was a quarter of a debtLookup's CPU."""
    if not key or len(key) > KEY_MAX:
        return None
    params = (token_digest(key),)
    if seen is not None:
        seen(_BY_KEY_SQL, params)
    row = await connection.fetchrow(_BY_KEY_SQL, *params)
    if row is None:
        return None
    return ApiCaller(id=row["id"], name=row["name"], scopes=frozenset(row["scopes"]))


async def api_clients_list(*, session: AsyncSession) -> list[ApiClientInfo]:
    rows = (
        await session.execute(
            select(ApiClient.id, ApiClient.name, ApiClient.scopes, ApiClient.created_at, ApiClient.revoked_at).order_by(
                ApiClient.name
            )
        )
    ).all()
    return [_info(r) for r in rows]


async def api_client_revoke(*, session: AsyncSession, name: str, now: dt.datetime) -> ApiClientInfo:
    """Its key stops working at once. Revoking again changes nothing; the name stays taken,
    so the client's past payments keep one name in the registry."""
    name = (name or "").strip()
    row = (
        await session.execute(
            update(ApiClient)
            .where(ApiClient.name == name)
            .values(revoked_at=func.coalesce(ApiClient.revoked_at, now))
            .returning(ApiClient.id, ApiClient.name, ApiClient.scopes, ApiClient.created_at, ApiClient.revoked_at)
        )
    ).first()
    if row is None:
        raise NotFound(("name",))
    return _info(row)


def _info(row) -> ApiClientInfo:
    return ApiClientInfo(
        id=row.id,
        name=row.name,
        scopes=tuple(row.scopes),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
