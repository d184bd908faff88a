"""Pricing of metered electricity consumption against versioned tariffs.

Pure arithmetic: no database, no I/O. Money is ``Decimal`` and all
proportional sharing is done with ``Fraction`` so that nothing depends on a
decimal context's precision.

The computation, in order (see ``price_consumption``):

1. The period is the days after the previous reading up to and including the
   new one.
2. It is split into *parts*: maximal runs of days in one calendar month under
   one tariff version.
3. The total kWh is shared over the parts by days (Sainte-Laguë highest
   averages, ``sainte_lague``). ``consumption_by_month`` gives the same
   shares summed per month, for the consumption chart.
4. In each part the block bounds are scaled to the part's share of its month
   and the part's kWh are put into blocks by the tariff's mode.
5. kWh are summed into *cells* (tariff version, block) in date/block order.
6. Each cell's kWh are shared over the meter's zones through running totals
   by the same rule, so that both block sizes and zone totals stay exact.
7. One line per (version, block, zone) with kWh > 0, rounded half-up to the
   kopeck; the bill is the sum of its rounded lines.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import heapq
import math
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, Inexact, localcontext
from fractions import Fraction
from functools import lru_cache

from money import kopecks

__all__ = [
    "DEMO_TARIFF_HISTORY",
    "ZONE_COEFFICIENTS",
    "ZONE_LAYOUTS",
    "NoTariffError",
    "PricedLine",
    "PricingResult",
    "TariffBlock",
    "TariffMode",
    "TariffVersion",
    "consumption_by_month",
    "price_consumption",
    "sainte_lague",
    "zone_coefficients",
    "zone_consumption_with_rollover",
]

_ONE_DAY = dt.timedelta(days=1)


class TariffMode(enum.StrEnum):
    # Same values as models.base.TariffMode; redefined here to keep
    # this module free of SQLAlchemy. StrEnum members compare equal to str.
    INCREMENTAL = "INCREMENTAL"
    WHOLE_VOLUME = "WHOLE_VOLUME"
    FLAT = "FLAT"


# The meter's zones, in the meter's order. The order matters: it breaks ties
# when kWh are shared over zones.
ZONE_LAYOUTS: tuple[tuple[str, ...], ...] = (
    ("TOTAL",),
    ("DAY", "NIGHT"),
    ("PEAK", "SEMI_PEAK", "NIGHT"),
)

# Keyed by layout, not by zone name: NIGHT is 0.5 on a two-zone meter but 0.4
# on a three-zone one, so a flat {zone: coefficient} map cannot hold both.
ZONE_COEFFICIENTS: dict[tuple[str, ...], dict[str, Decimal]] = {
    ("TOTAL",): {"TOTAL": Decimal("1")},
    ("DAY", "NIGHT"): {"DAY": Decimal("1.0"), "NIGHT": Decimal("0.5")},
    ("PEAK", "SEMI_PEAK", "NIGHT"): {
        "PEAK": Decimal("1.5"),
        "SEMI_PEAK": Decimal("1.0"),
        "NIGHT": Decimal("0.4"),
    },
}


def zone_coefficients(zones: Sequence[str] | Mapping[str, object]) -> dict[str, Decimal]:
    """The coefficients of a meter with these zones, in the meter's order.

    Accepts the zones in any order (a set of names identifies the layout);
    raises ValueError for an unknown combination.
    """
    names = [str(z) for z in zones]
    for layout in ZONE_LAYOUTS:
        if len(names) == len(layout) and set(names) == set(layout):
            return dict(ZONE_COEFFICIENTS[layout])
    raise ValueError(f"unknown meter zones {names!r}; expected one of {list(ZONE_LAYOUTS)!r}")


class NoTariffError(Exception):
    """No tariff version is in force on ``day`` (the first such day)."""

    def __init__(self, day: dt.date) -> None:
        super().__init__(f"no tariff in force on {day.isoformat()}")
        self.day = day


@dataclass(frozen=True, slots=True)
class TariffBlock:
    # kWh per calendar month; None for the open top block.
    upper_bound: int | None
    # UAH per kWh, VAT included.
    price: Decimal

    def __post_init__(self) -> None:
        b = self.upper_bound
        if b is not None and (isinstance(b, bool) or not isinstance(b, int) or b <= 0):
            raise ValueError(f"block bound must be a positive int or None, got {b!r}")
        if not isinstance(self.price, Decimal):
            # Money is never a binary float.
            raise TypeError(f"block price must be a Decimal, got {self.price!r}")
        if not self.price.is_finite() or self.price < 0:
            raise ValueError(f"block price must be a finite Decimal >= 0, got {self.price!r}")


@dataclass(frozen=True, slots=True)
class TariffVersion:
    id: object
    valid_from: dt.date
    mode: str
    blocks: tuple[TariffBlock, ...]
    name: str = ""

    def __post_init__(self) -> None:
        # Normalise so callers may pass the model's enum, a plain str, or a list.
        object.__setattr__(self, "mode", TariffMode(self.mode))
        object.__setattr__(self, "blocks", tuple(self.blocks))
        if isinstance(self.valid_from, dt.datetime) or not isinstance(self.valid_from, dt.date):
            raise TypeError(f"valid_from must be a date, got {self.valid_from!r}")
        blocks = self.blocks
        if not blocks:
            raise ValueError("a tariff needs at least one block")
        if blocks[-1].upper_bound is not None:
            raise ValueError("the last block must be open (upper_bound None)")
        if any(b.upper_bound is None for b in blocks[:-1]):
            raise ValueError("only the last block may be open")
        bounds = [b.upper_bound for b in blocks[:-1] if b.upper_bound is not None]
        if any(lo >= hi for lo, hi in zip(bounds, bounds[1:], strict=False)):
            raise ValueError(f"block bounds must increase, got {bounds!r}")
        if self.mode is TariffMode.FLAT and len(blocks) != 1:
            raise ValueError("a FLAT tariff has exactly one block")


@dataclass(frozen=True, slots=True)
class PricedLine:
    tariff_id: object
    tariff_valid_from: dt.date
    block: int  # 1-based
    zone: str
    kwh: int
    price: Decimal
    coefficient: Decimal
    amount: Decimal  # kwh * price * coefficient in kopecks (money.kopecks: half-up)
    unrounded: Decimal  # the exact product


@dataclass(frozen=True, slots=True)
class PricingResult:
    period_start: dt.date
    period_end: dt.date
    consumption: int
    zone_consumption: dict[str, int]  # in the meter's zone order
    lines: tuple[PricedLine, ...]
    amount: Decimal  # sum of the rounded lines, 0.01
    unrounded_amount: Decimal  # sum of the exact products


# --------------------------------------------------------------------------
# Small helpers


def _to_fraction(value: object) -> Fraction:
    # Floats are refused: a binary float weight would make the shares depend
    # on representation error.
    if isinstance(value, bool | float):
        raise TypeError(f"weight must be int, Decimal or Fraction, got {value!r}")
    if isinstance(value, int | Fraction):
        return Fraction(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"weight must be finite, got {value!r}")
        return Fraction(value)
    raise TypeError(f"weight must be int, Decimal or Fraction, got {value!r}")


def _check_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    return value


def _round_half_up(x: Fraction) -> int:
    # Half-up for non-negative values (bounds are never negative).
    return math.floor(x + Fraction(1, 2))


def _exact(compute: Callable[[], Decimal]) -> Decimal:
    # Sums and products of finite decimals are exact given enough digits;
    # trapping Inexact makes sure no digit is ever silently lost to the
    # ambient context's precision (28 by default).
    with localcontext() as ctx:
        ctx.prec = 100
        ctx.traps[Inexact] = True
        return compute()


def _days_in_month(day: dt.date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=_days_in_month(day))


# --------------------------------------------------------------------------
# Public helpers


def sainte_lague(total: int, weights: Sequence[int | Decimal | Fraction]) -> list[int]:
    """Share ``total`` whole units in proportion to ``weights`` (DESIGN §3).

    Sainte-Laguë highest averages: the units are handed out one at a time,
    each to the index with the largest weight / (2 × units given so far + 1),
    ties to the earlier index. The rule is house-monotone: the shares of
    ``total + 1`` are those of ``total`` plus one unit somewhere, so no share
    ever falls when the total grows (largest remainder breaks this: the
    Alabama paradox). A zero total gives zeros; a positive total with no
    positive weight is a ValueError (there is nowhere to put it).
    """
    _check_int("total", total)
    if total < 0:
        raise ValueError(f"total must be >= 0, got {total}")
    scaled = _integer_weights(weights)
    if any(w < 0 for w in scaled):
        raise ValueError(f"weights must be >= 0, got {list(weights)!r}")
    n = len(scaled)
    if total == 0:
        return [0] * n
    weight_sum = sum(scaled)
    if weight_sum == 0:
        raise ValueError(f"cannot share {total} over all-zero weights")
    if n == 1:
        return [total]  # one place for it all (a reading within one month: most of them)
    # Handing out one unit at a time is the merge of every index's averages
    # w / 1, w / 3, w / 5, … in falling order. Everything strictly above a
    # threshold t is a prefix of that order whatever the ties, and index i
    # has ceil((w / t − 1) / 2) averages above t. With t = W / (2·total − n)
    # that prefix holds at most `total` units and at least total − n, so only
    # the last few units are handed out one by one (large totals stay cheap).
    # The weights are whole numbers of one scale, so all of it is integer arithmetic:
    # ceil((w·(2·total − n) − W) / 2W), and a / b > c / d as a·d > c·b.
    shares = [0] * n
    if 2 * total > n:
        k = 2 * total - n
        shares = [max(0, -((weight_sum - w * k) // (2 * weight_sum))) for w in scaled]
    left = total - sum(shares)
    if n > 16:  # many weights: a heap rather than a scan per unit
        heap = [(-Fraction(w, 2 * s + 1), i) for i, (w, s) in enumerate(zip(scaled, shares, strict=True)) if w > 0]
        heapq.heapify(heap)
        for _ in range(left):
            _, i = heapq.heappop(heap)
            shares[i] += 1
            heapq.heappush(heap, (-Fraction(scaled[i], 2 * shares[i] + 1), i))
        return shares
    for _ in range(left):
        best = -1
        for i, w in enumerate(scaled):
            # The largest w / (2s + 1); on a tie the earlier index keeps it.
            if w > 0 and (best < 0 or w * (2 * shares[best] + 1) > scaled[best] * (2 * shares[i] + 1)):
                best = i
        shares[best] += 1
    return shares


def _integer_weights(weights: Sequence[int | Decimal | Fraction]) -> list[int]:
    """The weights as whole numbers in the same proportions (exact: by their common
    denominator)."""
    if all(type(w) is int for w in weights):
        return list(weights)  # type: ignore[arg-type]
    fractions = [_to_fraction(w) for w in weights]
    scale = math.lcm(*(f.denominator for f in fractions)) if fractions else 1
    return [f.numerator * (scale // f.denominator) for f in fractions]


def zone_consumption_with_rollover(previous: int, new: int, digits: int) -> int:
    """kWh between two readings of a ``digits``-digit register.

    A smaller new reading means the register passed 99…9 and restarted at 0.
    """
    for name, value in (("previous", previous), ("new", new), ("digits", digits)):
        _check_int(name, value)
    if digits < 1:
        raise ValueError(f"digits must be >= 1, got {digits}")
    modulus = 10**digits
    for name, value in (("previous", previous), ("new", new)):
        if not 0 <= value < modulus:
            raise ValueError(f"{name} reading {value} does not fit {digits} digits")
    if new >= previous:
        return new - previous
    return modulus - previous + new


# --------------------------------------------------------------------------
# The computation


@dataclass(frozen=True, slots=True)
class _Part:
    version_index: int  # into the sorted versions; orders cells by date
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _sorted_versions(tariffs: Sequence[TariffVersion]) -> list[TariffVersion]:
    versions = sorted(tariffs, key=lambda v: v.valid_from)
    for a, b in zip(versions, versions[1:], strict=False):
        if a.valid_from == b.valid_from:
            # Which one would be "in force" is undefined.
            raise ValueError(f"two tariff versions valid from {a.valid_from.isoformat()}")
    return versions


def _split_period(start: dt.date, end: dt.date, starts: Sequence[dt.date]) -> list[_Part]:
    """Maximal runs of days in one calendar month under one tariff version (by the sorted
    `valid_from` dates); days before the first version are parts of version index -1."""
    parts: list[_Part] = []
    day = start
    while day <= end:
        i = bisect_right(starts, day) - 1  # greatest valid_from <= day
        part_end = min(end, _month_end(day))
        if i + 1 < len(starts):
            part_end = min(part_end, starts[i + 1] - _ONE_DAY)
        parts.append(_Part(i, day, part_end))
        day = part_end + _ONE_DAY
    return parts


def _part_shares(parts: Sequence[_Part], kwh: int) -> list[int]:
    """Step 3: the kWh shared over the parts by days (Sainte-Laguë)."""
    return sainte_lague(kwh, [p.days for p in parts])


def consumption_by_month(
    *, period_start: dt.date, period_end: dt.date, kwh: int, tariff_starts: Sequence[dt.date]
) -> dict[dt.date, int]:
    """The kWh of one reading's period by calendar month (its first day), shared exactly as
    ``price_consumption`` shares them for the bill lines: over the parts (month and tariff
    version) by days, then summed per month. ``tariff_starts`` are the versions' valid_from."""
    _check_int("kwh", kwh)
    if period_end < period_start:
        raise ValueError(f"period_end {period_end.isoformat()} is before period_start {period_start.isoformat()}")
    part_months, part_days = _month_parts(period_start, period_end, tuple(sorted(set(tariff_starts))))
    months: dict[dt.date, int] = {}
    for month, share in zip(part_months, sainte_lague(kwh, part_days), strict=True):
        months[month] = months.get(month, 0) + share
    return months


@lru_cache(maxsize=4096)
def _month_parts(
    start: dt.date, end: dt.date, starts: tuple[dt.date, ...]
) -> tuple[tuple[dt.date, ...], tuple[int, ...]]:
    """Each part's month (its first day) and days, as `_split_period` cuts the period: kept per
    process, since the readings of many personal accounts cover the same days."""
    parts = _split_period(start, end, starts)
    return tuple(p.start.replace(day=1) for p in parts), tuple(p.days for p in parts)


def _blocks_for_part(version: TariffVersion, part: _Part, kwh: int) -> list[int]:
    """The part's kWh per block of its tariff (same length as the blocks)."""
    result = [0] * len(version.blocks)
    if kwh == 0:
        return result
    if version.mode is TariffMode.FLAT:
        result[0] = kwh
        return result
    # Monthly bounds shrink to the part's share of its calendar month.
    ratio = Fraction(part.days, _days_in_month(part.start))
    bounds = [None if b.upper_bound is None else _round_half_up(b.upper_bound * ratio) for b in version.blocks]
    if version.mode is TariffMode.WHOLE_VOLUME:
        # All kWh go to the first block whose bound holds the total
        # (a total equal to a bound stays in the lower block).
        for i, bound in enumerate(bounds):
            if bound is None or kwh <= bound:
                result[i] = kwh
                return result
        raise AssertionError("the last block is open")  # pragma: no cover
    # INCREMENTAL: each kWh is priced by the band it falls in.
    lower = 0
    for i, bound in enumerate(bounds):
        # Rounded bounds never decrease, so the bands never overlap.
        upper = kwh if bound is None else min(kwh, bound)
        result[i] = max(0, upper - lower)
        if bound is not None:
            lower = bound
    return result


def _zone_split(cells: list[int], weights: list[int]) -> list[list[int]]:
    """Per cell, the kWh of each zone.

    Each zone gets its Sainte-Laguë share of the running total minus what it
    already has, so cell sizes and zone totals are both exact. The rule is
    house-monotone, so a running share never falls and no cell is negative.
    """
    assigned = [0] * len(weights)
    running = 0
    out: list[list[int]] = []
    for cell in cells:
        running += cell
        target = sainte_lague(running, weights)
        out.append([t - a for t, a in zip(target, assigned, strict=True)])
        assigned = target
    return out


def price_consumption(
    *,
    previous_date: dt.date,
    current_date: dt.date,
    zone_consumption: Mapping[str, int],
    tariffs: Sequence[TariffVersion],
) -> PricingResult:
    """Price the consumption between two readings (see the module docstring).

    ``zone_consumption`` maps each of the meter's zones to its kWh. Its keys
    must form one known layout; they are put in the layout's order, which
    breaks ties. Raises NoTariffError if a day of the period has no tariff.
    """
    for name, value in (("previous_date", previous_date), ("current_date", current_date)):
        # datetime is a date subclass but cannot be compared with one.
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise TypeError(f"{name} must be a date, got {value!r}")
    if current_date <= previous_date:
        raise ValueError(
            f"current_date {current_date.isoformat()} must be after previous_date {previous_date.isoformat()}"
        )
    coefficients = zone_coefficients(list(zone_consumption))
    zones = list(coefficients)
    zone_kwh = {z: _check_int(f"consumption of {z}", zone_consumption[z]) for z in zones}
    if any(v < 0 for v in zone_kwh.values()):
        raise ValueError(f"zone consumption must be >= 0, got {zone_kwh!r}")
    consumption = sum(zone_kwh.values())

    period_start = previous_date + _ONE_DAY
    period_end = current_date
    versions = _sorted_versions(tariffs)
    # Split first, even for zero kWh: a period without a tariff is an error.
    parts = _split_period(period_start, period_end, [v.valid_from for v in versions])
    if parts[0].version_index < 0:
        raise NoTariffError(parts[0].start)

    # Share the total over the parts by days, then into each part's blocks.
    part_kwh = _part_shares(parts, consumption)
    cell_kwh: dict[tuple[int, int], int] = {}
    for part, kwh in zip(parts, part_kwh, strict=True):
        version = versions[part.version_index]
        for block_index, block_kwh in enumerate(_blocks_for_part(version, part, kwh)):
            if block_kwh:
                key = (part.version_index, block_index)
                cell_kwh[key] = cell_kwh.get(key, 0) + block_kwh

    # Date order = version order (one version's days are contiguous), then block.
    cell_keys = sorted(cell_kwh)
    per_cell_zones = _zone_split([cell_kwh[k] for k in cell_keys], list(zone_kwh.values()))

    lines: list[PricedLine] = []
    for (version_index, block_index), shares in zip(cell_keys, per_cell_zones, strict=True):
        version = versions[version_index]
        price = version.blocks[block_index].price
        for zone, kwh in zip(zones, shares, strict=True):
            if kwh <= 0:
                continue
            coefficient = coefficients[zone]
            unrounded = _exact(lambda: kwh * price * coefficient)  # noqa: B023 (called at once)
            lines.append(
                PricedLine(
                    tariff_id=version.id,
                    tariff_valid_from=version.valid_from,
                    block=block_index + 1,
                    zone=zone,
                    kwh=kwh,
                    price=price,
                    coefficient=coefficient,
                    amount=kopecks(unrounded),
                    unrounded=unrounded,
                )
            )
    amount = _exact(lambda: sum((line.amount for line in lines), Decimal("0.00")))
    unrounded_amount = _exact(lambda: sum((line.unrounded for line in lines), Decimal(0)))

    return PricingResult(
        period_start=period_start,
        period_end=period_end,
        consumption=consumption,
        zone_consumption=zone_kwh,
        lines=tuple(lines),
        amount=amount,
        unrounded_amount=unrounded_amount,
    )


# --------------------------------------------------------------------------
# Demo data: the tariff history of the golden examples.


def _version(
    id: int, valid_from: str, mode: TariffMode, bounds: Sequence[int | None], prices: Sequence[str]
) -> TariffVersion:
    return TariffVersion(
        id=id,
        valid_from=dt.date.fromisoformat(valid_from),
        mode=mode,
        blocks=tuple(TariffBlock(b, Decimal(p)) for b, p in zip(bounds, prices, strict=True)),
        name=f"{mode.value.lower().replace('_', ' ')} from {valid_from}",
    )


_INC, _WHOLE, _FLAT = TariffMode.INCREMENTAL, TariffMode.WHOLE_VOLUME, TariffMode.FLAT

DEMO_TARIFF_HISTORY: tuple[TariffVersion, ...] = (
    _version(1, "2012-07-01", _INC, (150, 800, None), ("0.2802", "0.3648", "0.9576")),
    _version(2, "2014-06-01", _INC, (150, 800, None), ("0.308", "0.419", "1.3404")),
    _version(3, "2015-04-01", _INC, (100, 600, None), ("0.366", "0.63", "1.407")),
    _version(4, "2015-09-01", _INC, (100, 600, None), ("0.456", "0.789", "1.479")),
    _version(5, "2016-03-01", _INC, (100, 600, None), ("0.57", "0.99", "1.56")),
    _version(6, "2016-09-01", _INC, (100, 600, None), ("0.714", "1.29", "1.638")),
    _version(7, "2017-03-01", _INC, (100, None), ("0.90", "1.68")),
    _version(8, "2021-10-01", _WHOLE, (250, None), ("1.44", "1.68")),
    _version(9, "2023-06-01", _FLAT, (None,), ("2.64",)),
    _version(10, "2024-06-01", _FLAT, (None,), ("4.32",)),
)
