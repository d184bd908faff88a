"""Periods of the lists: inclusive dates; `to` defaults to today, `from` to a year before `to`
(the manual's «за последний год»), or earlier: to the issue date of the oldest bill of the list
still owed (`due_since`), so a debt never shows without the bills it is made of.

`from` after `to` is no error here: such a period holds no day, so its lists are
empty, and the schema tells the caller on that field alone (schema/extensions.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kyiv import kyiv_date


@dataclass(frozen=True, slots=True)
class Period:
    start: dt.date
    end: dt.date

    def holds(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    @property
    def inverted(self) -> bool:
        """`from` after `to`: a period of no days."""
        return self.start > self.end


def year_before(day: dt.date) -> dt.date:
    if day.year == 1:
        return dt.date.min
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def period_resolve(
    *, start: dt.date | None, end: dt.date | None, today: dt.date, due_since: dt.date | None = None
) -> Period:
    end = end or today
    if start is None:
        start = year_before(end)
        if due_since is not None and due_since < start:
            start = due_since
    return Period(start, end)


def kyiv_date_until(moment: dt.datetime, today: dt.date) -> dt.date:
    """The Kyiv date of a real-clock moment, never after the business date.

    Only a deployment that pins the business date (the demo, tests) sees a
    difference: a payment made now counts as made "today", so it shows in the
    default lists beside the debt it changed.
    """
    return min(kyiv_date(moment), today)
