"""Money to the kopeck: amounts are Decimal UAH, rounded half-up to 0.01 (DESIGN §3, pricing step 7)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

KOPECK = Decimal("0.01")


def kopecks(value: Decimal) -> Decimal:
    """``value`` rounded half-up to whole kopecks: 0.005 → 0.01, -0.005 → -0.01 (away from zero)."""
    return value.quantize(KOPECK, rounding=ROUND_HALF_UP)


def whole_kopecks(value: Decimal) -> bool:
    """A finite amount with nothing below the kopeck ("12.340" counts; "12.345", NaN do not)."""
    if not value.is_finite():
        return False
    try:
        return value == value.quantize(KOPECK)
    except InvalidOperation:  # more digits than the context holds: no amount of ours
        return False
