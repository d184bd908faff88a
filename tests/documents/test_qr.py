"""The NBU payment QR payload (format 002), without a database."""

from __future__ import annotations

import base64
import io
from decimal import Decimal

import pytest

from pdf.qr import URL_PREFIX, nbu_payment_decode, nbu_payment_lines, nbu_payment_url, qr_png

DETAILS = dict(
    recipient="ПАТ «Донецькобленерго»",
    iban="UA21 3223 1300 0002 6007 2335 6600 1",
    amount=Decimal("97.51"),
    recipient_code="00131268",
    purpose="Оплата за електроенергію, о/р 0101010, рахунок № 13942590",
)


def test_the_lines_are_in_the_order_of_format_002():
    assert nbu_payment_lines(**DETAILS) == [
        "BCD",
        "002",
        "1",
        "UCT",
        "",
        "ПАТ «Донецькобленерго»",
        "UA213223130000026007233566001",
        "UAH97.51",
        "00131268",
        "",
        "",
        "Оплата за електроенергію, о/р 0101010, рахунок № 13942590",
        "",
    ]


def test_the_link_is_the_prefix_and_base64url_of_the_utf8_lines():
    url = nbu_payment_url(**DETAILS)
    assert url.startswith(URL_PREFIX) and "=" not in url and "+" not in url and "/" not in url[len(URL_PREFIX) :]
    encoded = url[len(URL_PREFIX) :]
    raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    assert raw == "\n".join(nbu_payment_lines(**DETAILS))
    assert nbu_payment_decode(url) == nbu_payment_lines(**DETAILS)


@pytest.mark.parametrize(
    ("amount", "field"), [(Decimal("100"), "UAH100.00"), (Decimal("0.5"), "UAH0.50"), (None, ""), (Decimal("0"), "")]
)
def test_amount_field(amount, field):
    assert nbu_payment_lines(**{**DETAILS, "amount": amount})[7] == field


def test_line_breaks_inside_a_field_cannot_shift_the_fields():
    lines = nbu_payment_lines(**{**DETAILS, "purpose": "Оплата\nза\r\nпослуги"})
    assert len(lines) == 13 and lines[11] == "Оплата за послуги"


def test_the_code_is_version_10_or_more_and_reads_back_with_the_hryvnia_sign():
    import segno
    import zxingcpp
    from PIL import Image

    url = nbu_payment_url(**DETAILS)
    assert segno.make(url, error="m", boost_error=True).version <= 20
    image = Image.open(io.BytesIO(qr_png(url)))
    from pdf.qr import SCALE

    modules = image.width // SCALE - 8
    assert modules >= 57  # version 10 is 57 modules wide
    assert [code.text for code in zxingcpp.read_barcodes(image)] == [url]
