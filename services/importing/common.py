"""What every importer shares: the report types, CSV reading, field parsers and lookups.

An importer module (one per kind) declares ``FIELDS`` (its columns) and
``async def check(session, rows, problems) -> Plan``. ``check`` only reads
(and locks); it records every problem it finds and returns a Plan whose
``apply`` writes the changes with set-based statements. The package's
``import_csv`` applies the plan only when no row has a problem.
"""
from __future__ import annotations

import csv
import datetime as dt
import enum
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

from sqlalchemy import ARRAY, Table, text
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

PROGRESS_STEP = 500


# --------------------------------------------------------------------------
# Report


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


# --------------------------------------------------------------------------
# Field parsers: each takes the stripped cell text and returns a value or raises ValueError.

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
_INT = re.compile(r"-?\d+")


def parse_date(value: str) -> dt.date:
    if not _DATE.fullmatch(value):
        raise ValueError(f"{value!r} is not a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a valid date") from None


def parse_timestamp(value: str) -> dt.datetime:
    if not _TIMESTAMP.fullmatch(value):
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp with an offset (2014-04-10T12:42:40+03:00)")
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a valid timestamp") from None


def decimal_parser(
    places: int, *, integer_digits: int, minimum: Decimal | None = None, positive: bool = False
) -> Callable[[str], Decimal]:
    """A decimal with a dot, at most ``places`` decimals; no exponent, sign only as a leading minus."""
    pattern = re.compile(rf"-?\d{{1,{integer_digits}}}(\.\d{{1,{places}}})?" if places else rf"-?\d{{1,{integer_digits}}}")

    def parse(value: str) -> Decimal:
        if not pattern.fullmatch(value):
            if "," in value and "." not in value:
                raise ValueError(f"{value!r}: use a dot for decimals")
            raise ValueError(
                f"{value!r} is not a decimal number with at most {places} decimals "
                f"(digits and a dot only, no exponent)"
            )
        try:
            number = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern already guards
            raise ValueError(f"{value!r} is not a number") from None
        if positive and number <= 0:
            raise ValueError(f"{value} must be greater than 0")
        if minimum is not None and number < minimum:
            raise ValueError(f"{value} must be at least {minimum}")
        return number

    return parse


parse_money = decimal_parser(2, integer_digits=12)
parse_positive_money = decimal_parser(2, integer_digits=12, positive=True)
parse_price = decimal_parser(4, integer_digits=8, minimum=Decimal(0))
parse_quantity = decimal_parser(3, integer_digits=11)
parse_coefficient = decimal_parser(3, integer_digits=3, minimum=Decimal(0))


def int_parser(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not _INT.fullmatch(value):
            raise ValueError(f"{value!r} is not a whole number")
        number = int(value)
        if minimum is not None and number < minimum:
            raise ValueError(f"{value} must be at least {minimum}")
        if maximum is not None and number > maximum:
            raise ValueError(f"{value} must be at most {maximum}")
        return number

    return parse


def text_parser(max_length: int, *, pattern: str | None = None, what: str | None = None) -> Callable[[str], str]:
    compiled = re.compile(pattern) if pattern else None

    def parse(value: str) -> str:
        if len(value) > max_length:
            raise ValueError(f"longer than {max_length} characters")
        if compiled is not None and not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not {what or 'in the expected form'}")
        return value

    return parse


def choice_parser(values: Iterable[str]) -> Callable[[str], str]:
    allowed = tuple(values)

    def parse(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return value

    return parse


# Keys and names used by many kinds.
parse_code = text_parser(16, pattern=r"[0-9A-Za-z_-]+", what="a code (letters, digits, - or _)")
parse_account_number = text_parser(32, pattern=r"[0-9A-Za-z/_-]+", what="a personal account number")
parse_external_id = text_parser(64, pattern=r"\S+", what="an id without spaces")
parse_bill_number = int_parser(1, 999_999_999_999_999)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    parse: Callable[[str], Any]
    required: bool = True


def req(name: str, parse: Callable[[str], Any]) -> Field:
    return Field(name, parse, True)


def opt(name: str, parse: Callable[[str], Any]) -> Field:
    return Field(name, parse, False)


# --------------------------------------------------------------------------
# Reading a file


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
                header_ok = _check_header(header, fields, header_line, problems)
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
            for name, cell in zip(header, record):
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


def _check_header(header: list[str], fields: Sequence[Field], line: int, problems: Problems) -> bool:
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


# --------------------------------------------------------------------------
# Checks shared by kinds


def mark_duplicates(rows: Sequence[Row], key: Callable[[Row], Any], what: str, problems: Problems) -> list[Row]:
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


def differences(stored: Mapping[str, Any], new: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """'name (stored X, file Y)' for each field that differs."""
    out = []
    for name in names:
        a, b = stored[name], new[name]
        if a != b:
            out.append(f"{name} (stored {show(a)}, file {show(b)})")
    return out


def show(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "|".join(str(v) for v in value)
    return str(value)


def conflict(what: str, diffs: Sequence[str]) -> str:
    return f"{what} already exists with different data: {', '.join(diffs)}; stored records are not changed by import"


# --------------------------------------------------------------------------
# Lookups, one statement each whatever the number of rows


async def fetch(session: AsyncSession, sql: str, **params: Any) -> list[Any]:
    return list((await session.execute(text(sql), params)).all())


async def res_ids(session: AsyncSession, codes: Iterable[str]) -> dict[str, int]:
    rows = await fetch(
        session, "SELECT code, id FROM res WHERE code = ANY(CAST(:codes AS text[]))", codes=sorted(set(codes))
    )
    return {r.code: r.id for r in rows}


async def personal_account_ids(session: AsyncSession, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    keys = sorted(set(keys))
    if not keys:
        return {}
    rows = await fetch(
        session,
        """
        SELECT r.code, pa.number, pa.id
        FROM unnest(CAST(:codes AS text[]), CAST(:numbers AS text[])) AS k(code, number)
        JOIN res r ON r.code = k.code
        JOIN personal_account pa ON pa.res_id = r.id AND pa.number = k.number
        """,
        codes=[k[0] for k in keys],
        numbers=[k[1] for k in keys],
    )
    return {(r.code, r.number): r.id for r in rows}


async def resolve_personal_accounts(
    session: AsyncSession,
    rows: Sequence[Row],
    problems: Problems,
    *,
    res_column: str = "res_code",
    number_column: str = "account_number",
) -> list[Row]:
    """Sets ``personal_account_id`` on each row; unknown RES or accounts are problems. Returns the resolved rows."""
    known_res = await res_ids(session, (r[res_column] for r in rows))
    ids = await personal_account_ids(session, ((r[res_column], r[number_column]) for r in rows))
    resolved = []
    for row in rows:
        code, number = row[res_column], row[number_column]
        if code not in known_res:
            problems.add(row.line, f"{res_column}: unknown RES {code!r}")
        elif (code, number) not in ids:
            problems.add(row.line, f"unknown personal account {number} in RES {code}")
        else:
            row.v["personal_account_id"] = ids[(code, number)]
            resolved.append(row)
    return resolved


async def lock_personal_accounts(session: AsyncSession, ids: Iterable[int]) -> None:
    """Serialise with the cabinet's own writers, which lock the personal account (DESIGN §2)."""
    await session.execute(
        text("SELECT id FROM personal_account WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR UPDATE"),
        {"ids": sorted(set(ids))},
    )


async def bills_by_number(session: AsyncSession, numbers: Iterable[int]) -> dict[int, Any]:
    rows = await fetch(
        session,
        """
        SELECT b.id, b.number, b.personal_account_id, b.category, b.kind, b.issued_on, b.amount,
               r.code AS res_code, pa.number AS account_number
        FROM bill b JOIN personal_account pa ON pa.id = b.personal_account_id JOIN res r ON r.id = pa.res_id
        WHERE b.number = ANY(CAST(:numbers AS bigint[]))
        """,
        numbers=sorted(set(numbers)),
    )
    return {r.number: r for r in rows}


def check_bill_reference(
    row: Row,
    column: str,
    bills: Mapping[int, Any],
    problems: Problems,
    *,
    kinds: Iterable[str] | None = None,
    category: str | None = None,
) -> Any | None:
    """The bill a row names, if it exists and belongs to the row's personal account (and fits kind/category)."""
    number = row[column]
    bill = bills.get(number)
    if bill is None:
        problems.add(row.line, f"{column}: unknown bill {number}")
        return None
    ok = True
    if bill.personal_account_id != row["personal_account_id"]:
        problems.add(
            row.line,
            f"{column}: bill {number} belongs to personal account {bill.account_number} in RES {bill.res_code}",
        )
        ok = False
    allowed = tuple(kinds) if kinds is not None else None
    if allowed is not None and bill.kind not in allowed:
        problems.add(row.line, f"{column}: bill {number} is a {bill.kind} bill, expected {' or '.join(allowed)}")
        ok = False
    if category is not None and bill.category != category:
        problems.add(row.line, f"{column}: bill {number} is in category {bill.category}, expected {category}")
        ok = False
    return bill if ok else None


# --------------------------------------------------------------------------
# Writing: one INSERT … SELECT FROM unnest(column arrays) per chunk, not a statement per row

INSERT_CHUNK = 50_000
_DIALECT = postgresql.dialect()


def _array_literal(values: Sequence[Any] | None) -> str | None:
    if values is None:
        return None
    return "{" + ",".join(str(v) for v in values) + "}"


async def insert_rows(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]], *, returning: Sequence[str] = ()
) -> list[Any]:
    """Insert rows (dicts with the same keys) set-based; returns the ``returning`` columns of each inserted row.

    Each column travels as one typed array parameter and the rows are rebuilt
    by unnest, so a chunk is one statement whatever its size. Array columns
    (meter zones and values) travel as array literals in a text[] and are cast back.
    """
    if not rows:
        return []
    names = list(rows[0].keys())
    selects, unnests = [], []
    for i, name in enumerate(names):
        column = table.c[name]
        type_sql = column.type.compile(dialect=_DIALECT)
        if isinstance(column.type, ARRAY):
            unnests.append(f"CAST(:c{i} AS text[])")
            selects.append(f"CAST(u.c{i} AS {type_sql})")
        else:
            unnests.append(f"CAST(:c{i} AS {type_sql}[])")
            selects.append(f"u.c{i}")
    sql = (
        f'INSERT INTO {table.name} ({", ".join(f"{chr(34)}{n}{chr(34)}" for n in names)}) '
        f'SELECT {", ".join(selects)} FROM unnest({", ".join(unnests)}) AS u({", ".join(f"c{i}" for i in range(len(names)))})'
    )
    if returning:
        sql += " RETURNING " + ", ".join(f'"{n}"' for n in returning)
    out: list[Any] = []
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        params = {}
        for i, name in enumerate(names):
            values = [r[name] for r in chunk]
            if isinstance(table.c[name].type, ARRAY):
                values = [_array_literal(v) for v in values]
            elif isinstance(table.c[name].type, SAEnum):
                values = [v.value if isinstance(v, enum.Enum) else v for v in values]
            params[f"c{i}"] = values
        result = await session.execute(text(sql), params)
        if returning:
            out.extend(result.all())
    return out
