"""The payment QR code in the National Bank of Ukraine's format 002.

The NBU's rules for QR codes of credit transfers (Resolution No. 97 of
19.08.2025, in force from 01.11.2025; format 002 itself dates from the 2020
rules) define the data as text lines separated by LF:

    1  BCD              service tag
    2  002              format version
    3  1                encoding: 1 = UTF-8 (2 = Windows-1251)
    4  UCT              function: credit transfer
    5  (empty)          reserved (BIC in the EPC format it grew from)
    6  recipient name
    7  recipient IBAN
    8  UAH97.51         currency and amount (may be empty)
    9  recipient code   EDRPOU (or RNOKPP)
    10 (empty)          reserved
    11 (empty)          reserved
    12 purpose of payment
    13 (empty)          display text, optional

For formats 002/003 the lines are encoded as base64url (RFC 4648 §5, no
padding) and put after the fixed prefix https://qr.bank.gov.ua/ (the 2020
rules used https://bank.gov.ua/qr/, which banks' apps still accept), so a
phone camera opens it as a link and a banking app reads the fields. The
printed code has a QR version from 10 to 20, error correction M or better,
and the hryvnia sign in a white circle in its centre.
"""

from __future__ import annotations

import base64
import io
from decimal import Decimal

URL_PREFIX = "https://qr.bank.gov.ua/"
LEGACY_URL_PREFIX = "https://bank.gov.ua/qr/"
MAX_NAME = 140
MAX_PURPOSE = 420
# Pixels per module: at 38 mm on paper a version-13 code prints at ~190 dpi, modules pixel-aligned.
SCALE = 5


def _clean(value: str, limit: int) -> str:
    """One line: no line breaks inside a field, within the field's length."""
    return " ".join(value.split())[:limit]


def nbu_payment_lines(
    *, recipient: str, iban: str, amount: Decimal | None, recipient_code: str, purpose: str
) -> list[str]:
    return [
        "BCD",
        "002",
        "1",
        "UCT",
        "",
        _clean(recipient, MAX_NAME),
        iban.replace(" ", "").upper(),
        f"UAH{amount:.2f}" if amount is not None and amount > 0 else "",
        recipient_code.strip(),
        "",
        "",
        _clean(purpose, MAX_PURPOSE),
        "",
    ]


def nbu_payment_url(*, recipient: str, iban: str, amount: Decimal | None, recipient_code: str, purpose: str) -> str:
    lines = nbu_payment_lines(
        recipient=recipient, iban=iban, amount=amount, recipient_code=recipient_code, purpose=purpose
    )
    data = "\n".join(lines).encode("utf-8")
    return URL_PREFIX + base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def nbu_payment_decode(url: str) -> list[str]:
    """The lines a payment URL carries (for tests and support: what the code says)."""
    for prefix in (URL_PREFIX, LEGACY_URL_PREFIX):
        if url.startswith(prefix):
            encoded = url[len(prefix) :]
            break
    else:
        raise ValueError("not an NBU payment QR link")
    raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    return raw.decode("utf-8").split("\n")


def qr_png(text: str, *, hryvnia_sign: bool = True) -> bytes:
    """A QR code as PNG: version 10 or more, error correction M boosted where it costs nothing,
    with the hryvnia sign in a white circle in the middle."""
    import segno
    from PIL import Image

    code = segno.make(text, error="m", boost_error=True, micro=False)
    if not isinstance(code.version, int) or code.version < 10:  # an int unless micro
        code = segno.make(text, error="m", version=10, boost_error=True, micro=False)
    rows = [list(row) for row in code.matrix_iter(scale=1, border=4)]
    modules = Image.frombytes("L", (len(rows[0]), len(rows)), bytes(0 if dark else 255 for row in rows for dark in row))
    image = modules.resize((modules.width * SCALE, modules.height * SCALE), Image.Resampling.NEAREST)
    if hryvnia_sign:
        _hryvnia_sign(image)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _hryvnia_sign(image) -> None:
    """The hryvnia sign in a white circle, as the rules ask for formats 002 and 003."""
    from PIL import ImageDraw, ImageFont

    from pdf.fonts import font_path

    size = image.width
    radius = int(size * 0.085)
    centre = size // 2
    draw = ImageDraw.Draw(image)
    draw.ellipse((centre - radius, centre - radius, centre + radius, centre + radius), fill=255)
    font = ImageFont.truetype(str(font_path(bold=True)), int(radius * 1.5))
    draw.text((centre, centre), "\u20b4", fill=0, font=font, anchor="mm")
