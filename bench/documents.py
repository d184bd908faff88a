"""Documents benchmark: a bill PDF's first render against serving it from the store, side by side.

    .venv/bin/python bench/documents.py [--bills 20] [--requests 300]

Runs on the embedded PostgreSQL in a temporary folder (or DATABASE_URL's server,
in a database it creates and drops), over the ASGI app as a client would, in
one process. It prints:

- cold start: the very first render in a process (imports xhtml2pdf, reportlab, matplotlib);
- first render: GET of a bill not rendered yet (gather its data, render in a thread, store);
- render only: bill_pdf() on the gathered data (no database);
- cached: GET of a stored bill (one statement, the bytes as they are), and 304 with If-None-Match;
and the ratios of first render to cached serving.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return f"median {statistics.median(values) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms"


async def _world(db, settings, bills: int) -> list[int]:
    """One personal account with a meter, monthly readings and `bills` consumption bills."""
    from sqlalchemy import insert, select

    from models import Bill, BillLine, Meter, MeterReading, PersonalAccount, Res
    from models.base import BillKind, ChargeCategory, ReadingSource, RecordSource
    from services.demo import demo_basics

    await demo_basics(db, settings)  # the RES (supplier details on the bill), terms, demo logins
    async with db.transaction() as s:
        res_id = (await s.execute(select(Res.id).where(Res.code == "0101"))).scalar_one()
        pa = (
            await s.execute(
                insert(PersonalAccount)
                .values(
                    res_id=res_id,
                    number="0101010",
                    holder_name="Лысенко Александра Афанасьевна",
                    address="м/у Горловка, ул. Кутузова б.4",
                )
                .returning(PersonalAccount.id)
            )
        ).scalar_one()
        meter = (
            await s.execute(
                insert(Meter)
                .values(personal_account_id=pa, serial_number="01010100", model="СО-505", digits=5, zones=["TOTAL"])
                .returning(Meter.id)
            )
        ).scalar_one()
        ids = []
        first = dt.date(2014, 5, 27) - dt.timedelta(days=30 * (bills + 1))
        await s.execute(
            insert(MeterReading).values(
                personal_account_id=pa,
                meter_id=meter,
                taken_on=first,
                zones=["TOTAL"],
                values=[10000],
                source=ReadingSource.IMPORT,
            )
        )
        for i in range(1, bills + 1):
            taken = first + dt.timedelta(days=30 * i)
            reading = (
                await s.execute(
                    insert(MeterReading)
                    .values(
                        personal_account_id=pa,
                        meter_id=meter,
                        taken_on=taken,
                        zones=["TOTAL"],
                        values=[10000 + 300 * i],
                        consumptions=[300],
                        consumption=300,
                        source=ReadingSource.IMPORT,
                    )
                    .returning(MeterReading.id)
                )
            ).scalar_one()
            bill = (
                await s.execute(
                    insert(Bill)
                    .values(
                        personal_account_id=pa,
                        number=20_000_000 + i,
                        category=ChargeCategory.ELECTRICITY,
                        kind=BillKind.CONSUMPTION,
                        issued_on=taken,
                        period_start=taken - dt.timedelta(days=29),
                        period_end=taken,
                        reading_id=reading,
                        due_on=taken + dt.timedelta(days=25),
                        amount=Decimal("97.51"),
                        source=RecordSource.IMPORT,
                    )
                    .returning(Bill.id)
                )
            ).scalar_one()
            await s.execute(
                insert(BillLine),
                [
                    dict(
                        bill_id=bill,
                        personal_account_id=pa,
                        position=1,
                        description="Електроенергія, блок 1",
                        block=1,
                        zone="TOTAL",
                        quantity=Decimal(141),
                        unit="кВт·год",
                        price=Decimal("0.2802"),
                        coefficient=Decimal(1),
                        amount=Decimal("39.51"),
                    ),
                    dict(
                        bill_id=bill,
                        personal_account_id=pa,
                        position=2,
                        description="Електроенергія, блок 2",
                        block=2,
                        zone="TOTAL",
                        quantity=Decimal(159),
                        unit="кВт·год",
                        price=Decimal("0.3648"),
                        coefficient=Decimal(1),
                        amount=Decimal("58.00"),
                    ),
                ],
            )
            ids.append(bill)
    return ids


async def bench_documents(database_url: str, *, bills: int = 20, requests: int = 300) -> dict[str, object]:
    import httpx

    from app import create_app
    from config import Settings
    from pdf import bill_pdf
    from services.documents import bill_document_data, document_link

    settings = Settings(database_url=database_url, business_date=dt.date(2014, 5, 26), public_url="http://bench")
    app = create_app(settings)
    db = app.state.db
    ids = await _world(db, settings, bills + 1)
    transport = httpx.ASGITransport(app=app)
    results: dict[str, object] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

        def path(pk: int) -> str:
            url = urlsplit(document_link(settings=settings, kind="bill", pk=pk, now=dt.datetime.now(dt.UTC)))
            return f"{url.path}?{url.query}"

        started = time.perf_counter()
        assert (await http.get(path(ids[0]))).status_code == 200
        results["cold start (first render in the process)"] = time.perf_counter() - started

        first = []
        for pk in ids[1:]:
            started = time.perf_counter()
            response = await http.get(path(pk))
            first.append(time.perf_counter() - started)
            assert response.status_code == 200
        results["first render, GET"] = first

        async with db.sessions() as s:
            data = (await bill_document_data(session=s, bill_id=ids[1], today=settings.today()))[1]
        render = []
        for _ in range(bills):
            started = time.perf_counter()
            bill_pdf(data)
            render.append(time.perf_counter() - started)
        results["render only, bill_pdf()"] = render

        paths = [path(pk) for pk in ids]
        etags = {p: (await http.get(p)).headers["etag"] for p in paths}
        cached = []
        for i in range(requests):
            p = paths[i % len(paths)]
            started = time.perf_counter()
            response = await http.get(p)
            cached.append(time.perf_counter() - started)
            assert response.status_code == 200
        results["cached, GET 200"] = cached
        revalidated = []
        for i in range(requests):
            p = paths[i % len(paths)]
            started = time.perf_counter()
            response = await http.get(p, headers={"If-None-Match": etags[p]})
            revalidated.append(time.perf_counter() - started)
            assert response.status_code == 304
        results["cached, GET 304"] = revalidated
    await db.dispose()
    return results


def report(results: dict[str, object]) -> None:
    print("Documents: bill PDF, first render against serving the stored one (one process, ASGI, no network)")
    for name, value in results.items():
        if isinstance(value, float):
            print(f"  {name:<42} {value * 1000:9.1f} ms")
        else:
            rate = len(value) / sum(value)
            print(f"  {name:<42} {_ms(value)}   {rate:8.1f} /s  (n={len(value)})")
    first = statistics.median(results["first render, GET"])
    print(
        f"  first render / cached 200: {first / statistics.median(results['cached, GET 200']):.0f}x slower;"
        f" / cached 304: {first / statistics.median(results['cached, GET 304']):.0f}x"
    )


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def main() -> None:
    import asyncpg

    from db import EmbeddedPostgres, migrate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bills", type=int, default=20)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    folder = None
    server = os.environ.get("DATABASE_URL")
    embedded = None
    if not server:
        folder = Path(tempfile.mkdtemp(prefix="cabb-", dir="/tmp"))
        embedded = EmbeddedPostgres(folder)
        server = embedded.start()
    name = f"cabinet_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = _with_database(server, name)
        await asyncio.to_thread(migrate, url)
        report(await bench_documents(url, bills=args.bills, requests=args.requests))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        if embedded is not None:
            embedded.stop()
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
