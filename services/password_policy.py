"""What a new password must be: 8..128 characters, not a common one, not the login."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from services.errors import Problems

PASSWORD_MIN = 8
PASSWORD_MAX = 128
COMMON_FILE = Path(__file__).resolve().parent / "data" / "common-passwords.txt"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The refused list, lower-cased; read once per process."""
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def password_check(
    problems: Problems,
    path: Sequence[str],
    password: str,
    *,
    login: str | None = None,
    email: str | None = None,
) -> None:
    """Add at most one problem for `password` (the first rule it breaks)."""
    if not password:
        problems.add(path, "REQUIRED")
    elif len(password) < PASSWORD_MIN:
        problems.add(path, "TOO_SHORT", min=PASSWORD_MIN)
    elif len(password) > PASSWORD_MAX:
        problems.add(path, "TOO_LONG", max=PASSWORD_MAX)
    elif password_is_guessable(password, login=login, email=email):
        problems.add(path, "PASSWORD_TOO_COMMON")


def password_is_guessable(password: str, *, login: str | None = None, email: str | None = None) -> bool:
    """On the common list, or the person's own login or email: the first things an attacker tries."""
    folded = password.strip().lower()
    own = {(login or "").strip().lower(), (email or "").strip().lower()} - {""}
    return folded in common_passwords() or folded in own
