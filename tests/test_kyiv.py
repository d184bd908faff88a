"""Kyiv's clock (kyiv.py): a moment's Kyiv date across midnight and the DST changes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kyiv import KYIV, kyiv_date, kyiv_time, kyiv_today

ROOT = Path(__file__).resolve().parents[1]
UTC = dt.UTC


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        # Summer (UTC+3): from 21:00 UTC it is already the next day in Kyiv.
        (dt.datetime(2014, 5, 25, 20, 59, 59, tzinfo=UTC), dt.date(2014, 5, 25)),
        (dt.datetime(2014, 5, 25, 21, 0, tzinfo=UTC), dt.date(2014, 5, 26)),
        # Winter (UTC+2): 22:00 UTC on New Year's Eve is the new year in Kyiv.
        (dt.datetime(2024, 12, 31, 21, 59, 59, tzinfo=UTC), dt.date(2024, 12, 31)),
        (dt.datetime(2024, 12, 31, 22, 0, tzinfo=UTC), dt.date(2025, 1, 1)),
        # The night of the spring change (31.03.2024, 03:00 → 04:00): midnight was still at UTC+2.
        (dt.datetime(2024, 3, 30, 21, 59, tzinfo=UTC), dt.date(2024, 3, 30)),
        (dt.datetime(2024, 3, 30, 22, 0, tzinfo=UTC), dt.date(2024, 3, 31)),
        # The evening after it: midnight at UTC+3 again.
        (dt.datetime(2024, 3, 31, 20, 59, tzinfo=UTC), dt.date(2024, 3, 31)),
        (dt.datetime(2024, 3, 31, 21, 0, tzinfo=UTC), dt.date(2024, 4, 1)),
        # The autumn change (27.10.2024, 04:00 → 03:00): the next midnight is at UTC+2.
        (dt.datetime(2024, 10, 27, 21, 59, tzinfo=UTC), dt.date(2024, 10, 27)),
        (dt.datetime(2024, 10, 27, 22, 0, tzinfo=UTC), dt.date(2024, 10, 28)),
        # A moment with another offset is the same instant.
        (dt.datetime(2014, 5, 26, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))), dt.date(2014, 5, 26)),
    ],
)
def test_kyiv_date_of_a_moment(moment, day):
    assert kyiv_date(moment) == day


def test_a_naive_moment_is_utc_as_the_database_keeps_it():
    assert kyiv_time(dt.datetime(2014, 5, 25, 21, 30)) == dt.datetime(2014, 5, 26, 0, 30, tzinfo=KYIV)
    assert kyiv_date(dt.datetime(2014, 5, 25, 21, 30)) == dt.date(2014, 5, 26)


def test_the_hour_repeated_in_autumn_keeps_both_instants_apart():
    first = kyiv_time(dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC))
    second = kyiv_time(dt.datetime(2024, 10, 27, 1, 30, tzinfo=UTC))
    assert first.strftime("%H:%M") == second.strftime("%H:%M") == "03:30"
    assert first.utcoffset() == dt.timedelta(hours=3) and second.utcoffset() == dt.timedelta(hours=2)


def test_today_is_kyivs_date_not_the_servers():
    before = dt.datetime.now(UTC)
    today = kyiv_today()
    after = dt.datetime.now(UTC)
    assert today in {kyiv_date(before), kyiv_date(after)}


def test_the_kyiv_zone_is_made_in_kyiv_py_only():
    sources = [p for p in ROOT.rglob("*.py") if not {".venv", "tests", "bench", "node_modules"} & set(p.parts)]
    offenders = [str(p.relative_to(ROOT)) for p in sources if p.name != "kyiv.py" and 'Europe/Kyiv")' in p.read_text()]
    assert offenders == []
