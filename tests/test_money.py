"""Money to the kopeck (money.py): half-up rounding, as DESIGN pins, and the whole-kopeck check."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from money import KOPECK, kopecks, whole_kopecks

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        ("0.005", "0.01"),  # half a kopeck goes up
        ("0.025", "0.03"),  # not to the even kopeck (banker's rounding would give 0.02)
        ("0.0049999", "0.00"),
        ("39.5082", "39.51"),  # the manual: 141 kWh × 0.2802
        ("-0.005", "-0.01"),  # half-up is away from zero: a correction rounds like a charge
        ("-12.345", "-12.35"),
        ("97.51", "97.51"),
        ("20", "20.00"),
    ],
)
def test_kopecks_round_half_up(value, rounded):
    result = kopecks(D(value))
    assert result == D(rounded) and result.as_tuple().exponent == -2


@pytest.mark.parametrize("good", ["0.01", "12.34", "12.340", "20", "-50.00", "99999999.99"])
def test_whole_kopecks(good):
    assert whole_kopecks(D(good))


@pytest.mark.parametrize("bad", ["12.345", "0.001", "NaN", "Infinity", "-Infinity", "1E+40"])
def test_not_whole_kopecks(bad):
    # 1E+40 has no room for kopecks in the context's 28 digits: refused, not an exception.
    assert not whole_kopecks(D(bad))


def test_kopeck_rounding_lives_in_money_only():
    """Every caller goes through money.py: no other module quantizes to the kopeck itself."""
    sources = [p for p in ROOT.rglob("*.py") if not {".venv", "tests", "bench", "node_modules"} & set(p.parts)]
    offenders = [
        str(p.relative_to(ROOT))
        for p in sources
        if p.name != "money.py" and ('Decimal("0.01")' in (text := p.read_text()) or "ROUND_HALF" in text)
    ]
    assert offenders == []
    assert D("0.01") == KOPECK
