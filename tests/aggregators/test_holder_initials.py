"""debtLookup shows the holder as surname and initials only."""

from __future__ import annotations

import pytest

from services.aggregators import holder_initials


@pytest.mark.parametrize(
    ("full", "short"),
    [
        ("Лысенко Александра Афанасьевна", "Лысенко А. А."),
        ("  Лысенко   Александра\tАфанасьевна  ", "Лысенко А. А."),
        ("Петренко Іван", "Петренко І."),
        ("Петренко", "Петренко"),
        ("  Петренко  ", "Петренко"),
        ("Захаров валерий алексеевич", "Захаров В. А."),
        ("Коваль-Ткаченко Анна-Марія Петрівна", "Коваль-Ткаченко А.-М. П."),
        ("Мамедов Ильхам Гейдар оглы", "Мамедов И. Г. О."),
        ("О'Коннор Ірина", "О'Коннор І."),
        ("Гнатюк «Ярослава» Євгенівна", "Гнатюк Я. Є."),
        ("", ""),
        ("   ", ""),
    ],
)
def test_surname_and_initials(full, short):
    assert holder_initials(full) == short


def test_nothing_of_the_given_names_leaks():
    short = holder_initials("Лысенко Александра Афанасьевна")
    assert "Александра" not in short and "Афанасьевна" not in short
