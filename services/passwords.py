"""Argon2id hashing with explicit parameters, off the event loop."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from config import Settings


@lru_cache(maxsize=4)
def _hasher(memory_kib: int, time_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_kib,
        parallelism=parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def hasher(settings: Settings) -> PasswordHasher:
    return _hasher(settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism)


@lru_cache(maxsize=4)
def _dummy_hash(memory_kib: int, time_cost: int, parallelism: int) -> str:
    return _hasher(memory_kib, time_cost, parallelism).hash("not a real password")


def dummy_hash(settings: Settings) -> str:
    """A hash to verify against for unknown logins, so they cost the same time."""
    return _dummy_hash(settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism)


async def password_hash(settings: Settings, password: str) -> str:
    return await asyncio.to_thread(hasher(settings).hash, password)


def _verify(ph: PasswordHasher, stored: str, password: str) -> tuple[bool, bool]:
    try:
        ph.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    return True, ph.check_needs_rehash(stored)


async def password_verify(settings: Settings, stored: str, password: str) -> tuple[bool, bool]:
    """(matches, needs_rehash): a match on old parameters asks to be rehashed."""
    return await asyncio.to_thread(_verify, hasher(settings), stored, password)
