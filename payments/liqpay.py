"""LiqPay's Checkout protocol: `data` = base64(JSON), `signature` = base64(sha1(key + data + key)).

The same pair goes to the bank's page (a browser form), comes back to the
`server_url` callback, and is sent to the status API. Verification compares
signatures in constant time. The hash algorithm is configurable (SHA-1 is
what LiqPay documents; SHA-3-256 is offered by its newer API).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

ALGORITHMS = {"sha1": hashlib.sha1, "sha3-256": hashlib.sha3_256}


class SignatureInvalid(Exception):
    """The pair was not signed with our key, or `data` is not base64 JSON."""


@dataclass(frozen=True, slots=True)
class LiqPayKeys:
    public_key: str
    private_key: str
    algorithm: str = "sha1"


def data_encode(params: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(params, ensure_ascii=False, separators=(",", ":")).encode()).decode()


def signature_of(keys: LiqPayKeys, data: str) -> str:
    digest = ALGORITHMS[keys.algorithm]((keys.private_key + data + keys.private_key).encode()).digest()
    return base64.b64encode(digest).decode()


def signed_pair(keys: LiqPayKeys, params: dict[str, Any]) -> tuple[str, str]:
    data = data_encode(params)
    return data, signature_of(keys, data)


def pair_verify(keys: LiqPayKeys, data: str, signature: str) -> dict[str, Any]:
    """The decoded parameters of a genuine pair; SignatureInvalid otherwise."""
    if not isinstance(data, str) or not isinstance(signature, str) or len(data) > 100_000:
        raise SignatureInvalid("malformed")
    expected = signature_of(keys, data)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SignatureInvalid("signature mismatch")
    try:
        params = json.loads(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError) as e:
        raise SignatureInvalid("data is not base64 JSON") from e
    if not isinstance(params, dict):
        raise SignatureInvalid("data is not a JSON object")
    return params
