"""Reading a file: the header, the rows whose cells all parse, duplicates within the file, and its rows sorted out."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar

from services.importing.cells import Field
from services.importing.report import Problems

PROGRESS_STEP = 500


@dataclass(slots=True)
class Row:
    """A data row whose every cell parsed; ``v`` holds the values (None for an empty optional cell)."""

    line: int
    v: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.v[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.v.get(key, default)


def read_rows(
    *,
    stream: TextIO,
    fields: Sequence[Field],
    problems: Problems,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, list[Row], bool]:
    """Parse the file: (number of data rows, the rows whose cells all parsed, whether the header is good).

    Cell problems are recorded per cell. A bad header (missing or unknown
    columns) is reported on line 1 and no row is parsed. ``progress(n)`` is
    called with the number of rows read since the last call.
    """
    reader = csv.reader(stream)
    by_name = {f.name: f for f in fields}
    header: list[str] | None = None
    header_line = 1
    rows: list[Row] = []
    total = 0
    pending = 0
    last_line = 0
    header_ok = True
    try:
        for record in reader:
            line = last_line + 1
            last_line = reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            if header is None:
                header_line = line
                header = [cell.strip().lstrip("\ufeff").strip() for cell in record]
                header_ok = _check_header(header=header, fields=fields, line=header_line, problems=problems)
                continue
            total += 1
            pending += 1
            if pending >= PROGRESS_STEP and progress is not None:
                progress(pending)
                pending = 0
            if not header_ok:
                continue
            if len(record) != len(header):
                problems.add(line, f"expected {len(header)} fields, found {len(record)}")
                continue
            values: dict[str, Any] = {}
            good = True
            for name, cell in zip(header, record, strict=True):
                spec = by_name[name]
                raw = cell.strip()
                if raw == "":
                    if spec.required:
                        problems.add(line, f"{name}: required")
                        good = False
                    values[name] = None
                    continue
                try:
                    values[name] = spec.parse(raw)
                except ValueError as e:
                    problems.add(line, f"{name}: {e}")
                    good = False
            for spec in fields:  # optional columns may be left out of the file
                values.setdefault(spec.name, None)
            if good:
                rows.append(Row(line, values))
    except csv.Error as e:
        problems.add(reader.line_num or 1, f"not a readable CSV file: {e}")
    except UnicodeDecodeError:
        # Decoding runs ahead of the lines, so no line can be named.
        problems.add(1, "the file is not UTF-8 text (save it as CSV UTF-8)")
        return total, [], False
    if header is None:
        problems.add(1, "the file is empty: a header row is expected")
        header_ok = False
    if pending and progress is not None:
        progress(pending)
    return total, rows, header_ok


def _check_header(*, header: list[str], fields: Sequence[Field], line: int, problems: Problems) -> bool:
    known = {f.name for f in fields}
    ok = True
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.add(line, f"column {name!r} appears twice")
            ok = False
        seen.add(name)
        if name not in known:
            problems.add(line, f"unknown column {name!r}; the columns are: {', '.join(f.name for f in fields)}")
            ok = False
    for f in fields:
        if f.required and f.name not in seen:
            problems.add(line, f"missing column {f.name!r}")
            ok = False
    return ok


def mark_duplicates(*, rows: Sequence[Row], key: Callable[[Row], Any], what: str, problems: Problems) -> list[Row]:
    """Rows whose key repeats an earlier row are problems; returns the first of each key."""
    first: dict[Any, int] = {}
    kept: list[Row] = []
    for row in rows:
        k = key(row)
        if k in first:
            problems.add(row.line, f"duplicate in file: same {what} as line {first[k]}")
            continue
        first[k] = row.line
        kept.append(row)
    return kept


def without_problems(*, rows: Iterable[Row], problems: Problems) -> list[Row]:
    """The rows no step has found a problem in so far."""
    return [row for row in rows if not problems.bad(row.line)]


T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def group_by(*, items: Iterable[T], key: Callable[[T], K]) -> dict[K, list[T]]:
    """The items by key, each list in the items' order (rows of one schedule, stored records of one meter…)."""
    groups: dict[K, list[T]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return dict(groups)
