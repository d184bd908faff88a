"""Kyiv's clock: the dates people see are Europe/Kyiv dates (DST included), whatever the server's zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

KYIV = ZoneInfo("Europe/Kyiv")


def kyiv_time(moment: dt.datetime) -> dt.datetime:
    """The moment on Kyiv's clock; a naive moment is taken as UTC, as the database keeps them."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(KYIV)


def kyiv_date(moment: dt.datetime) -> dt.date:
    """The Kyiv date of a moment: 21:30 UTC on 25 May 2014 is already 26 May in Kyiv."""
    return kyiv_time(moment).date()


def kyiv_now() -> dt.datetime:
    return dt.datetime.now(KYIV)


def kyiv_today() -> dt.date:
    """Today in Kyiv (the real date; the business date is ``Settings.today()``)."""
    return kyiv_now().date()
