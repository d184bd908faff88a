"""Date, DateTime and Decimal as the contract wants them, validated strictly.

Decimal: a plain string ("1870.54"), never NaN, Infinity or an exponent.
DateTime: ISO 8601 with a UTC offset, always.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

import strawberry
from strawberry.types.scalar import ScalarDefinition

# ASCII digits only: \d would also take "１０" (fullwidth) or Arabic-Indic digits.
_DECIMAL = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,8})?")


def decimal_parse(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError('Decimal must be a string like "12.34"')
    text = str(value).strip()
    if not _DECIMAL.fullmatch(text):
        raise ValueError('Decimal must be a plain number like "12.34" (no exponent, NaN or Infinity)')
    try:
        return Decimal(text)
    except InvalidOperation as e:  # pragma: no cover - the pattern admits only valid numbers
        raise ValueError("invalid Decimal") from e


def decimal_serialize(value: Decimal) -> str:
    text = str(value)  # money read from numeric columns: plain digits, and str is quicker
    return text if "E" not in text else format(value, "f")


def datetime_parse(value: object) -> dt.datetime:
    if not isinstance(value, str) or len(value) > 40 or not value.isascii():
        raise ValueError("DateTime must be an ISO 8601 string")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as e:
        raise ValueError("DateTime must be ISO 8601, e.g. 2014-04-10T12:42:40+03:00") from e
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("DateTime must carry a UTC offset")
    return parsed


def datetime_serialize(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def date_parse(value: object) -> dt.date:
    if not isinstance(value, str) or len(value) != 10 or not value.isascii():
        raise ValueError("Date must be YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as e:
        raise ValueError("Date must be a real date as YYYY-MM-DD") from e


DecimalScalar = strawberry.scalar(
    name="Decimal",
    description="A decimal number as a string: amounts with two decimals, prices with up to four.",
    serialize=decimal_serialize,
    parse_value=decimal_parse,
)
DateTimeScalar = strawberry.scalar(
    name="DateTime",
    description="An ISO 8601 date and time with a UTC offset.",
    serialize=datetime_serialize,
    parse_value=datetime_parse,
)
DateScalar = strawberry.scalar(
    name="Date",
    description="A calendar date, YYYY-MM-DD.",
    serialize=dt.date.isoformat,
    parse_value=date_parse,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {Decimal: DecimalScalar, dt.datetime: DateTimeScalar, dt.date: DateScalar}
