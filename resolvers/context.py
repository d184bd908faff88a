"""What every resolver gets: settings, the database, the caller, the language, loaders."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from db import Database, ReadSnapshot, pool_busy
from replicas import Replica
from services.api_clients import ApiCaller, api_client_by_key
from services.auth import Viewer, viewer_from_access_token
from services.errors import AuthError

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
    # Set by the request scope once the operation's type is known: a subscription's reads.
    fresh_reads: bool = False
    # A subscription's graphql-transport-ws connection_init payload ({"Authorization": …}).
    connection_params: dict | None = None
    snapshot: ReadSnapshot | None = None
    # Set by the walk (schema/execution.py): the query selects one root field and nothing
    # beside it, so that root field's resolver, when its whole answer is one statement, needs
    # no snapshot around it (meaningless below the root: it describes the whole operation).
    lone_field: bool = False
    loaders: dict[str, Any] = field(default_factory=dict)
    # What resolvers/read_ahead.py read of each personal account before the walk (pk -> parts).
    read_ahead: dict[int, Any] = field(default_factory=dict)
    # Errors of single fields that still answered (schema/extensions.py field_error_add).
    field_errors: list[Any] = field(default_factory=list)
    # The process's LISTEN/NOTIFY hub for live payment status.
    updates: Any = None
    _viewer: Viewer | None = None
    _viewer_error: Exception | None = None
    _viewer_known: bool = False
    _api_caller: ApiCaller | None = None
    _api_caller_error: Exception | None = None
    _api_caller_known: bool = False
    # Set when a replica failed under this request: it reads on the primary from then on.
    primary_only: bool = False
    # A snapshot of this request lost its replica (kept past the snapshot's end).
    replica_was_lost: bool = False
    _viewer_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _api_caller_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run a read on the request's snapshot (one connection, turns taken).

        A mutation's write ends the snapshot (`snapshot_end`), so what it returns
        is read from a new one that shows what it committed; a mutation's snapshots
        are on the primary (`primary_only`). A subscription, which lives long, reads
        fresh each time instead, on the primary too.
        """
        if self.fresh_reads:
            return await self.db.read(work)
        if self.snapshot is None:
            self.snapshot = self.db.read_snapshot(
                replica=None if self.db.replicas is None else self._replica_for_snapshot
            )
        return await self.snapshot.run(work)

    async def read_driver(self, work: Callable[[Any, Any], Awaitable[T]], *, alone: bool = False) -> T:
        """A read on asyncpg itself, on the request's snapshot (db.ReadSnapshot.run_driver);
        `alone`: nothing else is read from this moment, so no BEGIN/ROLLBACK is needed."""
        if self.snapshot is None:
            self.snapshot = self.db.read_snapshot(
                replica=None if self.db.replicas is None else self._replica_for_snapshot
            )
        return await self.snapshot.run_driver(work, alone=alone)

    async def snapshot_end(self) -> None:
        """End the read snapshot (if any) and give back its connection; the next read opens another."""
        snapshot, self.snapshot = self.snapshot, None
        if snapshot is not None:
            self.replica_was_lost = self.replica_was_lost or snapshot.lost  # the view asks after the end
            await snapshot.close()

    async def _replica_for_snapshot(self) -> Replica | None:
        """Where a query's snapshot may be taken: a replica that has the caller's own writes,
        or None for the primary. An aggregator reads on the primary (its reconciliation must
        see the payments it just posted); so does a request that already lost a replica."""
        replicas = self.db.replicas
        if replicas is None or self.primary_only or self.api_key is not None:
            return None
        read_after = None
        if self.bearer_token is not None:
            try:
                viewer = await self.viewer_or_none()
            except AuthError:
                return None  # the resolvers say why; nothing of anyone's is read
            if viewer is not None and viewer.account is not None:
                read_after = viewer.account.read_after_lsn
        return replicas.choose(read_after=read_after)

    def replica_lost(self) -> bool:
        """Whether this request's snapshot lost its replica midway (the answer is not whole)."""
        return self.replica_was_lost or (self.snapshot is not None and self.snapshot.lost)

    def on_primary_from_scratch(self) -> None:
        """Forget what was read, to run the operation again on the primary."""
        self.primary_only = True
        self.snapshot = None
        self.replica_was_lost = False
        self.release()

    def release(self) -> None:
        """The answer is built: drop what the request read. graphql-core's execution context
        refers to itself (and to this context), so without this the rows would wait for the
        cycle collector (passes over many young objects: pauses in the p99) instead of going
        with the request."""
        self.loaders = {}
        self.read_ahead = {}

    def payment_updates(self):
        return self.updates

    def loader(self, name: str, factory: Callable[[], T]) -> T:
        """One DataLoader per name per request."""
        if name not in self.loaders:
            self.loaders[name] = factory()
        return self.loaders[name]

    @property
    def credentials(self) -> str | None:
        """The Authorization header, or for a subscription the same value from connection_init."""
        if self.authorization:
            return self.authorization
        params = self.connection_params if isinstance(self.connection_params, dict) else {}
        value = params.get("Authorization") or params.get("authorization")
        return value if isinstance(value, str) else None

    @property
    def bearer_token(self) -> str | None:
        if not self.credentials:
            return None
        scheme, _, value = self.credentials.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None
        return value.strip()

    @property
    def api_key(self) -> str | None:
        """An aggregator's key from `Authorization: ApiKey <key>`."""
        if not self.credentials:
            return None
        scheme, _, value = self.credentials.partition(" ")
        if scheme.lower() != "apikey" or not value.strip():
            return None
        return value.strip()

    async def viewer_or_none(self) -> Viewer | None:
        """The signed-in person, None when anonymous; a bad or expired token is an error."""
        if not self._viewer_known:
            async with self._viewer_lock:  # sibling fields ask at once: one lookup
                if not self._viewer_known:
                    await self._viewer_resolve()
        if self._viewer_error is not None:
            raise self._viewer_error
        return self._viewer

    async def _viewer_resolve(self) -> None:
        token = self.bearer_token
        if token is None:
            if self.credentials and not self.credentials.lower().startswith("apikey "):
                self._viewer_error = AuthError("UNAUTHENTICATED")
        else:
            try:
                self._viewer = await self._lookup(token)
            except AuthError as e:
                self._viewer_error = e
            except Exception as e:
                if not pool_busy(e):
                    raise
                self._viewer_error = e  # every connection busy: the next field is told at once
        self._viewer_known = True

    def viewer_known(self) -> bool:
        return self._viewer_known

    def viewer_set(self, viewer: Viewer | None, error: AuthError | None) -> None:
        """The token check's outcome, decided by a statement that read more with it."""
        self._viewer, self._viewer_error, self._viewer_known = viewer, error, True

    def signed_in_account_id(self) -> int | None:
        """The signed-in person's login id when this request already knows it."""
        return self._viewer.account_id if self._viewer_known and self._viewer is not None else None

    def forget_caller(self) -> None:
        """Look the caller up again next time: a WebSocket connection lives past its token's
        revocation or expiry, and each subscribe checks afresh."""
        self._viewer, self._viewer_error, self._viewer_known = None, None, False
        self._api_caller, self._api_caller_error, self._api_caller_known = None, None, False

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

    async def api_client(self, scope: str) -> ApiCaller:
        """The calling aggregator (`Authorization: ApiKey <key>`), which must hold `scope`.

        No key, or an unknown or revoked one, is UNAUTHENTICATED; a person's
        valid token, or a key without the scope, is FORBIDDEN.
        """
        caller = await self.api_caller()
        if not caller.allows(scope):
            raise AuthError("FORBIDDEN")
        return caller

    async def api_caller(self) -> ApiCaller:
        """The calling aggregator whatever its scopes, looked up once per request: sibling
        fields wait for the one lookup (so none holds the snapshot's connection while another
        waits for a second), and a busy pool's timeout is not waited for twice."""
        if not self._api_caller_known:
            async with self._api_caller_lock:
                if not self._api_caller_known:
                    try:
                        self._api_caller = await self._api_caller_lookup()
                    except AuthError as e:
                        self._api_caller_error = e
                    except Exception as e:
                        if not pool_busy(e):
                            raise
                        self._api_caller_error = e
                    self._api_caller_known = True
        if self._api_caller_error is not None:
            raise self._api_caller_error
        assert self._api_caller is not None
        return self._api_caller

    async def _api_caller_lookup(self) -> ApiCaller:
        key = self.api_key
        if key is None:
            if self.bearer_token is not None:
                await self.viewer()  # a bad or expired token says so; a good one is not an aggregator's
                raise AuthError("FORBIDDEN")
            raise AuthError("UNAUTHENTICATED")
        # On the primary outside the query's snapshot, as a token is checked with replicas.
        caller = await self.db.read_driver(lambda c, seen: api_client_by_key(connection=c, key=key, seen=seen))
        if caller is None:
            raise AuthError("UNAUTHENTICATED")
        return caller

    async def _lookup(self, token: str) -> Viewer:
        now = utc_now()
        if self.db.replicas is not None and not self.fresh_reads:
            # With replicas the token is checked on the primary: a revoked session stops at
            # once, and the login's read_after_lsn decides which replica may serve the rest.
            return await self.db.read(lambda s: viewer_from_access_token(session=s, token=token, now=now))
        return await self.read(lambda s: viewer_from_access_token(session=s, token=token, now=now))
