"""Small pure pieces: languages, scalars, global IDs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from i18n import message, pick_language
from resolvers.ids import global_id, global_id_decode, pk_of
from schema.scalars import datetime_parse, decimal_parse, decimal_serialize


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "uk"),
        ("", "uk"),
        ("ru", "ru"),
        ("en-US,en;q=0.9", "en"),
        ("de-DE,ru;q=0.5,en;q=0.7", "en"),
        ("uk-UA,ru;q=0.9", "uk"),
        ("ua", "uk"),
        ("fr", "uk"),
        ("en;q=0", "uk"),
        ("ru;q=bogus,en", "en"),
    ],
)
def test_pick_language(header, language):
    assert pick_language(header) == language


def test_messages_exist_in_three_languages_and_fill_params():
    assert message("TOO_MANY_ATTEMPTS", "en", retry_after=30) == "Too many attempts. Try again in 30 s."
    assert message("TOO_MANY_ATTEMPTS", "uk", retry_after=30) == "Забагато спроб. Спробуйте через 30 с."


@pytest.mark.parametrize("good", ["0", "12.34", "-50.00", "1870.54", "0.2802", 5])
def test_decimal_accepts_plain_numbers(good):
    assert decimal_parse(good) == Decimal(str(good))


@pytest.mark.parametrize(
    "bad",
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e3",
        "1E-2",
        "",
        " ",
        "1,5",
        "0x10",
        1.5,
        True,
        None,
        "1" * 40,
        "１０",
        "١٢.٣٤",
        "12.３4",
    ],
)
def test_decimal_refuses_odd_numbers(bad):
    with pytest.raises(ValueError):
        decimal_parse(bad)


@pytest.mark.parametrize("bad", ["２０１４-05-26", "2014-0５-26"])
def test_dates_take_ascii_digits_only(bad):
    from schema.scalars import date_parse

    with pytest.raises(ValueError):
        date_parse(bad)
    with pytest.raises(ValueError):
        datetime_parse(bad + "T00:00:00+03:00")


def test_decimal_serializes_without_exponent():
    assert decimal_serialize(Decimal("1E+2")) == "100"
    assert decimal_serialize(Decimal("97.51")) == "97.51"


def test_datetime_needs_an_offset():
    assert datetime_parse("2014-04-10T12:42:40+03:00") == dt.datetime(2014, 4, 10, 9, 42, 40, tzinfo=dt.UTC)
    with pytest.raises(ValueError):
        datetime_parse("2014-04-10T12:42:40")
    with pytest.raises(ValueError):
        datetime_parse("yesterday")


def test_global_ids_round_trip_and_refuse_garbage():
    gid = global_id("Bill", 42)
    assert global_id_decode(gid) == ("Bill", 42)
    assert pk_of(gid, "Bill") == 42
    assert pk_of(gid, "Payment") is None
    # empty, not base64, "Bill:" with no key, "Bill:-1", far too long, no separator
    for garbage in ["", "!!!", "QmlsbDo", "QmlsbDotMQ", "a" * 500, "QmlsbA"]:
        assert global_id_decode(garbage) is None, garbage


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://app.example.com/pay/done", True),
        ("https://app.example.com", True),
        ("https://app.example.com.evil.net/x", False),  # passed the string-prefix check
        ("https://app.example.com@evil.net/x", False),
        ("https://app.example.comx/", False),
        ("http://app.example.com/x", False),
        ("https://app.example.com:444/x", False),
    ],
)
def test_return_urls_compare_by_origin(settings, url, allowed):
    from services.card_payments import _return_url_allowed

    configured = settings.model_copy(update={"payment_return_urls": ["https://app.example.com"]})
    assert _return_url_allowed(configured, url) is allowed


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_decimal_serialize_writes_plain_digits_whatever_the_exponent(value):
    # str() is the quick way for money from numeric columns; an exponent falls back to format.
    text = decimal_serialize(value)
    assert text == format(value, "f") and "E" not in text and Decimal(text) == value
