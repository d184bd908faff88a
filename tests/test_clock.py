"""One clock: Settings.today() and Settings.now(), and what the API tells forms about them."""

from __future__ import annotations

import datetime as dt

from config import Settings
from kyiv import KYIV
from tests.conftest import DEMO_DATE

CLOCK = "{ businessDate serverTime }"


def test_a_pinned_business_date_keeps_the_real_time_of_day():
    settings = Settings(database_url="x", business_date=dt.date(2014, 5, 26))
    before = dt.datetime.now(KYIV)
    moment = settings.now()
    after = dt.datetime.now(KYIV)
    local = moment.astimezone(KYIV)
    assert moment.tzinfo is not None and local.date() == dt.date(2014, 5, 26) == settings.today()
    # (Were the real clock to pass midnight between `before` and `after`, the day repeats.)
    assert before.time() <= local.time() <= after.time() or before.date() != after.date()


def test_without_a_business_date_it_is_the_real_clock():
    settings = Settings(database_url="x")
    before = dt.datetime.now(dt.UTC)
    moment = settings.now()
    after = dt.datetime.now(dt.UTC)
    assert before <= moment <= after
    assert settings.today() in {before.astimezone(KYIV).date(), after.astimezone(KYIV).date()}


async def test_forms_read_the_business_date_and_the_time_from_the_api(gql, settings):
    # Anonymous too: a sign-in or registration form may want them.
    before = dt.datetime.now(KYIV)
    data = (await gql(CLOCK))["data"]
    after = dt.datetime.now(KYIV)
    served = dt.datetime.fromisoformat(data["serverTime"]).astimezone(KYIV)
    assert data["businessDate"] == DEMO_DATE.isoformat() == settings.today().isoformat()
    assert served.date() == DEMO_DATE
    assert before.time() <= served.time() <= after.time() or before.date() != after.date()
