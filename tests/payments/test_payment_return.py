"""The return page: the payment's real state by the signed reference in result_url, in
Ukrainian, refreshing while the bank has not spoken, and its way back to the frontend."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app import create_app
from resolvers.ids import pk_of
from services.demo import DEMO_PASSWORD
from services.documents import link_signature
from services.payment_return import RETURN_KIND, return_link_expiry
from tests.payments.test_card_payments import START, account, bank_message, callback, form_params, start_input, started  # noqa: F401


def return_path(result: dict, settings) -> str:
    return form_params(result["checkout"])["result_url"].removeprefix(settings.public_url)


def inline_script_allowed(page: httpx.Response) -> bool:
    """The page's one inline script runs under its CSP only by its hash."""
    script = re.search(r"<script>(.*)</script>", page.text, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return f"script-src 'sha256-{digest}'" in page.headers["content-security-policy"]


async def test_while_the_bank_is_silent_the_page_waits_and_polls(account, gql, http, settings):
    result = await started(gql, account)
    path = return_path(result, settings)

    page = await http.get(path)
    status = await http.get(path.replace("/payments/return?", "/payments/return/status?"))

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Очікуємо відповідь банку" in page.text and f"№ {result['payment']['number']}" in page.text
    assert "100.00 грн" in page.text and "Дякуємо" not in page.text
    assert inline_script_allowed(page) and "connect-src 'self'" in page.headers["content-security-policy"]
    assert "http-equiv='refresh'" in page.text  # without scripts, a plain reload does the same
    assert (status.status_code, status.json()) == (200, {"number": result["payment"]["number"], "status": "CREATED"})
    assert status.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("bank_says", "heading", "absent"),
    [
        (["failure"], "Платіж не пройшов", "Дякуємо"),
        (["wait_secure"], "Банк обробляє платіж", "Дякуємо"),
        (["success"], "Дякуємо! Платіж зараховано", "не пройшов"),
        (["success", "reversed"], "Платіж повернено", "Дякуємо"),
    ],
)
async def test_the_page_says_what_the_bank_said(account, gql, http, settings, bank_says, heading, absent):
    result = await started(gql, account)
    for status in bank_says:
        await callback(http, settings, bank_message(form_params(result["checkout"]), status))

    page = await http.get(return_path(result, settings))

    assert page.status_code == 200 and f"<h1>{heading}</h1>" in page.text and absent not in page.text
    waiting = bank_says == ["wait_secure"]
    assert ("<script>" in page.text) is waiting  # polling only while the bank has not decided
    assert "<a href='https://cabinet.test/'>Повернутися до кабінету</a>" in page.text


async def test_the_page_after_success_shows_the_confirmation_time(account, gql, http, settings):
    result = await started(gql, account)
    # 1400672400000 ms is 21.05.2014 14:40 in Kyiv: the bank's own end_date.
    await callback(http, settings, bank_message(form_params(result["checkout"]), "success"))
    page = await http.get(return_path(result, settings))
    assert "зараховано 21.05.2014 14:40" in page.text


async def test_a_forged_stale_or_borrowed_reference_shows_no_payment(account, gql, http, settings):
    first = await started(gql, account)
    path = return_path(first, settings)
    query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
    pk = int(query["payment"])
    past = return_link_expiry(settings.now()) - 2 * 3600  # an hour and more ago
    stale = f"/payments/return?payment={pk}&expires={past}&sig={link_signature(settings, RETURN_KIND, pk, past)}"
    far = return_link_expiry(settings.now() + settings.payment_ttl) + 3600
    too_far = f"/payments/return?payment={pk}&expires={far}&sig={link_signature(settings, RETURN_KIND, pk, far)}"
    # A genuine signature of another kind (a document link's) names no payment here.
    expires = query["expires"]
    receipt = (
        f"/payments/return?payment={pk}&expires={expires}&sig={link_signature(settings, 'receipt', pk, int(expires))}"
    )
    other = path.replace(f"payment={pk}", f"payment={pk + 1}")
    forged = path[:-4] + "0000"

    for bad in (stale, too_far, receipt, other, forged, "/payments/return?payment=x&expires=1&sig=2"):
        page = await http.get(bad)
        status = await http.get(bad.replace("/payments/return?", "/payments/return/status?"))
        assert page.status_code == 403 and "недійсне або застаріло" in page.text and "№" not in page.text, bad
        assert status.status_code == 403 and "status" not in status.json(), bad
    assert (await http.get(path)).status_code == 200


async def test_without_a_reference_the_page_sends_people_to_the_cabinet(http):
    page = await http.get("/payments/return")
    assert page.status_code == 200 and "Стан платежу видно в кабінеті" in page.text and "<script>" not in page.text
    assert "Дякуємо" not in page.text


@pytest.fixture
async def frontend_gql(account, gql, settings):
    """`gql` on the same database with CABINET_FRONTEND_URL set, signed in as the account's login."""
    app = create_app(settings.model_copy(update={"frontend_url": "https://app.test/cabinet"}))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cabinet.test") as http:
            gql.http = http
            await gql.sign_in("lysenko", DEMO_PASSWORD)
            yield gql
    finally:
        await app.state.db.dispose()


async def test_the_way_back_goes_to_the_frontend(account, frontend_gql, settings):
    result = await started(frontend_gql, account)
    params = form_params(result["checkout"])
    page = await frontend_gql.http.get(params["result_url"].removeprefix(settings.public_url))
    # The bank still calls the API back, and sends the browser to the API's return page…
    assert params["server_url"] == "https://cabinet.test/payments/liqpay/callback"
    assert params["result_url"].startswith("https://cabinet.test/payments/return?payment=")
    assert pk_of(result["payment"]["id"], "InternetPayment") == int(
        parse_qs(urlsplit(params["result_url"]).query)["payment"][0]
    )
    # …whose link leads to the frontend.
    assert "<a href='https://app.test/cabinet/'>Повернутися до кабінету</a>" in page.text


async def test_a_return_url_under_the_frontend_is_allowed_by_default(account, frontend_gql):
    own = await started(frontend_gql, account, returnUrl="https://app.test/cabinet/paid?bill=1")
    assert form_params(own["checkout"])["result_url"] == "https://app.test/cabinet/paid?bill=1"
    for url in ("https://app.test/elsewhere", "https://app.test.evil.net/cabinet/paid"):
        refused = (await frontend_gql(START, start_input(account, key=url, returnUrl=url)))["data"]["paymentStart"]
        assert refused["fields"] == [{"path": ["input", "returnUrl"], "code": "INVALID_FORMAT"}], url
