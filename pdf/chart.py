"""The twelve-month consumption chart: a small matplotlib bar chart as PNG.

Uses matplotlib's object API on the Agg canvas (no pyplot, no global state),
so renders in worker threads do not share a figure.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

from pdf.data import MonthKwh

DPI = 150  # enough for print at this size, half the pixels of 200 dpi
# The months as Ukrainian abbreviates them (not cut to three letters: «кві», «тра» are no words).
MONTHS_UK = ("січ.", "лют.", "бер.", "квіт.", "трав.", "черв.", "лип.", "серп.", "вер.", "жовт.", "лист.", "груд.")


def month_label(month: dt.date) -> str:
    return f"{MONTHS_UK[month.month - 1]}\n{month:%Y}"


def consumption_chart_png(months: Sequence[MonthKwh], *, width_mm: float = 95, height_mm: float = 38) -> bytes:
    figure = consumption_chart_figure(months, width_mm=width_mm, height_mm=height_mm)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def consumption_chart_figure(months: Sequence[MonthKwh], *, width_mm: float = 95, height_mm: float = 38):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    inch = 25.4
    # The constrained layout fits the axes to their labels, so nothing falls off the edge.
    figure = Figure(figsize=(width_mm / inch, height_mm / inch), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = [month_label(m.month) for m in months]
    values = [m.kwh for m in months]
    bars = axes.bar(range(len(values)), values, color="#3b6ea5", width=0.7)
    axes.set_xticks(range(len(values)), labels, fontsize=5.5)
    axes.tick_params(axis="y", labelsize=5.5, length=2)
    axes.tick_params(axis="x", length=0)
    axes.set_ylabel("кВт·год", fontsize=6)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.grid(axis="y", linewidth=0.3, alpha=0.6)
    axes.set_axisbelow(True)
    top = max(values, default=0)
    axes.set_ylim(0, top * 1.18 if top > 0 else 1)
    for bar, value in zip(bars, values, strict=True):
        if value:
            axes.annotate(
                str(value),
                (bar.get_x() + bar.get_width() / 2, value),
                xytext=(0, 1.5),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=5,
            )
    return figure
