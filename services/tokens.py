"""Opaque random tokens: 256 bits for the holder, SHA-256 for the database."""

from __future__ import annotations

import hashlib
import secrets


def token_new() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
