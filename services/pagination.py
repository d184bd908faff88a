"""Relay-style pages over rows already sorted newest first, with opaque stable cursors.

A cursor encodes the row's sort key, not its position, so it stays valid
while rows are added.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from services.errors import BadUserInput

T = TypeVar("T")
MAX_FIRST = 100

SortKey = tuple[dt.date | dt.datetime | int | str, ...]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    rows: list[T]
    key: Callable[[T], SortKey]  # a row's sort key, what its cursor encodes
    has_next: bool
    has_previous: bool

    def cursor(self, row: T) -> str:
        """The row's cursor, made when it is asked for: most selections of a page take none."""
        return cursor_encode(self.key(row))

    @property
    def start_cursor(self) -> str | None:
        return self.cursor(self.rows[0]) if self.rows else None

    @property
    def end_cursor(self) -> str | None:
        return self.cursor(self.rows[-1]) if self.rows else None


def cursor_encode(key: SortKey) -> str:
    text = "|".join(v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else str(v) for v in key)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> str:
    if len(cursor) > 200:
        raise BadUserInput("invalid cursor")
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise BadUserInput("invalid cursor") from e


def first_check(first: int | None) -> int:
    if first is None:
        return MAX_FIRST
    if first < 0 or first > MAX_FIRST:
        raise BadUserInput(f"`first` must be between 0 and {MAX_FIRST}")
    return first


def paginate(rows: Sequence[T], key: Callable[[T], SortKey], *, first: int | None, after: str | None) -> Page[T]:
    """rows sorted by key descending (newest first); `after` continues past its row."""
    limit = first_check(first)
    start = 0
    if after is not None:
        marker = cursor_decode(after)
        if rows:
            position = _cursor_key(marker, key(rows[0]))
            # Rows at or before the cursor's own key were on earlier pages.
            start = next((i for i, r in enumerate(rows) if tuple(key(r)) < position), len(rows))
    chosen = list(rows[start : start + limit])
    return Page(
        rows=chosen,
        key=key,
        has_next=start + limit < len(rows),
        has_previous=start > 0,
    )


def cursor_position(cursor: str, like: SortKey) -> tuple:
    """The sort key a cursor encodes, field by field in the types of `like` (for pages read
    in SQL with `WHERE key > position`)."""
    return _cursor_key(cursor_decode(cursor), like)


def _cursor_key(marker: str, like: SortKey) -> tuple:
    """The decoded cursor as a key, field by field in the types of `like`."""
    parts = marker.split("|")
    if len(parts) != len(like):
        raise BadUserInput("invalid cursor")
    parsed: list[object] = []
    for value, part in zip(like, parts, strict=True):
        try:
            if isinstance(value, dt.datetime):
                parsed.append(dt.datetime.fromisoformat(part))
            elif isinstance(value, dt.date):
                parsed.append(dt.date.fromisoformat(part))
            elif isinstance(value, int):
                parsed.append(int(part))
            else:
                parsed.append(part)
        except (ValueError, TypeError) as e:
            raise BadUserInput("invalid cursor") from e
    return tuple(parsed)
