"""The sandbox bank's card form: test card numbers (Luhn), expiry, CVV2, amounts as shown."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal


def money(amount: Decimal, currency: str) -> str:
    whole, cents = f"{amount:,.2f}".split(".")
    return f"{whole.replace(',', ' ')},{cents} {'грн' if currency == 'UAH' else currency}"


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_check(form: Mapping[str, str], today: dt.date) -> tuple[dict[str, str], str | None]:
    """Field errors (by field name) and the card's mask like 424242*42. Form only: no card is real."""
    errors: dict[str, str] = {}
    number = form.get("card", "").replace(" ", "").replace("-", "")
    if not (len(number) == 16 and number.isascii() and number.isdigit()):
        errors["card"] = "Номер картки — 16 цифр."
    elif not luhn_ok(number):
        errors["card"] = "Номер картки введено з помилкою (не сходиться контрольна цифра)."
    exp = form.get("exp", "").strip()
    month, _, year = exp.partition("/")
    if not (
        len(month) == 2
        and len(year) == 2
        and exp.isascii()
        and month.isdigit()
        and year.isdigit()
        and 1 <= int(month) <= 12
    ):
        errors["exp"] = "Термін дії — у форматі ММ/РР, наприклад 12/30."
    elif (2000 + int(year), int(month)) < (today.year, today.month):
        errors["exp"] = "Термін дії картки минув."
    cvv = form.get("cvv", "")
    if not (len(cvv) == 3 and cvv.isascii() and cvv.isdigit()):
        errors["cvv"] = "CVV2 — три цифри."
    return errors, (None if "card" in errors else f"{number[:6]}*{number[-2:]}")


# ---------------------------------------------------------------- pages
