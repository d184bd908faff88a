"""The sandbox bank's misbehaviour on demand: duplicate, late, reordered, forged, silent, sync."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

STALE_STATUSES = ("wait_secure", "failure", "processing")


class SwitchError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Switches:
    duplicate: int = 1  # how many times each callback is sent (true = 2)
    late: float = 0.0  # seconds to wait before sending
    reordered: str | None = None  # a stale status sent after the final one (true = "wait_secure")
    forged: bool = False  # signed with a wrong key
    silent: bool = False  # no callback at all: only the status API tells
    sync: bool = False  # send before the page answers (tests)


SWITCH_NAMES = tuple(f.name for f in fields(Switches))
TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in TRUE | FALSE:
        return value.lower() in TRUE
    raise SwitchError(f"{name}: expected true or false")


def _switch_value(name: str, value: Any) -> Any:
    if name == "duplicate":
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and 2 <= value <= 10:
            return value
        return 2 if _flag(name, value) else 1
    if name == "late":
        if isinstance(value, bool):
            return 3.0 if value else 0.0
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise SwitchError("late: expected seconds (0 to 300)") from None
        if not math.isfinite(seconds) or not 0 <= seconds <= 300:
            raise SwitchError("late: expected seconds (0 to 300)")
        return seconds
    if name == "reordered":
        if isinstance(value, str) and value in STALE_STATUSES:
            return value
        return "wait_secure" if _flag(name, value) else None
    return _flag(name, value)


def switches_parse(raw: Any) -> dict[str, Any]:
    """Checked switches from JSON or a query string: {name: normalized value}."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SwitchError("switches must be an object")
    unknown = sorted(set(raw) - set(SWITCH_NAMES))
    if unknown:
        raise SwitchError(f"unknown switches {unknown}; known: {list(SWITCH_NAMES)}")
    return {name: _switch_value(name, value) for name, value in raw.items()}
