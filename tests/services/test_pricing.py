"""Tests of services.pricing: golden bills, rules and properties."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pricing import (
    DEMO_TARIFF_HISTORY,
    ZONE_COEFFICIENTS,
    ZONE_LAYOUTS,
    NoTariffError,
    PricingResult,
    TariffBlock,
    TariffMode,
    TariffVersion,
    consumption_by_month,
    price_consumption,
    sainte_lague,
    zone_coefficients,
    zone_consumption_with_rollover,
)

D = Decimal
date = dt.date
# No example database: keep the run from writing a .hypothesis directory.
prop = settings(deadline=None, database=None, max_examples=150)


def price(prev: date, cur: date, zones: dict[str, int], tariffs=DEMO_TARIFF_HISTORY) -> PricingResult:
    return price_consumption(previous_date=prev, current_date=cur, zone_consumption=zones, tariffs=tariffs)


def summary(result: PricingResult) -> list[tuple[object, int, str, int, Decimal]]:
    """(tariff id, block, zone, kWh, rounded amount) per line."""
    return [(l.tariff_id, l.block, l.zone, l.kwh, l.amount) for l in result.lines]


# --------------------------------------------------------------------------
# Golden examples


def test_demo_history_shape():
    assert [v.id for v in DEMO_TARIFF_HISTORY] == list(range(1, 11))
    assert DEMO_TARIFF_HISTORY[0].valid_from == date(2012, 7, 1)
    assert DEMO_TARIFF_HISTORY[7].mode == "WHOLE_VOLUME"
    assert DEMO_TARIFF_HISTORY[9].blocks == (TariffBlock(None, D("4.32")),)


def test_golden_manual_reading_one_zone():
    # 28.04-26.05: 3 April days, 26 May days -> 31/269 kWh; bounds 15 and 126.
    r = price(date(2014, 4, 27), date(2014, 5, 26), {"TOTAL": 300})
    assert (r.period_start, r.period_end) == (date(2014, 4, 28), date(2014, 5, 26))
    assert summary(r) == [
        (1, 1, "TOTAL", 141, D("39.51")),
        (1, 2, "TOTAL", 159, D("58.00")),
    ]
    assert r.amount == D("97.51")
    assert r.unrounded_amount == D("97.5114")
    assert r.consumption == 300
    assert r.zone_consumption == {"TOTAL": 300}


def test_golden_across_tariff_change():
    r = price(date(2014, 5, 26), date(2014, 6, 10), {"TOTAL": 100})
    assert summary(r) == [
        (1, 1, "TOTAL", 24, D("6.72")),
        (1, 2, "TOTAL", 9, D("3.28")),
        (2, 1, "TOTAL", 50, D("15.40")),
        (2, 2, "TOTAL", 17, D("7.12")),
    ]
    assert r.amount == D("32.52")
    first = r.lines[0]
    assert first.tariff_valid_from == date(2012, 7, 1)
    assert first.price == D("0.2802") and first.coefficient == D("1")
    assert first.unrounded == D("6.7248")


def test_golden_two_zone():
    r = price(date(2017, 3, 31), date(2017, 4, 30), {"DAY": 100, "NIGHT": 250})
    assert summary(r) == [
        (7, 1, "DAY", 29, D("26.10")),
        (7, 1, "NIGHT", 71, D("31.95")),
        (7, 2, "DAY", 71, D("119.28")),
        (7, 2, "NIGHT", 179, D("150.36")),
    ]
    assert r.amount == D("327.69")
    assert [l.coefficient for l in r.lines] == [D("1.0"), D("0.5"), D("1.0"), D("0.5")]


def test_golden_three_zone():
    r = price(date(2017, 3, 31), date(2017, 4, 30), {"PEAK": 60, "SEMI_PEAK": 150, "NIGHT": 90})
    assert summary(r) == [
        (7, 1, "PEAK", 20, D("27.00")),
        (7, 1, "SEMI_PEAK", 50, D("45.00")),
        (7, 1, "NIGHT", 30, D("10.80")),
        (7, 2, "PEAK", 40, D("100.80")),
        (7, 2, "SEMI_PEAK", 100, D("168.00")),
        (7, 2, "NIGHT", 60, D("40.32")),
    ]
    assert r.amount == D("391.92")


@pytest.mark.parametrize(
    ("kwh", "block", "amount"),
    [(250, 1, D("360.00")), (251, 2, D("421.68"))],
)
def test_golden_whole_volume(kwh, block, amount):
    # A total equal to the bound stays in the lower block.
    r = price(date(2021, 10, 31), date(2021, 11, 30), {"TOTAL": kwh})
    assert summary(r) == [(8, block, "TOTAL", kwh, amount)]
    assert r.amount == amount


def test_golden_rollover_flat():
    kwh = zone_consumption_with_rollover(99950, 30, 5)
    assert kwh == 80
    r = price(date(2024, 6, 30), date(2024, 7, 31), {"TOTAL": kwh})
    assert summary(r) == [(10, 1, "TOTAL", 80, D("345.60"))]
    assert r.amount == D("345.60")


@pytest.mark.parametrize(
    ("kwh", "first_block_kwh", "amount"),
    [(157, 154, D("48.53")), (158, 155, D("48.84"))],
)
def test_golden_three_parts(kwh, first_block_kwh, amount):
    # Parts 13/31/1 days (February, March, 1 April 2015): Sainte-Laguë gives
    # 46/108/3 and 46/109/3, so the extra kWh lands in March and April keeps 3.
    r = price(date(2015, 2, 15), date(2015, 4, 1), {"TOTAL": kwh})
    assert summary(r) == [
        (2, 1, "TOTAL", first_block_kwh, (first_block_kwh * D("0.308")).quantize(D("0.01"))),
        (3, 1, "TOTAL", 3, D("1.10")),
    ]
    assert r.amount == amount


def test_golden_three_zone_across_a_tariff_change():
    zones = {"PEAK": 298, "SEMI_PEAK": 31, "NIGHT": 295}
    r = price(date(2016, 7, 3), date(2016, 9, 1), zones)
    assert summary(r) == [
        (5, 1, "PEAK", 91, D("77.81")),
        (5, 1, "SEMI_PEAK", 9, D("5.13")),
        (5, 1, "NIGHT", 90, D("20.52")),
        (5, 2, "PEAK", 202, D("299.97")),
        (5, 2, "SEMI_PEAK", 22, D("21.78")),
        (5, 2, "NIGHT", 200, D("79.20")),
        (6, 1, "PEAK", 1, D("1.07")),
        (6, 1, "NIGHT", 2, D("0.57")),
        (6, 2, "PEAK", 4, D("7.74")),
        (6, 2, "NIGHT", 3, D("1.55")),
    ]
    assert r.amount == D("515.34")


# --------------------------------------------------------------------------
# Rules


def test_same_version_and_block_in_two_months_is_one_cell():
    # 15.07-14.09.2017 lies wholly in the 2017-03-01 tariff: three monthly
    # parts, but one line per block.
    r = price(date(2017, 7, 14), date(2017, 9, 14), {"TOTAL": 500})
    assert [(l.tariff_id, l.block) for l in r.lines] == [(7, 1), (7, 2)]
    # Parts 17/31/14 days of 62 -> 137/250/113 kWh; bounds 55/100/47.
    assert [l.kwh for l in r.lines] == [55 + 100 + 47, 500 - 202]


def test_zero_consumption_gives_no_lines():
    r = price(date(2020, 1, 1), date(2020, 2, 1), {"DAY": 0, "NIGHT": 0})
    assert r.lines == ()
    assert r.amount == D("0.00") and str(r.amount) == "0.00"
    assert r.unrounded_amount == 0
    assert r.consumption == 0


def test_zone_with_zero_consumption_has_no_lines():
    r = price(date(2017, 3, 31), date(2017, 4, 30), {"DAY": 300, "NIGHT": 0})
    assert {l.zone for l in r.lines} == {"DAY"}
    assert r.amount == D("90.00") + D("336.00")


def test_zones_are_put_in_meter_order():
    ordered = price(date(2017, 3, 31), date(2017, 4, 30), {"DAY": 100, "NIGHT": 250})
    shuffled = price(date(2017, 3, 31), date(2017, 4, 30), {"NIGHT": 250, "DAY": 100})
    assert shuffled == ordered
    assert list(shuffled.zone_consumption) == ["DAY", "NIGHT"]


def test_zone_ties_go_to_meter_order():
    # 1 kWh in block 1 shared 1:1 -> DAY (first in the meter's order) takes it.
    blocks = (TariffBlock(31, D("1")), TariffBlock(None, D("2")))
    tariff = TariffVersion(1, date(2020, 1, 1), "INCREMENTAL", blocks)
    # A one-day part: bound 31 * 1/31 = 1.
    r = price(date(2020, 1, 4), date(2020, 1, 5), {"DAY": 1, "NIGHT": 1}, tariffs=[tariff])
    assert summary(r) == [(1, 1, "DAY", 1, D("1.00")), (1, 2, "NIGHT", 1, D("1.00"))]


def test_zone_split_where_largest_remainder_went_negative():
    # Largest remainder gave NIGHT 38 of 284 but 37 of 285 here, so the running
    # share minus the previous one was -1 kWh in the one-kWh cell (tariff 1,
    # block 3). Sainte-Laguë never takes a kWh back: that cell goes to PEAK.
    zones = {"PEAK": 233, "SEMI_PEAK": 464, "NIGHT": 106}
    weights = list(zones.values())
    assert sainte_lague(284, weights) == [82, 164, 38]
    assert sainte_lague(285, weights) == [83, 164, 38]

    r = price(date(2014, 5, 20), date(2014, 6, 20), zones)
    assert all(l.kwh > 0 for l in r.lines)

    def cell(tariff_id: int, block: int) -> list[tuple[str, int]]:
        return [(l.zone, l.kwh) for l in r.lines if (l.tariff_id, l.block) == (tariff_id, block)]

    assert cell(1, 3) == [("PEAK", 1)]
    for zone, kwh in zones.items():
        assert sum(l.kwh for l in r.lines if l.zone == zone) == kwh
    assert r.amount == D("326.44")


def test_tariff_order_in_input_does_not_matter():
    forward = price(date(2014, 5, 26), date(2014, 6, 10), {"TOTAL": 100})
    backward = price(date(2014, 5, 26), date(2014, 6, 10), {"TOTAL": 100}, tariffs=DEMO_TARIFF_HISTORY[::-1])
    assert backward == forward


def test_tariff_mode_accepts_plain_strings():
    v = TariffVersion("x", date(2020, 1, 1), "FLAT", [TariffBlock(None, D("2"))])
    assert v.mode is TariffMode.FLAT
    assert v.blocks == (TariffBlock(None, D("2")),)


def test_zone_coefficients_depend_on_layout():
    assert zone_coefficients(["DAY", "NIGHT"]) == {"DAY": D("1.0"), "NIGHT": D("0.5")}
    assert zone_coefficients(["NIGHT", "PEAK", "SEMI_PEAK"]) == {
        "PEAK": D("1.5"),
        "SEMI_PEAK": D("1.0"),
        "NIGHT": D("0.4"),
    }
    assert zone_coefficients(["TOTAL"]) == {"TOTAL": D("1")}
    assert set(ZONE_COEFFICIENTS) == set(ZONE_LAYOUTS)
    with pytest.raises(ValueError):
        zone_coefficients(["DAY", "PEAK"])


# --------------------------------------------------------------------------
# Errors


def test_no_tariff_before_history():
    with pytest.raises(NoTariffError) as info:
        price(date(2012, 5, 1), date(2012, 5, 31), {"TOTAL": 100})
    assert info.value.day == date(2012, 5, 2)


def test_no_tariff_for_the_first_days_only():
    with pytest.raises(NoTariffError) as info:
        price(date(2012, 6, 20), date(2012, 7, 20), {"TOTAL": 0})
    assert info.value.day == date(2012, 6, 21)
    assert isinstance(info.value, Exception)
    # From the first day in force it prices fine.
    assert price(date(2012, 6, 30), date(2012, 7, 20), {"TOTAL": 0}).amount == 0


def test_no_tariffs_at_all():
    with pytest.raises(NoTariffError):
        price(date(2020, 1, 1), date(2020, 2, 1), {"TOTAL": 1}, tariffs=[])


@pytest.mark.parametrize(
    ("prev", "cur", "zones", "error"),
    [
        (date(2020, 2, 1), date(2020, 2, 1), {"TOTAL": 1}, ValueError),
        (date(2020, 2, 2), date(2020, 2, 1), {"TOTAL": 1}, ValueError),
        (date(2020, 1, 1), date(2020, 2, 1), {"TOTAL": -1}, ValueError),
        (date(2020, 1, 1), date(2020, 2, 1), {"DAY": 1}, ValueError),
        (date(2020, 1, 1), date(2020, 2, 1), {"DAY": 1, "PEAK": 1}, ValueError),
        (date(2020, 1, 1), date(2020, 2, 1), {"FOO": 1}, ValueError),
        (date(2020, 1, 1), date(2020, 2, 1), {}, ValueError),
        (date(2020, 1, 1), date(2020, 2, 1), {"TOTAL": 1.0}, TypeError),
        (dt.datetime(2020, 1, 1), date(2020, 2, 1), {"TOTAL": 1}, TypeError),
    ],
)
def test_invalid_input(prev, cur, zones, error):
    with pytest.raises(error):
        price(prev, cur, zones)


def test_duplicate_valid_from_is_rejected():
    a = TariffVersion(1, date(2020, 1, 1), "FLAT", (TariffBlock(None, D("1")),))
    b = TariffVersion(2, date(2020, 1, 1), "FLAT", (TariffBlock(None, D("2")),))
    with pytest.raises(ValueError):
        price(date(2020, 1, 1), date(2020, 2, 1), {"TOTAL": 1}, tariffs=[a, b])


@pytest.mark.parametrize(
    ("mode", "blocks"),
    [
        ("FLAT", (TariffBlock(10, D("1")), TariffBlock(None, D("2")))),
        ("INCREMENTAL", (TariffBlock(10, D("1")),)),
        (
            "INCREMENTAL",
            (TariffBlock(10, D("1")), TariffBlock(10, D("1")), TariffBlock(None, D("2"))),
        ),
        ("INCREMENTAL", (TariffBlock(None, D("1")), TariffBlock(None, D("2")))),
        ("INCREMENTAL", ()),
        ("STEPPED", (TariffBlock(None, D("1")),)),
    ],
)
def test_invalid_tariff(mode, blocks):
    with pytest.raises(ValueError):
        TariffVersion(1, date(2020, 1, 1), mode, blocks)


@pytest.mark.parametrize(
    ("bound", "price_", "error"),
    [
        (0, D("1"), ValueError),
        (-5, D("1"), ValueError),
        (True, D("1"), ValueError),
        (10, D("-1"), ValueError),
        (10, D("NaN"), ValueError),
        (10, 1.5, TypeError),
    ],
)
def test_invalid_block(bound, price_, error):
    with pytest.raises(error):
        TariffBlock(bound, price_)


# --------------------------------------------------------------------------
# sainte_lague


def one_at_a_time(total: int, weights: list) -> list[int]:
    """DESIGN §3's rule as written: each kWh to the largest w / (2s + 1), ties earlier."""
    shares = [0] * len(weights)
    for _ in range(total):
        best = max(range(len(weights)), key=lambda i: (Fraction(weights[i]) / (2 * shares[i] + 1), -i))
        shares[best] += 1
    return shares


def test_sainte_lague_ties_go_to_the_earlier_index():
    assert sainte_lague(1, [1, 1]) == [1, 0]
    assert sainte_lague(2, [1, 1, 1]) == [1, 1, 0]
    assert sainte_lague(1, [0, 1, 1]) == [0, 1, 0]


def test_sainte_lague_examples():
    assert sainte_lague(300, [3, 26]) == [31, 269]
    assert sainte_lague(100, [5, 10]) == [33, 67]
    assert sainte_lague(157, [13, 31, 1]) == [46, 108, 3]
    assert sainte_lague(158, [13, 31, 1]) == [46, 109, 3]
    assert sainte_lague(10, [D("0.5"), Fraction(1, 2), 1]) == [3, 2, 5]
    assert sainte_lague(0, [0, 0]) == [0, 0]
    assert sainte_lague(0, []) == []
    assert sainte_lague(7, [0, 3, 0]) == [0, 7, 0]


@pytest.mark.parametrize(
    ("total", "weights", "error"),
    [
        (1, [0, 0], ValueError),
        (1, [], ValueError),
        (-1, [1], ValueError),
        (1, [1, -1], ValueError),
        (1, [0.5, 0.5], TypeError),
        (1.0, [1], TypeError),
        (1, [D("Infinity")], ValueError),
    ],
)
def test_sainte_lague_rejects(total, weights, error):
    with pytest.raises(error):
        sainte_lague(total, weights)


@prop
@given(
    total=st.integers(0, 400),
    weights=st.lists(st.integers(0, 60), min_size=1, max_size=6).filter(any),
)
def test_sainte_lague_is_the_rule_one_kwh_at_a_time(total, weights):
    # The threshold start is a shortcut: it must give what handing out one by one gives.
    assert sainte_lague(total, weights) == one_at_a_time(total, weights)


@prop
@given(
    total=st.integers(0, 300),
    weights=st.lists(
        st.one_of(
            st.integers(0, 60),
            st.decimals(0, 60, places=2, allow_nan=False, allow_infinity=False),
            st.fractions(0, 60, max_denominator=12),
        ),
        min_size=1,
        max_size=24,
    ).filter(any),
)
def test_sainte_lague_is_the_rule_for_decimal_and_fraction_weights_and_many_of_them(total, weights):
    # Whole-number arithmetic on the weights scaled by their common denominator, and a heap
    # past 16 weights: the same shares as the rule in exact fractions.
    assert sainte_lague(total, weights) == one_at_a_time(total, weights)


@prop
@given(
    total=st.integers(0, 10**6),
    weights=st.lists(st.integers(0, 10**4), min_size=1, max_size=6).filter(any),
)
def test_sainte_lague_is_house_monotone(total, weights):
    shares = sainte_lague(total, weights)
    more = sainte_lague(total + 1, weights)
    assert sum(shares) == total and sum(more) == total + 1
    # One more unit adds one to one share and takes none away.
    assert sorted(b - a for a, b in zip(shares, more, strict=True)) == [0] * (len(weights) - 1) + [1]
    w = sum(weights)
    for share, weight in zip(shares, weights, strict=True):
        assert share >= 0
        if weight == 0:
            assert share == 0
        # A divisor method may miss its quota, but by fewer units than there are parts.
        assert abs(share - Fraction(total * weight, w)) < len(weights)


# --------------------------------------------------------------------------
# Rollover


def test_rollover():
    assert zone_consumption_with_rollover(48200, 48500, 5) == 300
    assert zone_consumption_with_rollover(500, 500, 5) == 0
    assert zone_consumption_with_rollover(99950, 30, 5) == 80
    assert zone_consumption_with_rollover(99999, 0, 5) == 1
    assert zone_consumption_with_rollover(9990, 5, 4) == 15
    assert zone_consumption_with_rollover(1, 0, 6) == 999_999


@pytest.mark.parametrize(
    ("previous", "new", "digits"),
    [(100000, 1, 5), (1, 100000, 5), (-1, 5, 5), (1, 2, 0)],
)
def test_rollover_rejects_out_of_range(previous, new, digits):
    with pytest.raises(ValueError):
        zone_consumption_with_rollover(previous, new, digits)


# --------------------------------------------------------------------------
# Properties

HISTORY_START = date(2012, 6, 30)
HISTORY_END = date(2026, 12, 31)


@st.composite
def zone_maps(draw, max_kwh: int = 3000) -> dict[str, int]:
    layout = draw(st.sampled_from(ZONE_LAYOUTS))
    return {z: draw(st.integers(0, max_kwh)) for z in layout}


@st.composite
def periods(draw, max_days: int = 400) -> tuple[date, date]:
    prev = draw(st.dates(HISTORY_START, HISTORY_END))
    cur = prev + dt.timedelta(days=draw(st.integers(1, max_days)))
    return prev, cur


@st.composite
def tariff_histories(draw) -> list[TariffVersion]:
    """Random histories; the first version is in force from HISTORY_START."""
    count = draw(st.integers(1, 4))
    later_dates = st.dates(HISTORY_START + dt.timedelta(days=1), HISTORY_END)
    later = draw(st.lists(later_dates, max_size=count - 1, unique=True))
    versions = []
    for i, valid_from in enumerate([HISTORY_START, *sorted(later)]):
        mode = draw(st.sampled_from(list(TariffMode)))
        n_blocks = 1 if mode is TariffMode.FLAT else draw(st.integers(1, 4))
        bound_lists = st.lists(st.integers(1, 2000), min_size=n_blocks - 1, max_size=n_blocks - 1, unique=True)
        bounds = sorted(draw(bound_lists))
        prices = draw(st.lists(st.decimals(D("0"), D("10"), places=4), min_size=n_blocks, max_size=n_blocks))
        blocks = tuple(TariffBlock(b, p) for b, p in zip([*bounds, None], prices, strict=True))
        versions.append(TariffVersion(i, valid_from, mode, blocks))
    return versions


def check_invariants(result: PricingResult, zones: dict[str, int]) -> None:
    lines = result.lines
    assert result.consumption == sum(zones.values())
    assert list(result.zone_consumption.items()) == list(zones.items())
    # Non-negative.
    assert all(l.kwh > 0 and l.unrounded >= 0 and l.amount >= 0 for l in lines)
    assert result.unrounded_amount >= 0
    # Zone kWh over lines sum to each zone's consumption; blocks to the total.
    for zone, kwh in zones.items():
        assert sum(l.kwh for l in lines if l.zone == zone) == kwh
    assert sum(l.kwh for l in lines) == result.consumption
    # One line per (version, block, zone).
    keys = [(l.tariff_id, l.block, l.zone) for l in lines]
    assert len(keys) == len(set(keys))
    # Each line is its exact product, rounded by at most half a kopeck.
    for l in lines:
        assert l.unrounded == l.kwh * l.price * l.coefficient
        assert abs(l.amount - l.unrounded) <= D("0.005")
        assert l.amount == l.amount.quantize(D("0.01"))
    assert result.amount == sum((l.amount for l in lines), D(0))
    assert result.unrounded_amount == sum((l.unrounded for l in lines), D(0))
    assert abs(result.amount - result.unrounded_amount) <= D("0.005") * len(lines)
    assert result.amount.as_tuple().exponent == -2


def cells(result: PricingResult) -> dict[tuple[object, int], int]:
    out: dict[tuple[object, int], int] = {}
    for l in result.lines:
        out[(l.tariff_id, l.block)] = out.get((l.tariff_id, l.block), 0) + l.kwh
    return out


@prop
@given(period=periods(), zones=zone_maps())
def test_invariants_on_demo_history(period, zones):
    result = price(*period, zones)
    check_invariants(result, zones)
    # Zones never change block sizes: a one-zone meter with the same total
    # gets the same cells.
    total = price(*period, {"TOTAL": sum(zones.values())})
    assert cells(result) == cells(total)


@prop
@given(period=periods(), zones=zone_maps(), tariffs=tariff_histories())
def test_invariants_on_random_tariffs(period, zones, tariffs):
    result = price(*period, zones, tariffs=tariffs)
    check_invariants(result, zones)


@st.composite
def monotonicity_periods(draw) -> tuple[date, date]:
    """Periods of 1 to 120 days anywhere in the history: up to five parts,
    across month ends and tariff changes."""
    prev = draw(st.dates(HISTORY_START, HISTORY_END))
    return prev, prev + dt.timedelta(days=draw(st.integers(1, 120)))


@prop
@given(period=monotonicity_periods(), kwh=st.integers(0, 3000), extra=st.integers(1, 500))
def test_more_kwh_never_costs_less(period, kwh, extra):
    less = price(*period, {"TOTAL": kwh})
    more = price(*period, {"TOTAL": kwh + extra})
    assert more.unrounded_amount >= less.unrounded_amount


@prop
@given(period=monotonicity_periods(), kwh=st.integers(0, 3000))
def test_one_more_kwh_never_costs_less(period, kwh):
    less = price(*period, {"TOTAL": kwh})
    more = price(*period, {"TOTAL": kwh + 1})
    assert more.unrounded_amount >= less.unrounded_amount


@prop
@given(period=monotonicity_periods(), zones=zone_maps(), data=st.data())
def test_more_kwh_in_any_zone_never_costs_less(period, zones, data):
    zone = data.draw(st.sampled_from(list(zones)))
    extra = data.draw(st.integers(1, 50))
    less = price(*period, zones)
    more = price(*period, {**zones, zone: zones[zone] + extra})
    assert more.unrounded_amount >= less.unrounded_amount


# The cases where largest remainder (pinned before) made more kWh cost less:
# the day split over three parts moved a kWh out of one part while adding one
# to each of two others.
@pytest.mark.parametrize(
    ("prev", "cur", "kwh", "less", "more"),
    [
        # Parts 13/31/1 days: largest remainder gave 48.852 for 157, 48.838 for 158.
        (date(2015, 2, 15), date(2015, 4, 1), 157, D("48.530"), D("48.838")),
        # Parts 1/31/13 days, whole volume: largest remainder gave 630.00 for 375
        # (the one-day June part over its bound of 8), 629.76 for 376.
        (date(2022, 6, 29), date(2022, 8, 13), 375, D("628.08"), D("629.76")),
    ],
)
def test_former_non_monotone_cases(prev, cur, kwh, less, more):
    a = price(prev, cur, {"TOTAL": kwh})
    b = price(prev, cur, {"TOTAL": kwh + 1})
    assert (a.unrounded_amount, b.unrounded_amount) == (less, more)
    assert b.unrounded_amount > a.unrounded_amount


# --------------------------------------------------------------------------
# Consumption by month: the bill lines' split of a reading, reused for charts

DEMO_STARTS = [v.valid_from for v in DEMO_TARIFF_HISTORY]


def months_of(prev: date, cur: date, kwh: int, starts=DEMO_STARTS) -> dict[date, int]:
    return consumption_by_month(period_start=prev + dt.timedelta(days=1), period_end=cur, kwh=kwh, tariff_starts=starts)


def test_months_of_the_golden_examples_are_their_lines():
    # 27.05-10.06.2014: lines 24 + 9 kWh in May, 50 + 17 in June.
    assert months_of(date(2014, 5, 26), date(2014, 6, 10), 100) == {date(2014, 5, 1): 33, date(2014, 6, 1): 67}
    # Three parts of 13, 31 and 1 days: 46/108/3 for 157 kWh, 46/109/3 for 158.
    assert months_of(date(2015, 2, 15), date(2015, 4, 1), 157) == {
        date(2015, 2, 1): 46,
        date(2015, 3, 1): 108,
        date(2015, 4, 1): 3,
    }
    assert months_of(date(2015, 2, 15), date(2015, 4, 1), 158) == {
        date(2015, 2, 1): 46,
        date(2015, 3, 1): 109,
        date(2015, 4, 1): 3,
    }
    # One month: all of it.
    assert months_of(date(2014, 4, 27), date(2014, 4, 30), 12) == {date(2014, 4, 1): 12}


def test_months_follow_the_parts_when_a_tariff_starts_mid_month():
    # April 1-14 under one version, April 15-30 and May 1-10 under the next: the parts of
    # 14, 16 and 10 days share 6 kWh 2/2/2, so April has 4 (sharing by months, 30 and 10
    # days, would give it 5).
    starts = [date(2014, 1, 1), date(2014, 4, 15)]
    assert months_of(date(2014, 3, 31), date(2014, 5, 10), 6, starts) == {date(2014, 4, 1): 4, date(2014, 5, 1): 2}
    # Days before any tariff are still shared (a chart of imported history needs no tariff).
    assert months_of(date(2013, 12, 20), date(2014, 1, 11), 23, starts) == {date(2013, 12, 1): 12, date(2014, 1, 1): 11}


def test_months_refuse_an_inverted_period():
    with pytest.raises(ValueError):
        consumption_by_month(period_start=date(2014, 5, 2), period_end=date(2014, 5, 1), kwh=1, tariff_starts=[])


@prop
@given(period=periods(), zones=zone_maps())
def test_the_months_hold_the_kwh_each_tariff_version_has_on_the_bill(period, zones):
    # Every demo version starts on the 1st, so each month is under one version: the months'
    # kWh summed per version are exactly the bill lines' kWh of that version.
    result = price(*period, zones)
    months = consumption_by_month(
        period_start=result.period_start,
        period_end=result.period_end,
        kwh=result.consumption,
        tariff_starts=DEMO_STARTS,
    )
    assert sum(months.values()) == result.consumption and all(k >= 0 for k in months.values())
    by_version: dict[date, int] = {}
    for month, kwh in months.items():
        version = max(start for start in DEMO_STARTS if start <= month)
        by_version[version] = by_version.get(version, 0) + kwh
    on_the_bill: dict[date, int] = {}
    for line in result.lines:
        on_the_bill[line.tariff_valid_from] = on_the_bill.get(line.tariff_valid_from, 0) + line.kwh
    assert {v: k for v, k in by_version.items() if k} == on_the_bill
