"""The bill's due date (DESIGN §3, Bills): the 20th of the month after issue."""

from __future__ import annotations

import datetime as dt

import pytest

from services.billing import due_date


@pytest.mark.parametrize(
    ("issued_on", "due_on"),
    [
        (dt.date(2014, 5, 26), dt.date(2014, 6, 20)),  # the manual's day
        (dt.date(2014, 5, 1), dt.date(2014, 6, 20)),
        (dt.date(2014, 5, 20), dt.date(2014, 6, 20)),  # on the 20th: still next month's, not today
        (dt.date(2014, 5, 31), dt.date(2014, 6, 20)),  # a month end
        (dt.date(2014, 1, 31), dt.date(2014, 2, 20)),  # into a short month
        (dt.date(2016, 2, 29), dt.date(2016, 3, 20)),  # a leap day
        (dt.date(2014, 12, 1), dt.date(2015, 1, 20)),  # December: next year's January
        (dt.date(2014, 12, 31), dt.date(2015, 1, 20)),
    ],
)
def test_due_on_the_20th_of_the_month_after_issue(issued_on, due_on):
    assert due_date(issued_on) == due_on
