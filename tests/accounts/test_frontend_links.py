"""CABINET_FRONTEND_URL: links people click go to the frontend, the bank and documents keep the
API's own address; and the minimal pages the app serves at those paths when it is the frontend."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from routes.account_pages import EMAIL_CONFIRM_SCRIPT, PASSWORD_RESET_SCRIPT
from tests.accounts.account_helpers import PASSWORD, RESET_REQUEST, UPDATE, active_login, outbox

FRONTEND = "https://app.test/cabinet"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"frontend_url": FRONTEND + "/"})


async def test_mail_links_lead_to_the_frontend(world, gql, db, settings):
    token = await active_login(gql, "holder")
    await gql(RESET_REQUEST, {"v": "holder"})
    await gql(UPDATE, {"input": {"email": "new@example.com", "currentPassword": PASSWORD}}, token=token)

    [reset] = await outbox(db, kind="password_reset")
    [confirm] = await outbox(db, kind="email_change_confirm")
    assert f"{FRONTEND}/password-reset#token=" in reset.body
    assert f"{FRONTEND}/email-confirm#token=" in confirm.body
    assert settings.public_url not in reset.body + confirm.body
    # The API's own address stays what the bank calls and documents are served from.
    assert settings.payment_callback_url == "https://cabinet.test/payments/liqpay/callback"
    assert settings.frontend_root == FRONTEND


def sha256_source(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


@pytest.mark.parametrize(
    ("path", "script", "button"),
    [
        ("/password-reset", PASSWORD_RESET_SCRIPT, "Змінити пароль"),
        ("/email-confirm", EMAIL_CONFIRM_SCRIPT, "Підтвердити адресу"),
    ],
)
async def test_the_link_pages_run_only_their_own_script_and_leak_nothing(http, path, script, button):
    page = await http.get(path)
    assert page.status_code == 200 and "lang='uk'" in page.text and f">{button}<" in page.text
    assert f"<script>{script}</script>" in page.text
    csp = page.headers["content-security-policy"]
    assert f"script-src {sha256_source(script)};" in csp and "'unsafe-inline'" not in re.sub(
        r"style-src [^;]+", "", csp
    )
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert (page.headers["referrer-policy"], page.headers["cache-control"]) == ("no-referrer", "no-store")
    # The back link, once done, goes to the frontend.
    assert f"href='{FRONTEND}/'" in page.text
