"""Field rules of a login's data: login, email, name, phones, personal account and evidence.

Each checker adds its problems to a shared `Problems` (so a form gets every
error at once) and returns the normalised value, or None when it is unusable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from email_validator import EmailNotValidError, validate_email

from money import kopecks
from services.errors import Problems

LOGIN_MIN, LOGIN_MAX = 3, 64
# ASCII only: PostgreSQL's lower() (the uniqueness rule) folds it the same everywhere,
# and no "@", so a login can never be mistaken for an email.
_LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
EMAIL_MAX = 254
FULL_NAME_MIN, FULL_NAME_MAX = 2, 200
_FULL_NAME = re.compile(r"[^\W\d_]+([ .'’ʼ-]+[^\W\d_]+)*\.?")
PHONES_MAX = 5
# Separators people type in phone numbers.
_PHONE_NOISE = re.compile(r"[\s()\-.]")
_PHONE = re.compile(r"\+?\d{5,15}")
# As the import accepts them (services/importing/cells.py).
_RES_CODE = re.compile(r"[0-9A-Za-z_-]{1,16}")
_ACCOUNT_NUMBER = re.compile(r"[0-9A-Za-z/_-]{1,32}")
METER_SERIAL_MAX = 64
# A payment amount: positive, at most two decimals, below a million.
EVIDENCE_AMOUNT_MAX = Decimal("999999.99")


def login_check(problems: Problems, path: Sequence[str], value: str) -> str | None:
    login = value.strip()
    if not login:
        problems.add(path, "REQUIRED")
    elif len(login) < LOGIN_MIN:
        problems.add(path, "TOO_SHORT", min=LOGIN_MIN)
    elif len(login) > LOGIN_MAX:
        problems.add(path, "TOO_LONG", max=LOGIN_MAX)
    elif not _LOGIN.fullmatch(login):
        problems.add(path, "INVALID_FORMAT")
    else:
        return login
    return None


def email_check(problems: Problems, path: Sequence[str], value: str) -> str | None:
    email = value.strip()
    if not email:
        problems.add(path, "REQUIRED")
    elif len(email) > EMAIL_MAX:
        problems.add(path, "TOO_LONG", max=EMAIL_MAX)
    elif not _email_valid(email):
        problems.add(path, "INVALID_FORMAT")
    else:
        return email
    return None


def _email_valid(email: str) -> bool:
    """One plain address (email-validator): no display name, no list, no control characters,
    a real domain (IDN allowed, reserved names such as .test refused); DNS is not asked."""
    try:
        validate_email(email, check_deliverability=False, allow_smtputf8=False, allow_display_name=False)
    except EmailNotValidError:
        return False
    return True


def full_name_check(problems: Problems, path: Sequence[str], value: str) -> str | None:
    name = " ".join(value.split())
    if not name:
        problems.add(path, "REQUIRED")
    elif len(name) < FULL_NAME_MIN:
        problems.add(path, "TOO_SHORT", min=FULL_NAME_MIN)
    elif len(name) > FULL_NAME_MAX:
        problems.add(path, "TOO_LONG", max=FULL_NAME_MAX)
    elif not _FULL_NAME.fullmatch(name):
        problems.add(path, "INVALID_FORMAT")
    else:
        return name
    return None


def phone_normalise(value: str) -> str | None:
    """+380XXXXXXXXX for Ukrainian numbers however typed; other numbers as digits; None if not a number."""
    digits = _PHONE_NOISE.sub("", value)
    if not _PHONE.fullmatch(digits):
        return None
    bare = digits.lstrip("+")
    if digits.startswith("+0"):
        return None
    if bare.startswith("380"):
        return "+" + bare if len(bare) == 12 else None
    if bare.startswith("0") and len(bare) == 10 and not digits.startswith("+"):
        return "+38" + bare
    return digits


def phones_check(problems: Problems, path: Sequence[str], values: Sequence[str]) -> list[str] | None:
    """At least one, at most PHONES_MAX; duplicates (after normalising) kept once."""
    given = [v for v in values if v.strip()]
    if not given:
        problems.add(path, "REQUIRED")
        return None
    if len(given) > PHONES_MAX:
        problems.add(path, "TOO_LONG", max=PHONES_MAX)
        return None
    phones: list[str] = []
    ok = True
    for index, value in enumerate(values):
        if not value.strip():
            continue
        phone = phone_normalise(value)
        if phone is None:
            problems.add([*path, str(index)], "INVALID_FORMAT")
            ok = False
        elif phone not in phones:
            phones.append(phone)
    return phones if ok else None


def res_code_check(problems: Problems, path: Sequence[str], value: str) -> str | None:
    code = value.strip()
    if not code:
        problems.add(path, "REQUIRED")
    elif not _RES_CODE.fullmatch(code):
        problems.add(path, "INVALID_FORMAT")
    else:
        return code
    return None


def account_number_check(problems: Problems, path: Sequence[str], value: str) -> str | None:
    number = value.strip()
    if not number:
        problems.add(path, "REQUIRED")
    elif len(number) > 32:
        problems.add(path, "TOO_LONG", max=32)
    elif not _ACCOUNT_NUMBER.fullmatch(number):
        problems.add(path, "INVALID_FORMAT")
    else:
        return number
    return None


def evidence_amount_check(problems: Problems, path: Sequence[str], value: Decimal | None) -> Decimal | None:
    """Optional; a positive amount written with at most two decimals ("12.340" is refused)."""
    if value is None:
        return None
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -2 or value <= 0 or value > EVIDENCE_AMOUNT_MAX:
        problems.add(path, "INVALID_FORMAT")
        return None
    return kopecks(value)


def meter_serial_check(problems: Problems, path: Sequence[str], value: str | None) -> str | None:
    """Optional; blank counts as not given."""
    if value is None or not value.strip():
        return None
    serial = value.strip()
    if len(serial) > METER_SERIAL_MAX:
        problems.add(path, "TOO_LONG", max=METER_SERIAL_MAX)
        return None
    return serial
