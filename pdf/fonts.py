"""The Cyrillic font: DejaVu Sans, as shipped inside matplotlib's wheel.

xhtml2pdf's built-in fonts (the PDF base 14) have no Cyrillic; DejaVu Sans has
Ukrainian's ґ є ї і, the hryvnia sign and №. It is declared to xhtml2pdf with
@font-face (regular and bold) and embedded (subset) in every PDF.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

FAMILY = "DejaVuSans"


@cache
def font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def font_path(*, bold: bool = False) -> Path:
    return font_dir() / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")


@cache
def font_face_css() -> str:
    regular = font_path().as_posix()
    bold = font_path(bold=True).as_posix()
    return (
        f"@font-face {{ font-family: {FAMILY}; src: url('{regular}'); }}\n"
        f"@font-face {{ font-family: {FAMILY}; src: url('{bold}'); font-weight: bold; }}\n"
    )
