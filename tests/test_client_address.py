"""The address a request is counted on: the socket's, unless CABINET_TRUSTED_PROXIES names the
proxy. Through a real uvicorn on 127.0.0.1, started with the options `cabinet run` uses."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from starlette.requests import Request

from models import ThrottleSubject
from routes.client_address import client_address, uvicorn_proxy_options
from services.demo import DEMO_PASSWORD, demo_basics
from tests.callers import SIGN_IN
from tests.live import cabinet_served


@pytest.fixture
async def demo(db, settings):
    await demo_basics(db, settings)


async def sign_in_forwarded(client: httpx.AsyncClient, login: str, password: str, forwarded_for: str) -> str:
    response = await client.post(
        "/graphql",
        json={"query": SIGN_IN, "variables": {"l": login, "p": password}},
        headers={"x-forwarded-for": forwarded_for},
    )
    payload = response.json()["data"]["tokenCreate"]
    return payload.get("code", payload["__typename"])


async def address_keys(db) -> set[str]:
    async with db.sessions() as s:
        return set((await s.execute(select(ThrottleSubject.key))).scalars())


async def test_rotating_x_forwarded_for_does_not_escape_the_address_limit(demo, db, settings):
    assert settings.trusted_proxies == ""
    # A low limit keeps the test short; the default is tested in the accounts tests.
    with cabinet_served(settings, throttle_address_failed_logins_per_hour=3) as url:
        async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=30) as client:
            for i in range(3):
                assert (
                    await sign_in_forwarded(client, f"nobody-{i}", "wrong password", f"203.0.113.{i}")
                    == "INVALID_CREDENTIALS"
                )
            # uvicorn's own default would believe 127.0.0.1 and see four different clients.
            assert await sign_in_forwarded(client, "lysenko", DEMO_PASSWORD, "203.0.113.99") == "TOO_MANY_ATTEMPTS"
    assert await address_keys(db) == {"sign-in-ip:127.0.0.1"}


async def test_a_trusted_proxy_names_the_client(demo, db, settings):
    with cabinet_served(settings, trusted_proxies="127.0.0.1", throttle_address_failed_logins_per_hour=3) as url:
        async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=30) as client:
            for i in range(3):
                # The proxy appends the client it saw; what the client wrote before that is not believed.
                forwarded = f"198.51.100.{i}, 203.0.113.7"
                assert (
                    await sign_in_forwarded(client, f"nobody-{i}", "wrong password", forwarded) == "INVALID_CREDENTIALS"
                )
            assert await sign_in_forwarded(client, "lysenko", DEMO_PASSWORD, "203.0.113.7") == "TOO_MANY_ATTEMPTS"
            # Another client behind the same proxy is not held back.
            assert await sign_in_forwarded(client, "lysenko", DEMO_PASSWORD, "203.0.113.8") == "TokenCreateSuccess"
            # IPv6 clients count by their /64: rotating inside it is one address.
            for i, host in enumerate(["2001:db8:1:2::10", "2001:db8:1:2::20", "2001:db8:1:2:ffff::1"]):
                assert await sign_in_forwarded(client, f"v6-{i}", "wrong password", host) == "INVALID_CREDENTIALS"
            assert await sign_in_forwarded(client, "lysenko", DEMO_PASSWORD, "2001:db8:1:2::30") == "TOO_MANY_ATTEMPTS"
            assert await sign_in_forwarded(client, "lysenko", DEMO_PASSWORD, "2001:db8:1:3::30") == "TokenCreateSuccess"
    assert await address_keys(db) == {"sign-in-ip:203.0.113.7", "sign-in-ip:2001:db8:1:2::/64"}


def test_uvicorn_reads_x_forwarded_for_only_with_trusted_proxies(settings):
    assert uvicorn_proxy_options(settings) == {"proxy_headers": False}
    trusting = settings.model_copy(update={"trusted_proxies": "10.0.0.0/8, 192.0.2.1"})
    assert uvicorn_proxy_options(trusting) == {"proxy_headers": True, "forwarded_allow_ips": "10.0.0.0/8, 192.0.2.1"}


@pytest.mark.parametrize(
    ("host", "counted"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("2001:db8::1", "2001:db8::/64"),
        ("testclient", "testclient"),
    ],
)
def test_the_counted_address(host, counted):
    request = Request({"type": "http", "client": (host, 50000), "headers": []})
    assert client_address(request) == counted
    assert client_address(Request({"type": "http", "client": None, "headers": []})) is None
