"""Import of the utility's records from CSV files, one kind per file.

    report = await import_csv(session=session, kind="bills", stream=open("bills.csv", encoding="utf-8"))

A file is applied whole or not at all. Every row is checked first (cells,
references, duplicates in the file, conflicts with stored records); if any
row is bad, ImportRejected carries a report listing every bad line and
nothing is written. Otherwise the file is applied in the caller's session
with set-based statements (the caller owns the transaction; this never
commits). Importing the same file again changes nothing: rows are matched by
their natural keys and reported unchanged; historical records (readings,
bills, acts, schedules, payments) that exist with different data are
refused, reference data (RES, personal accounts' holder and address,
meters' verification dates) is updated.

The columns of each kind are in its module's docstring and in the README ("Importing the utility's records").
Kinds depend on earlier ones; KINDS is in a working order.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncSession

from services.importing import (
    acts,
    bank_payments,
    bill_lines,
    bills,
    internet_payments,
    links,
    meters,
    personal_accounts,
    readings,
    res,
    schedules,
    tariffs,
)
from services.importing.report import ImportRejected, ImportReport, Problems, RowProblem
from services.importing.rows import read_rows

__all__ = ["DEMO_DIR", "KINDS", "ImportRejected", "ImportReport", "RowProblem", "demo_import", "import_csv"]

_MODULES: dict[str, ModuleType] = {
    "res": res,
    "personal-accounts": personal_accounts,
    "meters": meters,
    "tariffs": tariffs,
    "readings": readings,
    "bills": bills,
    "bill-lines": bill_lines,
    "acts": acts,
    "schedules": schedules,
    "bank-payments": bank_payments,
    "internet-payments": internet_payments,
    "links": links,
}
KINDS: tuple[str, ...] = tuple(_MODULES)

DEMO_DIR = Path(__file__).resolve().parents[1] / "data" / "demo"


async def import_csv(
    *,
    session: AsyncSession,
    kind: str,
    stream: TextIO,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Check the whole file, then apply it; raise ImportRejected (nothing applied) if any row is bad.

    ``progress(n)`` is called as rows are read and checked, n being the rows
    done since the previous call (``tqdm.update`` fits).
    """
    module = _MODULES.get(kind)
    if module is None:
        raise ValueError(f"unknown kind {kind!r}; the kinds are: {', '.join(KINDS)}")
    problems = Problems()
    total, rows, header_ok = read_rows(stream=stream, fields=module.FIELDS, problems=problems, progress=progress)
    plan = await module.check(session=session, rows=rows, problems=problems) if header_ok else None
    if problems or plan is None:
        raise ImportRejected(ImportReport(kind, total, 0, 0, problems.sorted()))
    if plan.apply is not None:
        # A savepoint: should a write fail (a concurrent import), the caller's transaction stays usable.
        async with session.begin_nested():
            await plan.apply(session)
    return ImportReport(kind, total, plan.inserted, plan.unchanged, [], plan.updated)


async def demo_import(session: AsyncSession, directory: Path = DEMO_DIR) -> list[ImportReport]:
    """Import the demo's CSV files (``<kind>.csv``) in KINDS order; the demo logins must exist for ``links``."""
    reports = []
    for kind in KINDS:
        path = directory / f"{kind}.csv"
        if not path.exists():
            continue
        with path.open(encoding="utf-8", newline="") as stream:
            reports.append(await import_csv(session=session, kind=kind, stream=stream))
    return reports
