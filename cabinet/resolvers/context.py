"""What every resolver gets: settings, the database, the caller, the language, loaders."""
from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from cabinet.config import Settings
from cabinet.db import Database, ReadSnapshot
from cabinet.services.auth import Viewer, viewer_from_access_token
from cabinet.services.errors import AuthError

T = TypeVar("T")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class RequestContext:
    settings: Settings
    db: Database
    request_id: str
    language: str
    client_address: str | None
    authorization: str | None
    request: Any = None
    response: Any = None
    # Set by the request scope once the operation's type is known.
    is_mutation: bool = False
    snapshot: ReadSnapshot | None = None
    loaders: dict[str, Any] = field(default_factory=dict)
    _viewer: Viewer | None = None
    _viewer_error: AuthError | None = None
    _viewer_known: bool = False

    async def read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run a read on the request's snapshot (one connection, turns taken).

        In a mutation request each read is its own short transaction instead,
        so what a mutation returns shows what it committed.
        """
        if self.is_mutation:
            async with self.db.sessions() as session:
                return await work(session)
        if self.snapshot is None:
            self.snapshot = self.db.read_snapshot()
        return await self.snapshot.run(work)

    def loader(self, name: str, factory: Callable[[], T]) -> T:
        """One DataLoader per name per request."""
        if name not in self.loaders:
            self.loaders[name] = factory()
        return self.loaders[name]

    @property
    def bearer_token(self) -> str | None:
        if not self.authorization:
            return None
        scheme, _, value = self.authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None
        return value.strip()

    async def viewer_or_none(self) -> Viewer | None:
        """The signed-in person, None when anonymous; a bad or expired token is an error."""
        if not self._viewer_known:
            token = self.bearer_token
            if token is None:
                if self.authorization and not self.authorization.lower().startswith("apikey "):
                    self._viewer_error = AuthError("UNAUTHENTICATED")
            else:
                try:
                    self._viewer = await self._lookup(token)
                except AuthError as e:
                    self._viewer_error = e
            self._viewer_known = True
        if self._viewer_error is not None:
            raise self._viewer_error
        return self._viewer

    async def viewer(self) -> Viewer:
        viewer = await self.viewer_or_none()
        if viewer is None:
            raise AuthError("UNAUTHENTICATED")
        return viewer

    async def admin(self) -> Viewer:
        viewer = await self.viewer()
        if not viewer.is_admin:
            raise AuthError("FORBIDDEN")
        return viewer

    async def _lookup(self, token: str) -> Viewer:
        now = utc_now()
        return await self.read(lambda s: viewer_from_access_token(session=s, token=token, now=now))
