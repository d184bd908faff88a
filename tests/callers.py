"""Who calls the API in the fuzzing and access tests, and how an answer is judged.

Tokens are minted straight into the database (a new sign-in session for the
login, the same rows `tokenCreate` writes) rather than through `tokenCreate`:
the fuzzer's failed sign-ins from the test client's one address would
otherwise throttle the very sign-in the test needs next.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import httpx
from sqlalchemy import func, select

from config import Settings
from db import Database
from models import Account, AuthSession
from services.api_clients import SCOPES, api_client_create
from services.auth import _tokens_issue

# Top-level error codes a client may get on purpose (extensions.code).
ALLOWED_CODES = frozenset({"UNAUTHENTICATED", "FORBIDDEN", "BAD_USER_INPUT"})
# Words that only an unmasked exception would put in front of a client.
LEAK_MARKERS = (
    "Traceback",
    'File "',
    "asyncpg",
    "sqlalchemy",
    "psycopg",
    "NoneType",
    "object has no attribute",
    "unexpected keyword",
    "KeyError",
    "IndexError",
    "AttributeError",
    "TypeError",
    "OverflowError",
    "ZeroDivisionError",
    "duplicate key",
    "violates",
    "SELECT ",
    "INSERT ",
)


async def token_mint(db: Database, settings: Settings, login: str) -> str:
    """A fresh access token for `login`, as a successful sign-in would issue."""
    async with db.transaction() as s:
        account_id = (
            await s.execute(select(Account.id).where(func.lower(Account.login) == login.lower()))
        ).scalar_one()
        now = dt.datetime.now(dt.UTC)
        auth_session = AuthSession(account_id=account_id, created_at=now)
        s.add(auth_session)
        await s.flush()
        issued = await _tokens_issue(session=s, settings=settings, auth_session=auth_session, now=now)
    return issued.access_token


async def api_key_make(db: Database, name: str = "fuzz-kassa") -> str:
    """An aggregator's key holding every scope."""
    async with db.transaction() as s:
        _, key = await api_client_create(session=s, name=name, scopes=list(SCOPES))
    return key


# The suite's one sign-in document (GraphQLClient.token_create, and real-HTTP tests).
SIGN_IN = """mutation($l: String!, $p: String!) { tokenCreate(login: $l, password: $p) { __typename
  ... on TokenCreateSuccess { accessToken refreshToken accessExpiresAt refreshExpiresAt account { login status } }
  ... on ValidationError { code message fields { path code message } }
  ... on OperationError { code message retryAfter } } }"""


@dataclass
class Caller:
    """One identity: anonymous, a person (Bearer) or an aggregator (ApiKey)."""

    name: str
    login: str | None = None
    api_key: str | None = None
    token: str | None = None

    def headers(self) -> dict[str, str]:
        if self.api_key:
            return {"authorization": f"ApiKey {self.api_key}"}
        if self.token:
            return {"authorization": f"Bearer {self.token}"}
        return {}


async def callers_make(db: Database, settings: Settings) -> dict[str, Caller]:
    """The four identities of the fuzzing: anonymous, customer lysenko, admin, an aggregator."""
    return {
        "anonymous": Caller("anonymous"),
        "customer": Caller("customer", login="lysenko", token=await token_mint(db, settings, "lysenko")),
        "admin": Caller("admin", login="admin", token=await token_mint(db, settings, "admin")),
        "aggregator": Caller("aggregator", api_key=await api_key_make(db)),
    }


@dataclass
class Answer:
    status: int
    body: dict | None
    text: str
    problems: list[str] = field(default_factory=list)

    @property
    def codes(self) -> set[str | None]:
        return {(e.get("extensions") or {}).get("code") for e in (self.body or {}).get("errors", [])}


async def post(http: httpx.AsyncClient, caller: Caller, query: str, variables: dict | None = None) -> Answer:
    """POST one operation as `caller` and judge the answer (see `problems_of`)."""
    response = await http.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables or {}}),
        headers={"content-type": "application/json", **caller.headers()},
    )
    try:
        body = response.json()
    except ValueError:
        body = None
    answer = Answer(response.status_code, body if isinstance(body, dict) else None, response.text)
    answer.problems = problems_of(answer)
    return answer


def problems_of(answer: Answer) -> list[str]:
    """What is wrong with an answer by the error policy (DESIGN §2): an empty list when nothing.

    - never a 5xx;
    - a top-level error either carries a deliberate code (UNAUTHENTICATED,
      FORBIDDEN, BAD_USER_INPUT), or is a parse/validation error, which has no
      code and no `path` (it happened before anything was executed);
    - never INTERNAL_SERVER_ERROR: that is an unexpected exception, masked;
    - no message reads like an exception (driver, SQL, Python internals).
    """
    problems: list[str] = []
    if answer.status >= 500:
        return [f"HTTP {answer.status}: {answer.text[:300]}"]
    if answer.status != 200:
        # The transport refuses some requests outright (400 bad body, 413 too big).
        if answer.status not in (400, 413):
            problems.append(f"HTTP {answer.status}")
        problems += [f"leak {m!r} in a {answer.status}" for m in LEAK_MARKERS if m in answer.text]
        return problems
    if answer.body is None:
        return ["a 200 without a JSON object"]
    for error in answer.body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        message = str(error.get("message", ""))
        if code == "INTERNAL_SERVER_ERROR":
            problems.append(f"INTERNAL_SERVER_ERROR at {error.get('path')}: {message}")
        elif code is None and error.get("path"):
            problems.append(f"an uncoded error at {error.get('path')}: {message[:200]}")
        elif code is not None and code not in ALLOWED_CODES:
            problems.append(f"unexpected code {code}: {message[:200]}")
        problems += [f"leak {m!r}: {message[:200]}" for m in LEAK_MARKERS if m in message]
    return problems
