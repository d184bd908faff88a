"""Cells: the columns of a kind (``req``/``opt``) and the parsers of their text.

Each parser takes the stripped cell text and returns a value or raises ValueError
with the reason, which the report shows after the column's name.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
_INT = re.compile(r"-?\d+")


def parse_date(value: str) -> dt.date:
    if not _DATE.fullmatch(value):
        raise ValueError(f"{value!r} is not a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a valid date") from None


def parse_timestamp(value: str) -> dt.datetime:
    if not _TIMESTAMP.fullmatch(value):
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp with an offset (2014-04-10T12:42:40+03:00)")
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a valid timestamp") from None


def decimal_parser(
    places: int, *, integer_digits: int, minimum: Decimal | None = None, positive: bool = False
) -> Callable[[str], Decimal]:
    """A decimal with a dot, at most ``places`` decimals; no exponent, sign only as a leading minus."""
    pattern = re.compile(
        rf"-?\d{{1,{integer_digits}}}(\.\d{{1,{places}}})?" if places else rf"-?\d{{1,{integer_digits}}}"
    )

    def parse(value: str) -> Decimal:
        if not pattern.fullmatch(value):
            if "," in value and "." not in value:
                raise ValueError(f"{value!r}: use a dot for decimals")
            raise ValueError(
                f"{value!r} is not a decimal number with at most {places} decimals (digits and a dot only, no exponent)"
            )
        try:
            number = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern already guards
            raise ValueError(f"{value!r} is not a number") from None
        if positive and number <= 0:
            raise ValueError(f"{value} must be greater than 0")
        if minimum is not None and number < minimum:
            raise ValueError(f"{value} must be at least {minimum}")
        return number

    return parse


parse_money = decimal_parser(2, integer_digits=12)
parse_positive_money = decimal_parser(2, integer_digits=12, positive=True)
parse_price = decimal_parser(4, integer_digits=8, minimum=Decimal(0))
parse_quantity = decimal_parser(3, integer_digits=11)
parse_coefficient = decimal_parser(3, integer_digits=3, minimum=Decimal(0))


def int_parser(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not _INT.fullmatch(value):
            raise ValueError(f"{value!r} is not a whole number")
        number = int(value)
        if minimum is not None and number < minimum:
            raise ValueError(f"{value} must be at least {minimum}")
        if maximum is not None and number > maximum:
            raise ValueError(f"{value} must be at most {maximum}")
        return number

    return parse


def text_parser(max_length: int, *, pattern: str | None = None, what: str | None = None) -> Callable[[str], str]:
    compiled = re.compile(pattern) if pattern else None

    def parse(value: str) -> str:
        if len(value) > max_length:
            raise ValueError(f"longer than {max_length} characters")
        if compiled is not None and not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not {what or 'in the expected form'}")
        return value

    return parse


def choice_parser(values: Iterable[str]) -> Callable[[str], str]:
    allowed = tuple(values)

    def parse(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return value

    return parse


# Keys and names used by many kinds.
parse_code = text_parser(16, pattern=r"[0-9A-Za-z_-]+", what="a code (letters, digits, - or _)")
parse_account_number = text_parser(32, pattern=r"[0-9A-Za-z/_-]+", what="a personal account number")
parse_external_id = text_parser(64, pattern=r"\S+", what="an id without spaces")
parse_bill_number = int_parser(1, 999_999_999_999_999)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    parse: Callable[[str], Any]
    required: bool = True


def req(name: str, parse: Callable[[str], Any]) -> Field:
    return Field(name, parse, True)


def opt(name: str, parse: Callable[[str], Any]) -> Field:
    return Field(name, parse, False)
