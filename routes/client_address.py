"""Who is calling, for throttling: the socket's address unless a trusted proxy names the client.

uvicorn's ProxyHeadersMiddleware reads X-Forwarded-For; `uvicorn_proxy_options`
turns it on only for CABINET_TRUSTED_PROXIES. uvicorn's own default believes
127.0.0.1 and ::1, so anything on the machine could choose its address.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from config import Settings

# One IPv6 customer holds a whole /64 (often more): counted as one address, or rotating in it
# would escape every per-address limit.
IPV6_PREFIX = 64


def uvicorn_proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run / uvicorn.Config keywords: X-Forwarded-For believed from the trusted proxies only."""
    if not settings.trusted_proxies.strip():
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": settings.trusted_proxies}


def client_address(connection: Any) -> str | None:
    """The address a request is counted on: IPv4 as is, IPv6 by its /64 network."""
    client = getattr(connection, "client", None)
    if not client or not client.host:
        return None
    return _counted_as(client.host)


@lru_cache(maxsize=4096)
def _counted_as(host: str) -> str:
    # A connection's requests come from one address: parsed once, not per request.
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an IP (a Unix socket, a test transport): count it as given
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)
