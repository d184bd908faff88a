"""The lean query walk (schema/execution.py) answers exactly as graphql-core's executor.

Each document is run twice on the same data, with the walk and with graphql-core alone
(CABINET_LEAN_QUERIES off), and the two answers must be equal: hypothesis-graphql's
generated queries (tests/test_fuzz.py's corpus) as a customer, an admin and a stranger; the
read side's documents as frontends send them at 10 and 500 bills. Signed document links
carry their expiry and `serverTime` moves on, so they are compared without those. Also: the walk really answers (it does
not give up on every document), and a document it cannot take still gets graphql-core's
exact partial answer and errors.
"""

from __future__ import annotations

import re
import uuid

import pytest

from bench.read_side_documents import DEBT_LOOKUP
from schema import execution
from services.demo import demo_load
from tests.callers import Caller, callers_make, post
from tests.test_fuzz import corpus
from tests.test_read_side import READ_SIDE_DOCUMENTS, _history

SIGNED_LINK = re.compile(r"(/documents/[a-z]+/\d+\?)[^\"']*")


def _comparable(body: object) -> object:
    text = SIGNED_LINK.sub(r"\1…", repr(body))
    text = re.sub(r"'serverTime': '[^']+'", "'serverTime': now", text)  # the clock moves on between runs
    return re.sub(r"'requestId': '[0-9a-f]+'|Код запиту: [0-9a-f]+", "request id", text)


async def _both(http, settings, caller: Caller, query: str, variables: dict | None = None):
    settings.lean_queries = True
    lean = await post(http, caller, query, variables)
    settings.lean_queries = False
    full = await post(http, caller, query, variables)
    settings.lean_queries = True
    return lean, full


@pytest.fixture
def walks(monkeypatch) -> list:
    """One entry per operation the walk answered itself (not handed to graphql-core)."""
    answered: list = []
    original = execution._Walk.root

    async def counted(self):
        data = await original(self)
        answered.append(self.executor.operation)
        return data

    monkeypatch.setattr(execution._Walk, "root", counted)
    return answered


async def test_generated_queries_answer_as_graphql_core_does(db, settings, http, walks):
    await demo_load(db, settings)
    world = await callers_make(db, settings)
    differences = []
    for query in corpus("query"):
        for caller in (world["customer"], world["admin"], world["anonymous"]):
            lean, full = await _both(http, settings, caller, query)
            if (lean.status, _comparable(lean.body)) != (full.status, _comparable(full.body)):
                differences.append((caller.name, query, lean.body, full.body))
    assert not differences, "\n".join(
        f"--- {w}\n{q[:800]}\nlean: {str(a)[:600]}\nfull: {str(b)[:600]}" for w, q, a, b in differences[:5]
    )
    # Most generated queries the walk answers itself (the rest it hands to graphql-core).
    assert len(walks) > len(corpus("query")), len(walks)


@pytest.mark.parametrize("bills", [10, 500])
async def test_the_read_side_documents_answer_as_graphql_core_does(db, settings, http, bills, walks):
    from resolvers.ids import global_id
    from services.demo import demo_basics
    from tests.callers import token_mint

    await demo_basics(db, settings)
    pa = await _history(db, bills)
    caller = Caller("customer", login="lysenko", token=await token_mint(db, settings, "lysenko"))
    variables = {"from": "1900-01-01", "first": 100, "id": global_id("PersonalAccount", pa)}
    for name, document in sorted(READ_SIDE_DOCUMENTS.items()):
        declared = {k: v for k, v in variables.items() if f"${k}" in document}
        lean, full = await _both(http, settings, caller, document, declared)
        assert lean.body.get("data") and "errors" not in lean.body, (name, lean.body)
        assert _comparable(lean.body) == _comparable(full.body), name
    # The walk answered every one itself (none was handed to graphql-core).
    assert len(walks) == len(READ_SIDE_DOCUMENTS), len(walks)


async def test_fields_guarded_by_permissions_are_walked_and_refused_as_before(db, settings, http, walks):
    # debtLookup (an aggregator's scope) and activationRequests (an admin's): the walk checks
    # the permission itself and answers; a refusal leaves the request to graphql-core, which
    # words it as ever (the same answer as with the walk off).
    from sqlalchemy import select

    from models import PersonalAccount, Res
    from services.api_clients import api_client_create
    from tests.callers import api_key_make, token_mint

    await demo_load(db, settings)
    async with db.transaction() as s:
        _, payments_only = await api_client_create(session=s, name="payments only", scopes=["payments:write"])
        code, number = (
            await s.execute(select(Res.code, PersonalAccount.number).join(Res, Res.id == PersonalAccount.res_id))
        ).first()
    variables = {"resCode": code, "number": number}
    admin_list = "{ activationRequests { totalCount } }"
    customer = Caller("customer", login="lysenko", token=await token_mint(db, settings, "lysenko"))
    allowed = [
        (Caller("aggregator", api_key=await api_key_make(db)), DEBT_LOOKUP, variables),
        (Caller("admin", login="admin", token=await token_mint(db, settings, "admin")), admin_list, None),
    ]
    refused = [
        (Caller("payments-only key", api_key=payments_only), DEBT_LOOKUP, variables, "FORBIDDEN"),
        (Caller("unknown key", api_key="not-a-key"), DEBT_LOOKUP, variables, "UNAUTHENTICATED"),
        (customer, DEBT_LOOKUP, variables, "FORBIDDEN"),
        (customer, admin_list, None, "FORBIDDEN"),
        (Caller("anonymous"), admin_list, None, "UNAUTHENTICATED"),
    ]
    for caller, query, declared in allowed:
        lean, full = await _both(http, settings, caller, query, declared)
        assert "errors" not in lean.body and lean.body == full.body, (caller.name, lean.body)
    assert len(walks) == len(allowed)
    for caller, query, declared, code in refused:
        lean, full = await _both(http, settings, caller, query, declared)
        assert _comparable(lean.body) == _comparable(full.body), caller.name
        assert lean.codes == {code}, (caller.name, lean.body)
    assert len(walks) == len(allowed)  # none of the refusals was answered by the walk


async def test_literal_arguments_kept_with_the_document_answer_each_caller(db, settings, http):
    # A document's literal arguments are converted once; the values they select are each
    # request's own.
    from tests.callers import token_mint

    await demo_load(db, settings)
    document = """{ viewer { personalAccounts { number
      bills(first: 2, categories: [ELECTRICITY], from: "2013-01-01") { totalCount edges { node { number amount } } }
      payments(from: "2013-01-01", categories: [ELECTRICITY]) { totalCount } } } }"""
    answers = []
    for login in ("lysenko", "zakharov", "lysenko"):
        caller = Caller(login, login=login, token=await token_mint(db, settings, login))
        lean, full = await _both(http, settings, caller, document)
        assert "errors" not in lean.body and _comparable(lean.body) == _comparable(full.body), login
        answers.append(lean.body["data"]["viewer"]["personalAccounts"])
    assert answers[0] == answers[2] != answers[1]


async def test_arguments_from_variables_are_converted_once_per_value(db, settings, http, monkeypatch):
    # Scalars and enums given by variables: converted once per value they take, whoever sends
    # them; each caller's answer is still its own and graphql-core's.
    from tests.callers import token_mint

    await demo_load(db, settings)
    conversions: list = []
    original = execution._Walk.convert

    def counted(self, raw, field):
        conversions.append(dict(raw))
        return original(self, raw, field)

    monkeypatch.setattr(execution._Walk, "convert", counted)
    document = """query($from: Date, $c: [ChargeCategory!]) { viewer { personalAccounts { number
      bills(from: $from, categories: $c) { totalCount } payments(from: $from) { totalCount } } } }"""
    a = {"from": f"2013-0{uuid.uuid4().int % 9 + 1}-01", "c": ["ELECTRICITY"]}
    b = {**a, "c": ["ELECTRICITY", "ACTS"]}
    answers = []
    for login, variables in (("lysenko", a), ("zakharov", a), ("lysenko", b), ("lysenko", a)):
        caller = Caller(login, login=login, token=await token_mint(db, settings, login))
        settings.lean_queries = False
        full = await post(http, caller, document, variables)
        settings.lean_queries = True
        lean = await post(http, caller, document, variables)
        assert "errors" not in lean.body and lean.body == full.body, login
        answers.append(lean.body["data"])
    assert answers[0] == answers[3] != answers[1]
    # bills with a, payments with a, bills with b: nothing more for the second and fourth caller.
    assert len(conversions) == 3, conversions


async def test_a_failing_field_gets_graphql_cores_partial_answer(db, settings, http):
    # An expired-looking token: viewer is null with UNAUTHENTICATED, the rest still answers.
    await demo_load(db, settings)
    caller = Caller("broken", token="not-a-token")
    lean, full = await _both(http, settings, caller, "{ terms { version } viewer { id } }")
    assert lean.body == full.body
    assert lean.body["data"]["terms"]["version"] and lean.body["data"]["viewer"] is None
    assert lean.body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# @skip/@include on variables: the walk keeps what it collects per value of those variables.
DIRECTIVES = """query($withDebt: Boolean!, $noBills: Boolean!) { viewer { personalAccounts {
  number debt @include(if: $withDebt) { total }
  bills(first: 2) @skip(if: $noBills) { totalCount }
  ... on PersonalAccount @include(if: $withDebt) { holderName } } } }"""


async def test_skip_and_include_on_variables_answer_per_value(db, settings, http):
    from tests.callers import token_mint

    await demo_load(db, settings)
    caller = Caller("customer", login="lysenko", token=await token_mint(db, settings, "lysenko"))
    seen = set()
    for with_debt, no_bills in [(True, False), (False, True), (True, True), (False, False), (True, False)]:
        variables = {"withDebt": with_debt, "noBills": no_bills}
        lean, full = await _both(http, settings, caller, DIRECTIVES, variables)
        assert _comparable(lean.body) == _comparable(full.body), variables
        account = lean.body["data"]["viewer"]["personalAccounts"][0]
        assert ("debt" in account) is with_debt and ("holderName" in account) is with_debt, account
        assert ("bills" in account) is not no_bills, account
        seen.add(tuple(sorted(account)))
    assert len(seen) == 4, seen


async def test_a_document_sent_again_is_not_collected_again(db, settings, http, monkeypatch):
    # Its fields are collected once per parsed operation (and per value of @include's
    # variables), whoever sends it next.
    from tests.callers import token_mint

    await demo_load(db, settings)
    collected = 0
    original = execution.collect_subfields

    def counted(*args, **kwargs):
        nonlocal collected
        collected += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(execution, "collect_subfields", counted)
    caller = Caller("customer", login="lysenko", token=await token_mint(db, settings, "lysenko"))
    other = Caller("other", login="zakharov", token=await token_mint(db, settings, "zakharov"))
    # Texts no earlier test of this process sent (a comment makes another parsed document).
    fresh = f"# {uuid.uuid4()}\n"
    directives = fresh + DIRECTIVES
    document = fresh + READ_SIDE_DOCUMENTS["main screen as Apollo sends it"]
    counts = []
    for who, variables in [
        (caller, {"withDebt": True, "noBills": False}),
        (other, {"withDebt": True, "noBills": False}),
        (caller, {"withDebt": False, "noBills": False}),
        (other, {"withDebt": False, "noBills": False}),
    ]:
        before = collected
        answer = await post(http, who, directives, variables)
        assert answer.body["data"]["viewer"]["personalAccounts"], answer.body
        counts.append(collected - before)
    assert counts[0] > 0 and counts[1] == 0 and counts[2] > 0 and counts[3] == 0, counts
    # Apollo's main screen (fragments, __typename): collected on its first request only.
    counts = []
    for who in (caller, other, caller):
        before = collected
        answer = await post(http, who, document)
        assert answer.body["data"]["viewer"]["personalAccounts"] and "errors" not in answer.body, answer.body
        counts.append(collected - before)
    assert counts[0] > 0 and counts[1:] == [0, 0], counts


async def test_siblings_that_wait_on_a_loader_still_batch(db, settings, http, statements):
    # Resolvers start at once; those that wait on a DataLoader's batch wait together, so
    # three bills by node read their lines in the same statements as one bill does.
    from tests.callers import token_mint

    await demo_load(db, settings)
    caller = Caller("customer", login="lysenko", token=await token_mint(db, settings, "lysenko"))
    listed = await post(
        http,
        caller,
        '{ viewer { personalAccounts { bills(first: 50, from: "1900-01-01") { edges { node { id lines { amount } } } } } } }',
    )
    edges = listed.body["data"]["viewer"]["personalAccounts"][0]["bills"]["edges"]
    ids = [edge["node"]["id"] for edge in edges if edge["node"]["lines"]][:3]
    assert len(ids) == 3, listed.body
    selection = "... on Bill { number lines { amount } }"
    one = f"query($a: ID!) {{ a: node(id: $a) {{ {selection} }} }}"
    three = (
        f"query($a: ID!, $b: ID!, $c: ID!) {{ {' '.join(f'{k}: node(id: ${k}) {{ {selection} }}' for k in 'abc')} }}"
    )
    with statements() as alone:
        answer = await post(http, caller, one, {"a": ids[0]})
    assert answer.body["data"]["a"]["lines"], answer.body
    with statements() as together:
        answer = await post(http, caller, three, dict(zip("abc", ids, strict=True)))
    assert all(answer.body["data"][k]["lines"] for k in "abc"), answer.body
    assert len(together.statements) == len(alone.statements), (alone.statements, together.statements)
