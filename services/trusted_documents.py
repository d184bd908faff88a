"""Trusted documents: a frontend build's manifest of operations, loaded into the database.

Two manifest formats are read, the two the ecosystem's tools write:
Apollo's `@apollo/generate-persisted-query-manifest`
({"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id", "name", "type", "body"}]})
and GraphQL Code Generator's persisted documents ({"<sha256>": "<document>", …}).
Every id must be the SHA-256 of its body, as the persisted-query protocol names documents.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import TrustedDocument

SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ManifestDocument:
    sha256: str
    body: str
    name: str | None


class ManifestError(ValueError):
    """The file is no manifest this service reads, or an id does not name its body."""


def document_sha256(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def manifest_documents(data: object) -> list[ManifestDocument]:
    """The documents of a parsed manifest file, each id checked against its body."""
    if isinstance(data, dict) and data.get("format") == "apollo-persisted-query-manifest":
        if data.get("version") != 1 or not isinstance(data.get("operations"), list):
            raise ManifestError("an Apollo manifest of version 1 with a list of operations is expected")
        pairs = [(op.get("id"), op.get("body"), op.get("name")) for op in data["operations"] if isinstance(op, dict)]
        if len(pairs) != len(data["operations"]):
            raise ManifestError("every operation of the manifest must be an object")
    elif isinstance(data, dict):
        pairs = [(key, value, None) for key, value in data.items()]
    else:
        raise ManifestError("a JSON object is expected")
    documents = []
    for sha256, body, name in pairs:
        if not isinstance(sha256, str) or not isinstance(body, str) or not SHA256_HEX.fullmatch(sha256):
            raise ManifestError(f"{str(sha256)[:80]!r}: an id must be a lower-case hex SHA-256 with a document body")
        if document_sha256(body) != sha256:
            raise ManifestError(f"{sha256}: the id is not the SHA-256 of its body")
        documents.append(ManifestDocument(sha256, body, name if isinstance(name, str) else None))
    return documents


async def trusted_documents_load(*, session: AsyncSession, documents: list[ManifestDocument]) -> int:
    """Register the documents (again is harmless: an id names one body); how many are new."""
    new = 0
    for start in range(0, len(documents), 1000):  # within PostgreSQL's bound on parameters
        stmt = (
            insert(TrustedDocument)
            .values([{"sha256": d.sha256, "body": d.body, "name": d.name} for d in documents[start : start + 1000]])
            .on_conflict_do_nothing(index_elements=[TrustedDocument.sha256])
            .returning(TrustedDocument.sha256)
        )
        new += len((await session.execute(stmt)).all())
    return new


async def trusted_document_bodies(*, session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(select(TrustedDocument.sha256, TrustedDocument.body))
    return {sha256: body for sha256, body in rows}
