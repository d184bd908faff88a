"""Signed links, caching headers, and storing each document once."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib

import pytest
from sqlalchemy import func, select

from models import Document
from services import documents as service
from tests.documents.document_helpers import pdf_text


def _with(path: str, **params: str) -> str:
    base, _, query = path.partition("?")
    fields = dict(part.split("=", 1) for part in query.split("&"))
    fields.update(params)
    return base + "?" + "&".join(f"{k}={v}" for k, v in fields.items() if v is not None)


async def _documents(db) -> list[Document]:
    async with db.sessions() as s:
        return list((await s.execute(select(Document).order_by(Document.key))).scalars())


async def test_a_fresh_link_serves_the_pdf_with_its_etag_and_caching_headers(manual, http, link):
    response = await http.get(link("bill", manual[13942531]))
    assert response.status_code == 200
    headers = response.headers
    assert headers["content-type"] == "application/pdf"
    assert headers["etag"] == f'"{hashlib.sha256(response.content).hexdigest()}"'
    assert headers["content-disposition"] == 'inline; filename="rakhunok-13942531.pdf"'
    directives = [d.strip() for d in headers["cache-control"].split(",")]
    assert directives[0] == "private" and directives[1].startswith("max-age=")
    assert 15 * 60 - 5 <= int(directives[1].removeprefix("max-age=")) <= 16 * 60  # until the link expires
    assert headers["referrer-policy"] == "no-referrer" and headers["x-content-type-options"] == "nosniff"


async def test_if_none_match_gives_304(manual, http, link):
    first = await http.get(link("bill", manual[13942531]))
    etag = first.headers["etag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = await http.get(link("bill", manual[13942531]), headers={"If-None-Match": header})
        assert again.status_code == 304, header
        assert again.content == b"" and again.headers["etag"] == etag
    other = await http.get(link("bill", manual[13942531]), headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.content == first.content


async def test_an_expired_link_is_refused(manual, http, link):
    now = dt.datetime.now(dt.UTC)
    assert (await http.get(link("bill", manual[13942531], now=now - dt.timedelta(minutes=16)))).status_code == 403
    # Still inside the 15 minutes: served.
    assert (await http.get(link("bill", manual[13942531], now=now - dt.timedelta(minutes=14)))).status_code == 200


async def test_a_forged_or_borrowed_signature_is_refused(manual, http, link, db):
    good = link("bill", manual[13942531])
    sig = good.rsplit("sig=", 1)[1]
    expires = good.split("expires=", 1)[1].split("&", 1)[0]
    forged = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    cases = [
        _with(good, sig=forged),
        _with(good, sig=None),  # no signature
        _with(good, expires=None),  # no expiry
        _with(good, expires=str(int(expires) + 3600)),  # a later expiry under the old signature
        _with(good, sig="x" * 64),
        # another document: another bill's id, or a receipt, with this bill's signature
        good.replace(f"/bill/{manual[13942531]}?", f"/bill/{manual[13942529]}?"),
        good.replace(f"/bill/{manual[13942531]}?", f"/receipt/{manual[13942531]}?"),
    ]
    for path in cases:
        response = await http.get(path)
        assert response.status_code == 403, path
        assert response.headers["cache-control"] == "no-store"
    # A link signed with another secret.
    from config import Settings

    stranger = Settings(database_url="x", document_link_secret="someone-else", public_url="https://cabinet.test")
    foreign = service.document_path(stranger, "bill", manual[13942531], int(expires))
    assert (await http.get(foreign)).status_code == 403
    assert await _documents(db) == []  # nothing was rendered for refused links


async def test_a_genuine_signature_beyond_the_ttl_is_refused(manual, http, settings):
    now = dt.datetime.now(dt.UTC)
    for ahead, status in (
        (dt.timedelta(days=365), 403),
        (settings.document_link_ttl + dt.timedelta(minutes=2), 403),
        (settings.document_link_ttl, 200),
    ):
        path = service.document_path(settings, "bill", manual[13942531], int((now + ahead).timestamp()))
        assert (await http.get(path)).status_code == status, ahead


async def test_missing_subjects_are_404_behind_a_valid_signature(manual, http, link):
    assert (await http.get(link("bill", 987654321))).status_code == 404
    assert (await http.get(link("receipt", 987654321))).status_code == 404
    assert (await http.get(link("invoice", manual[13942531]))).status_code == 404
    assert (await http.get("/documents/bill/abc?expires=1&sig=0")).status_code == 404
    assert (await http.get("/documents/bill/99999999999999999999999?expires=1&sig=0")).status_code == 404


async def test_rendered_once_then_served_from_the_store(manual, http, link, db, monkeypatch):
    renders = []
    real = service.bill_pdf

    def counting(data):
        renders.append(data.number)
        return real(data)

    monkeypatch.setattr(service, "bill_pdf", counting)
    first = await http.get(link("bill", manual[13942531]))
    stored = await _documents(db)
    # The key carries the slip's day and amount due (the bill is unpaid on the business date).
    assert [d.key for d in stored] == [f"bill:{manual[13942531]}:2014-05-26:256.64"]
    assert stored[0].personal_account_id == manual["pa"]
    assert stored[0].etag == hashlib.sha256(first.content).hexdigest() and stored[0].content == first.content

    again = await http.get(link("bill", manual[13942531], now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=3)))
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    after = await _documents(db)
    assert len(after) == 1 and after[0].created_at == stored[0].created_at
    assert renders == [13942531]


async def test_concurrent_first_requests_render_and_store_one(manual, http, link, db, monkeypatch):
    renders = []
    real = service.bill_pdf

    def counting(data):
        renders.append(data.number)
        return real(data)

    monkeypatch.setattr(service, "bill_pdf", counting)
    responses = await asyncio.gather(*[http.get(link("bill", manual[13942531])) for _ in range(12)])
    assert [r.status_code for r in responses] == [200] * 12
    assert len({r.content for r in responses}) == 1 and len({r.headers["etag"] for r in responses}) == 1
    assert len(await _documents(db)) == 1
    assert renders == [13942531]


async def test_concurrent_stores_in_separate_transactions_keep_the_first(manual, db):
    """Across processes each may render; the table keeps one and everyone serves that one."""
    key = f"bill:{manual[13942531]}"
    async with db.sessions() as first, db.sessions() as second:
        async with first.begin():
            mine = await service.document_store(
                session=first, key=key, personal_account_id=manual["pa"], content=b"%PDF-first"
            )
            # The second waits on the first's uncommitted row, then finds it.
            theirs = asyncio.ensure_future(_store_in(second, key, manual["pa"], b"%PDF-second"))
            await asyncio.sleep(0.2)
            assert not theirs.done()
        theirs = await theirs
    assert mine.content == theirs.content == b"%PDF-first"
    assert mine.etag == theirs.etag == hashlib.sha256(b"%PDF-first").hexdigest()
    async with db.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(Document))).scalar_one() == 1


async def _store_in(session, key, pa, content):
    async with session.begin():
        return await service.document_store(session=session, key=key, personal_account_id=pa, content=content)


@pytest.mark.parametrize("number", [13942531, 13942524])
async def test_the_served_bytes_are_a_readable_pdf(manual, http, link, number):
    response = await http.get(link("bill", manual[number]))
    assert response.content.startswith(b"%PDF-")
    assert f"РАХУНОК № {number}" in pdf_text(response.content)


BILLS_QUERY = "{ viewer { personalAccounts { bills(first: 10) { edges { node { number pdfUrl } } } } } }"


async def test_every_bill_in_the_api_has_a_working_link(manual, gql, http):
    from services.demo import DEMO_PASSWORD
    from tests.documents.document_helpers import path_of

    await gql.sign_in("lysenko", DEMO_PASSWORD)
    edges = (await gql(BILLS_QUERY))["data"]["viewer"]["personalAccounts"][0]["bills"]["edges"]
    links = {e["node"]["number"]: e["node"]["pdfUrl"] for e in edges}
    assert "13942531" in links and "13942529" in links
    assert all(url.startswith("https://cabinet.test/documents/bill/") for url in links.values())
    response = await http.get(path_of(links["13942531"]))
    assert response.status_code == 200 and "РАХУНОК № 13942531" in pdf_text(response.content)
