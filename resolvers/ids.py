"""Opaque global IDs ("Type:pk" in URL-safe base64), decoded by the project.

A malformed ID decodes to None, so it behaves exactly like a missing one.
"""

from __future__ import annotations

import base64
import binascii


def global_id(type_name: str, pk: int) -> str:
    raw = f"{type_name}:{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def global_id_decode(value: str, type_name: str | None = None) -> tuple[str, int] | None:
    if not isinstance(value, str) or len(value) > 100:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    name, sep, pk = raw.partition(":")
    if not sep or not pk.isdigit() or len(pk) > 18 or (type_name is not None and name != type_name):
        return None
    return name, int(pk)


def pk_of(value: str, type_name: str) -> int | None:
    decoded = global_id_decode(value, type_name)
    return decoded[1] if decoded else None
