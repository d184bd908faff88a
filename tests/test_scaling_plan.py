"""docs/scaling.md against the tables: every table is distributed by the personal account,
a reference table, or an exception the document names with its reason."""

from __future__ import annotations

import re
from pathlib import Path

from models import Base

PLAN = Path(__file__).resolve().parent.parent / "docs" / "scaling.md"


def _section(title: str) -> set[str]:
    text = PLAN.read_text(encoding="utf-8")
    body = text.split(f"### {title}", 1)[1].split("\n#", 1)[0]
    return {m.group(1) for m in re.finditer(r"^- (\w+)", body, re.MULTILINE)}


def test_every_table_is_placed_by_the_plan():
    distributed = _section("Distributed tables")
    reference = _section("Reference tables")
    exceptions = _section("Exceptions")
    tables = set(Base.metadata.tables)
    assert distributed | reference | exceptions == tables
    assert not (distributed & reference or distributed & exceptions or reference & exceptions)


def test_distributed_tables_carry_the_personal_account_key():
    for name in _section("Distributed tables"):
        table = Base.metadata.tables[name]
        key = "id" if name == "personal_account" else "personal_account_id"
        assert key in table.columns, f"{name} has no {key}"


def test_exceptions_say_why():
    text = PLAN.read_text(encoding="utf-8").split("### Exceptions", 1)[1].split("\n#", 1)[0]
    for line in (l for l in text.splitlines() if l.startswith("- ")):
        assert ":" in line and len(line.split(":", 1)[1].strip()) > 10, line
