"""The consumption chart: every label inside the picture, months as Ukrainian abbreviates them."""

from __future__ import annotations

import datetime as dt

import pytest

from pdf.chart import consumption_chart_figure, month_label
from pdf.data import MonthKwh


def _year(kwh: int) -> list[MonthKwh]:
    return [MonthKwh(dt.date(2013 + (4 + i) // 12, (4 + i) % 12 + 1, 1), kwh * (i % 3)) for i in range(12)]


def test_months_are_abbreviated_as_in_ukrainian_not_cut_to_three_letters():
    assert [month_label(dt.date(2014, m, 1)).split("\n")[0] for m in range(1, 13)] == [
        "січ.",
        "лют.",
        "бер.",
        "квіт.",
        "трав.",
        "черв.",
        "лип.",
        "серп.",
        "вер.",
        "жовт.",
        "лист.",
        "груд.",
    ]
    assert month_label(dt.date(2014, 4, 1)) == "квіт.\n2014"


@pytest.mark.parametrize("kwh", [0, 268, 12345])  # an empty year, the manual's, wide tick labels
def test_every_label_is_inside_the_picture_and_the_months_do_not_overlap(kwh):
    figure = consumption_chart_figure(_year(kwh))
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    width, height = figure.bbox.width, figure.bbox.height
    axes = figure.axes[0]
    assert axes.yaxis.label.get_text() == "кВт·год"
    # What is drawn: the axes with their tick labels, the y label and the bar values.
    boxes = {"all": axes.get_tightbbox(renderer), "y label": axes.yaxis.label.get_window_extent(renderer)}
    boxes.update({t.get_text(): t.get_window_extent(renderer) for t in axes.texts})
    for name, box in boxes.items():
        assert box.x0 >= 0 and box.x1 <= width and box.y0 >= 0 and box.y1 <= height, (name, box, width, height)
    months = [label.get_window_extent(renderer) for label in axes.get_xticklabels()]
    assert len(months) == 12
    assert all(left.x1 < right.x0 for left, right in zip(months, months[1:], strict=False)), [
        (m.x0, m.x1) for m in months
    ]
