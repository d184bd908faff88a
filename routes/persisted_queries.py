"""Persisted queries on every transport: Apollo's automatic persisted queries, and trusted
documents only when the deployment says so.

A request naming `extensions.persistedQuery` {version: 1, sha256Hash} runs the document of
that hash: registered from the manifest (services/trusted_documents.py) or, unless only
trusted documents run, by an earlier request of this process that sent the text with its
hash (the protocol: `PersistedQueryNotFound`, then the client sends both). A registered text
is the same string every time, so the parser and validation caches serve it after the first.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from config import Settings
from db import Database
from routes.request_guard import Refusal
from services.trusted_documents import SHA256_HEX, document_sha256, trusted_document_bodies

APQ_CACHE_SIZE = 10_000  # automatic registrations kept per process (least recently used go)
TRUSTED_RELOAD_SECONDS = 5.0  # an unknown hash reloads the trusted set at most this often


class PersistedQueries:
    """One process's registry: the trusted documents (from the database) and the automatic ones."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.automatic: OrderedDict[str, str] = OrderedDict()
        self.trusted: dict[str, str] = {}
        self.trusted_loaded_at: float | None = None

    async def document(self, *, query: object, extensions: object) -> str | Refusal | None:
        """The document text to run (None when the request names none), or why not."""
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        if persisted is None:
            if (
                self.settings.trusted_documents_only
                and isinstance(query, str)
                and await self._trusted(document_sha256(query)) is None
            ):
                return _not_trusted()
            return query if isinstance(query, str) else None
        sha256 = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if not isinstance(persisted, dict) or persisted.get("version") != 1 or not isinstance(sha256, str):
            return Refusal("persistedQuery needs version 1 and a sha256Hash.")
        sha256 = sha256.lower()
        if not SHA256_HEX.fullmatch(sha256):
            return Refusal("persistedQuery.sha256Hash must be a hex SHA-256.")
        if query is None:
            body = await self._trusted(sha256)
            if body is None and not self.settings.trusted_documents_only:
                body = self.automatic.get(sha256)
                if body is not None:
                    self.automatic.move_to_end(sha256)
            # Apollo's link sends the text with the hash when it reads this message.
            return (
                body
                if body is not None
                else Refusal("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND", malformed=False)
            )
        if not isinstance(query, str) or document_sha256(query) != sha256:
            return Refusal("provided sha does not match query")
        if self.settings.trusted_documents_only:
            return query if await self._trusted(sha256) is not None else _not_trusted()
        self.automatic[sha256] = query
        self.automatic.move_to_end(sha256)
        while len(self.automatic) > APQ_CACHE_SIZE:
            self.automatic.popitem(last=False)
        return query

    async def _trusted(self, sha256: str) -> str | None:
        body = self.trusted.get(sha256)
        stale = self.trusted_loaded_at is None or time.monotonic() - self.trusted_loaded_at > TRUSTED_RELOAD_SECONDS
        if body is None and stale:
            # A manifest loaded since (by `cabinet trusted-documents load`) shows up here.
            async with self.db.sessions() as session:
                self.trusted = await trusted_document_bodies(session=session)
            self.trusted_loaded_at = time.monotonic()
            body = self.trusted.get(sha256)
        return body


def _not_trusted() -> Refusal:
    return Refusal(
        "Only trusted documents run here: register the operation in the frontend's manifest.",
        "PERSISTED_QUERY_NOT_ALLOWED",
        malformed=False,
    )
