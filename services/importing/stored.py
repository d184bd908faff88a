"""Stored versus file: a row whose key is stored must bring the same data (historical records never change)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from services.importing.report import Plan, Problems
from services.importing.rows import Row

NOT_CHANGED = "stored records are not changed by import"


def differences(*, stored: Mapping[str, Any], new: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """'name (stored X, file Y)' for each field that differs."""
    out = []
    for name in names:
        a, b = stored[name], new[name]
        if a != b:
            out.append(f"{name} (stored {show(a)}, file {show(b)})")
    return out


def show(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "|".join(str(v) for v in value)
    return str(value)


def conflict(*, what: str, diffs: Sequence[str], why: str = NOT_CHANGED) -> str:
    return f"{what} already exists with different data: {', '.join(diffs)}; {why}"


def stored_versus_file(
    *,
    rows: Sequence[Row],
    stored: Mapping[Any, Any],
    key: Callable[[Row], Any],
    compared: Sequence[str],
    what: Callable[[Row], str],
    problems: Problems,
    plan: Plan,
    why: str = NOT_CHANGED,
) -> list[Row]:
    """The rows with no stored record (new ones); a stored record with the same data counts unchanged
    in ``plan``, one with other data is a problem of its row."""
    new: list[Row] = []
    for row in rows:
        existing = stored.get(key(row))
        if existing is None:
            new.append(row)
            continue
        diffs = differences(stored=existing._mapping, new=row.v, names=compared)
        if diffs:
            problems.add(row.line, conflict(what=what(row), diffs=diffs, why=why))
        else:
            plan.unchanged += 1
    return new
