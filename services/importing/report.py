"""The import's report: the problems of a file, line by line, and what a clean file changes.

An importer module (one per kind) declares ``FIELDS`` (its columns) and
``async def check(*, session, rows, problems) -> Plan``. ``check`` only reads
(and locks); it records every problem it finds and returns a Plan whose
``apply`` writes the changes with set-based statements. The package's
``import_csv`` applies the plan only when no row has a problem.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A bad row: its line in the file (the header is line 1) and why."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(slots=True)
class ImportReport:
    kind: str
    rows: int  # data rows in the file
    inserted: int
    unchanged: int
    errors: list[RowProblem] = field(default_factory=list)
    # Reference rows (RES, personal accounts, meters) whose updatable fields changed.
    updated: int = 0


class ImportRejected(Exception):
    """At least one row is bad: nothing of the file was applied. ``report.errors`` lists them all."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        shown = "; ".join(str(p) for p in report.errors[:5])
        more = f" (and {len(report.errors) - 5} more)" if len(report.errors) > 5 else ""
        super().__init__(f"{report.kind}: {len(report.errors)} problem(s), nothing imported: {shown}{more}")


class Problems:
    """Collects every problem of a file, with the lines that have one."""

    def __init__(self) -> None:
        self.items: list[RowProblem] = []
        self.bad_lines: set[int] = set()

    def add(self, line: int, message: str) -> None:
        self.items.append(RowProblem(line, message))
        self.bad_lines.add(line)

    def bad(self, line: int) -> bool:
        return line in self.bad_lines

    def __bool__(self) -> bool:
        return bool(self.items)

    def sorted(self) -> list[RowProblem]:
        return sorted(self.items, key=lambda p: p.line)


Apply = Callable[[AsyncSession], Awaitable[None]]


@dataclass(slots=True)
class Plan:
    """What check found: counts per row, and the writes to make when the file is clean."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    apply: Apply | None = None
