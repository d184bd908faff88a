"""The bank's status API (LiqPay `action=status`), for payments whose callback never came."""

from __future__ import annotations

import json
from typing import Any

import httpx

from payments.liqpay import LiqPayKeys, signed_pair


class BankUnavailable(Exception):
    """The status API did not answer usefully; try again later."""


async def bank_status(*, client: httpx.AsyncClient, url: str, keys: LiqPayKeys, order_id: str) -> dict[str, Any]:
    data, signature = signed_pair(
        keys, {"action": "status", "version": 3, "public_key": keys.public_key, "order_id": order_id}
    )
    try:
        response = await client.post(url, data={"data": data, "signature": signature})
        answer = response.json()
    except (httpx.HTTPError, json.JSONDecodeError, ValueError) as e:
        raise BankUnavailable(str(e)) from e
    if not isinstance(answer, dict):
        raise BankUnavailable("the status API answered with something other than an object")
    return answer
