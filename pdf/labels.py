"""Ukrainian words and number formats of the documents."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from kyiv import kyiv_time as in_kyiv
from money import whole_kopecks

# The debts block, in the manual's order (Рисунок 5).
DEBT_LABELS = {
    "ELECTRICITY": "по електроенергії",
    "ELECTRICITY_SCHEDULE": "по ГПЗ електроенергії",
    "ACTS": "по актах",
    "ACTS_SCHEDULE": "по ГПЗ (акти)",
    "SERVICES": "за послуги",
}
CATEGORY_NAMES = {
    "ELECTRICITY": "електроенергія",
    "ELECTRICITY_SCHEDULE": "ГПЗ (електроенергія)",
    "ACTS": "акти",
    "ACTS_SCHEDULE": "ГПЗ (акти)",
    "SERVICES": "послуги",
}
# "Оплата за …" in a payment purpose.
PURPOSE_SUBJECTS = {
    "ELECTRICITY": "електроенергію",
    "ELECTRICITY_SCHEDULE": "електроенергію за графіком погашення заборгованості",
    "ACTS": "актом про порушення",
    "ACTS_SCHEDULE": "актом про порушення за графіком погашення заборгованості",
    "SERVICES": "послуги",
}
KIND_TITLES = {
    "CONSUMPTION": "за спожиту електроенергію",
    "CORRECTION": "коригування",
    "ACT": "за актом про порушення",
    "SERVICE": "за послуги",
    "INSTALLMENT": "внесок за графіком погашення заборгованості",
}
ZONE_NAMES = {"TOTAL": "загальна", "DAY": "день", "NIGHT": "ніч", "PEAK": "пік", "SEMI_PEAK": "напівпік"}
PAYMENT_STATUSES = {
    "CREATED": "створено",
    "PENDING": "очікує підтвердження банку",
    "PROCESSED": "оброблено",
    "FAILED": "не вдалося",
    "REVERSED": "повернено",
    "EXPIRED": "строк минув",
}


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def day(value: dt.date | None) -> str:
    return f"{value:%d.%m.%Y}" if value is not None else "—"


def kyiv_time(value: dt.datetime | None) -> str:
    return f"{in_kyiv(value):%d.%m.%Y %H:%M:%S}" if value is not None else "—"


def quantity(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}".rstrip("0")


def price(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.4f}"


def unit_price(value: Decimal | None) -> str:
    """A price per piece or service: kopecks, and more digits only where it has them (0.2802)."""
    if value is None:
        return ""
    return f"{value:.2f}" if whole_kopecks(value) else f"{value.normalize():f}"


def is_kwh(unit: str | None) -> bool:
    return unit is None or unit.startswith("кВт")


def coefficient(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = f"{value:f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def period(kind: str, start: dt.date | None, end: dt.date | None) -> str:
    """As in the manual's bill list: «з 11.04.2014 по 27.04.2014», or «коригування»."""
    if kind == "CORRECTION":
        return "коригування"
    if start is not None and end is not None:
        return f"з {day(start)} по {day(end)}"
    return "—"


def purpose(category: str, personal_account_number: str, bill_number: int | None = None) -> str:
    text = f"Оплата за {PURPOSE_SUBJECTS.get(category, category)}, о/р {personal_account_number}"
    return f"{text}, рахунок № {bill_number}" if bill_number is not None else text
