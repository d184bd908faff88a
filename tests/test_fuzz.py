"""Fuzzing the live app as four callers; afterwards the money invariants hold.

Three parts, each on the demo's data (demo_load, business date 2014-05-26):

- Generated operations. hypothesis-graphql writes queries and mutations from
  schema.graphql (CABINET_FUZZ_EXAMPLES of each, 150 by default, spread evenly
  over the root fields, plus some with several root fields and a tenth with a
  deliberate schema violation). The project's scalars and the built-in ones
  are steered towards the demo's values (real and foreign global IDs, dates
  around the business date, the demo's logins and numbers) and its odd ones
  (NUL, "2014-02-30", "NaN", 10^16). Each operation is POSTed through the ASGI
  app as an anonymous client, as customer lysenko (Bearer), as the admin and
  as an aggregator with both scopes (ApiKey). Then hypothesis draws a run of
  writes that mostly get through: aggregator posts with replays and conflicts,
  card payments started and called back by the bank (duplicates, reversals,
  forgeries, wrong amounts) and meter readings.
- Hand-written odd inputs: malformed and oversized IDs, 100k-character
  strings, bad dates and decimals, huge ints, negative `first`, nested lists,
  subscriptions over POST, not-GraphQL. All are refused and nothing changes.
- Extreme but well-formed evidence amounts.

Every answer is held to the error policy (callers.problems_of): never a 5xx,
never INTERNAL_SERVER_ERROR (an unexpected exception), no uncoded error from
execution, nothing that reads like an exception. Then, by SQL against the
API: debt = issued bills − payments per personal account and category, one
bill per reading, one credit per internet payment (reversals aside) and per
aggregator transaction.

How hypothesis meets the session event loop: nothing generated depends on the
app's answers, so values are drawn first, synchronously, by a `@given`
function with a fixed `@seed` and only the generate phase (no shrinking, no
example database), then sent from the async test. That keeps hypothesis off
the event loop (no nested loops, no function-scoped-fixture health check) and
CI repeatable: the same seed gives the same operations on every run. A
failure lists every offending operation with its answer instead of shrinking.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import os
from collections import Counter
from decimal import Decimal

import graphql
import hypothesis_graphql
import pytest
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from sqlalchemy import text

from resolvers.ids import global_id
from schema import SCHEMA_FILE
from services.demo import DEMO_PASSWORD, TERMS_VERSION, demo_load
from tests.callers import Caller, callers_make, post, token_mint

EXAMPLES = int(os.environ.get("CABINET_FUZZ_EXAMPLES", "150"))
SEED = 20140526
NODE_TYPES = (
    "Account",
    "PersonalAccount",
    "Bill",
    "Payment",
    "InternetPayment",
    "MeterReading",
    "ActivationRequest",
    "RepaymentSchedule",
    "ViolationAct",
)
CATEGORIES = ("ELECTRICITY", "ELECTRICITY_SCHEDULE", "ACTS", "ACTS_SCHEDULE", "SERVICES")

# Values the demo knows, so generated operations sometimes get past the first check.
KNOWN_STRINGS = (
    "lysenko",
    "zakharov",
    "admin",
    "LYSENKO",
    "0101",
    "0102",
    "9999",
    "0101010",
    "0101020",
    "0101030",
    "01010100",
    "01010300",
    TERMS_VERSION,
    DEMO_PASSWORD,
    "a-new-password-1",
    "lysenko@demo.uens.example",
    "https://cabinet.test/payments/result",
    "https://evil.example/",
    "T-1",
    "T-2",
    "",
    " ",
    "\x00",
    "'; DROP TABLE bill; --",
    "%",
    "_",
    "\\",
    "Лысенко",
    "e\u0301",
    "\U0001f600",
    "x" * 300,
)
MALFORMED_IDS = (
    "",
    "!!",
    "=",
    "bm90LWEtaWQ",
    "QmlsbDo",
    "QmlsbDotMQ",
    "QmlsbDoxZTU",
    "UGVyc29uYWxBY2NvdW50Ojk5OTk5OTk5OTk5OTk5OTk5OTk5",
    "x" * 500,
)


def _ids() -> st.SearchStrategy[str]:
    """Well-formed IDs of every type over the demo's first rows (the customer's, others', missing ones)
    and malformed ones."""
    return st.one_of(
        st.builds(global_id, st.sampled_from(NODE_TYPES), st.integers(1, 120)),
        st.builds(global_id, st.sampled_from(("Res", "Tariff", "Nothing")), st.integers(0, 3)),
        st.sampled_from(MALFORMED_IDS),
        st.text(max_size=20),
    )


def _dates() -> st.SearchStrategy[str]:
    return st.one_of(
        # Around the business date, where readings and periods mean something.
        st.dates(dt.date(2014, 4, 1), dt.date(2014, 6, 30)).map(dt.date.isoformat),
        st.dates(dt.date(2012, 1, 1), dt.date(2015, 12, 31)).map(dt.date.isoformat),
        st.dates().map(dt.date.isoformat),
        st.sampled_from(["2014-02-30", "", "yesterday", "2014-5-6", "20140526", "2014-05-26T00:00", "0000-01-01"]),
    )


def _datetimes() -> st.SearchStrategy[str]:
    return st.one_of(
        st.datetimes(dt.datetime(2012, 1, 1), dt.datetime(2015, 12, 31), timezones=st.timezones()).map(
            dt.datetime.isoformat
        ),
        st.sampled_from(
            [
                "2014-05-26T10:00:00+03:00",
                "2014-05-26T10:00:00",
                "2014-05-26",
                "now",
                "0001-01-01T00:00:00+14:00",
                "9999-12-31T23:59:59-12:00",
                "2014-05-26T10:00:00Z",
            ]
        ),
    )


AMOUNTS = st.decimals(Decimal("-100"), Decimal("2000"), places=2).map(lambda d: format(d, "f"))
ODD_AMOUNTS = (
    "0.01",
    "10.00",
    "55.63",
    "1870.54",
    "100000.00",
    "100000.01",
    "0",
    "-5.00",
    "0.001",
    "999999999999999.99999999",
    "-999999999999999",
    "NaN",
    "Infinity",
    "1e5",
    "1,5",
    " 1.00",
    "",
)


def _decimals() -> st.SearchStrategy[graphql.ValueNode]:
    text_values = st.one_of(AMOUNTS, st.sampled_from(ODD_AMOUNTS))
    return st.one_of(text_values.map(nodes.String), st.integers(-(10**16), 10**16).map(nodes.Int))


def _strings() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(KNOWN_STRINGS), st.text(max_size=40))


def _ints() -> st.SearchStrategy[int]:
    return st.one_of(
        st.sampled_from([0, 1, -1, 10, 100, 101, 48200, 48500, 99999, 100000, 2**31 - 1, -(2**31)]),
        st.integers(48000, 49500),
        st.integers(-(2**31), 2**31 - 1),
    )


def custom_scalars() -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """The project's scalars, and the built-in ones steered towards the demo's values."""
    return {
        "ID": _ids().map(nodes.String),
        "String": _strings().map(nodes.String),
        "Int": _ints().map(nodes.Int),
        "Date": _dates().map(nodes.String),
        "DateTime": _datetimes().map(nodes.String),
        "Decimal": _decimals(),
    }


def examples(strategy: st.SearchStrategy, count: int, at: int) -> list:
    """`count` values drawn by hypothesis from `strategy`, the same ones on every run."""
    drawn: list = []

    @seed(at)
    @hypothesis_settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value) -> None:
        drawn.append(value)

    collect()
    return drawn


@functools.cache
def corpus(kind: str) -> tuple[str, ...]:
    """EXAMPLES operations of `kind` spread evenly over the root fields (one field each, so a
    top-level error in one field does not hide the others), a few with several root fields, and
    a tenth with one deliberate schema violation (for the parser and the validator)."""
    sdl = SCHEMA_FILE.read_text(encoding="utf-8")
    schema = graphql.build_schema(sdl)
    root = schema.query_type if kind == "query" else schema.mutation_type
    make = hypothesis_graphql.queries if kind == "query" else hypothesis_graphql.mutations
    scalars = custom_scalars()
    fields = sorted(root.fields)
    each = max(EXAMPLES // len(fields), 1)
    drawn: list[str] = []
    for i, name in enumerate(fields):
        drawn += examples(make(schema, fields=[name], custom_scalars=scalars), each, SEED + i)
    drawn += examples(make(schema, custom_scalars=scalars), max(EXAMPLES - len(drawn), 1), SEED - 1)
    drawn += examples(
        make(schema, custom_scalars=scalars, mode=hypothesis_graphql.Mode.NEGATIVE), max(EXAMPLES // 10, 1), SEED - 2
    )
    return tuple(drawn)


@pytest.fixture
async def world(db, settings):
    await demo_load(db, settings)
    return await callers_make(db, settings)


async def send(http, db, settings, caller: Caller, query: str, variables: dict | None = None):
    answer = await post(http, caller, query, variables)
    if caller.login and "UNAUTHENTICATED" in answer.codes:
        # The operation itself ended the session (tokenRevoke, a password change):
        # sign in again for the next one.
        caller.token = await token_mint(db, settings, caller.login)
    return answer


def report(failures: list[tuple[str, str, dict | None, list[str]]]) -> str:
    lines = [f"{len(failures)} operations broke the error policy; the first ones:"]
    for who, query, variables, problems in failures[:8]:
        lines += [f"--- as {who}: {problems}", query[:1500], f"variables: {str(variables)[:300]}"]
    return "\n".join(lines)


async def test_generated_operations_break_no_rule_and_no_invariant(world, http, db, settings):
    operations = corpus("query") + corpus("mutation")
    failures = []
    outcomes: Counter[str] = Counter()
    for operation in operations:
        for caller in world.values():
            answer = await send(http, db, settings, caller, operation)
            if answer.problems:
                failures.append((caller.name, operation, None, answer.problems))
            outcomes[_outcome(answer)] += 1
    assert not failures, report(failures)
    # The run reached the resolvers, not only the validator: many answers carry data.
    assert outcomes["data"] > len(operations), outcomes
    await steered_writes(world, http, db, settings)
    await invariants_check(http, db, settings)


def _outcome(answer) -> str:
    if answer.status != 200:
        return f"http {answer.status}"
    if answer.body and answer.body.get("data"):
        return "data"
    return "errors " + ",".join(sorted(str(c) for c in answer.codes))


# ---------------------------------------------------------------- steered writes

START = """mutation($input: PaymentStartInput!) { paymentStart(input: $input) { __typename
  ... on PaymentStartSuccess { payment { id status } checkout { fields { name value } } }
  ... on Error { code } } }"""
POST = """mutation($input: AggregatorPaymentPostInput!) { aggregatorPaymentPost(input: $input) { __typename
  ... on AggregatorPaymentPostSuccess { duplicate } ... on Error { code } } }"""
SUBMIT = """mutation($input: MeterReadingInput!) { meterReadingSubmit(input: $input) { __typename
  ... on MeterReadingSubmitSuccess { replayed bill { number amount } } ... on Error { code } } }"""
BANK_STATUSES = ("success", "success", "failure", "wait_secure", "reversed", "sandbox", "error", "processing")


def write_steps() -> st.SearchStrategy[tuple[str, dict]]:
    """One write at a time: mostly valid, near the edges, with replays and conflicts."""
    # Mostly lysenko's; then Petrenko's (nobody's), zakharov's and a missing one.
    account = st.sampled_from([0, 0, 0, 0, 1, 2, 3])
    amount = st.one_of(AMOUNTS, AMOUNTS, AMOUNTS, st.sampled_from(ODD_AMOUNTS))
    post = st.fixed_dictionaries(
        {
            "resCode": st.sampled_from(["0101", "0102"]),
            "personalAccountNumber": st.sampled_from(["0101010", "0101020", "0101030", "9999999"]),
            "category": st.sampled_from(CATEGORIES),
            "amount": amount,
            "transactionId": st.sampled_from([f"T-{i}" for i in range(8)]),
            "paidAt": st.one_of(
                st.datetimes(dt.datetime(2014, 5, 1), dt.datetime(2014, 5, 27), timezones=st.timezones()).map(
                    dt.datetime.isoformat
                ),
                st.sampled_from(["2014-05-26T10:00:00+03:00"]),
            ),
        }
    )
    start = st.fixed_dictionaries(
        {
            "who": st.sampled_from(["customer", "admin"]),
            "account": account,
            "bill": st.none() | st.integers(0, 80),
            "category": st.sampled_from((None, "ELECTRICITY", "ELECTRICITY", "ELECTRICITY") + CATEGORIES),
            "amount": amount,
            "idempotencyKey": st.sampled_from([f"K-{i}" for i in range(6)]),
        }
    )
    callback = st.fixed_dictionaries(
        {
            "payment": st.integers(0, 30),
            "status": st.sampled_from(BANK_STATUSES),
            "amount_off": st.sampled_from([0, 0, 0, 0, 1]),
            "forged": st.sampled_from([False, False, False, True]),
        }
    )
    reading = st.fixed_dictionaries(
        {
            "who": st.sampled_from(["customer", "admin"]),
            "account": account,
            "takenOn": st.dates(dt.date(2014, 4, 20), dt.date(2014, 5, 28)).map(dt.date.isoformat),
            "zone": st.sampled_from(["TOTAL", "TOTAL", "TOTAL", "DAY"]),
            "value": st.one_of(st.integers(48150, 49200), st.integers(0, 99999)),
        }
    )
    return st.one_of(
        post.map(lambda d: ("post", d)),
        start.map(lambda d: ("start", d)),
        callback.map(lambda d: ("callback", d)),
        reading.map(lambda d: ("reading", d)),
    )


async def steered_writes(world, http, db, settings) -> Counter:
    """Hypothesis-drawn writes that mostly get through: aggregator posts (replayed and conflicting),
    card payments started and called back by the bank (duplicates, reversals, forgeries, wrong
    amounts) and meter readings. Each answer is held to the error policy; the invariants follow."""
    from payments.liqpay import signed_pair
    from services.card_payments import liqpay_keys

    async with db.sessions() as s:
        accounts = [
            *(await s.execute(text("SELECT id FROM personal_account ORDER BY number"))).scalars(),
        ][:3] + [10**9]
        bills = {
            pa: list(
                (
                    await s.execute(text("SELECT id FROM bill WHERE personal_account_id = :pa ORDER BY id"), {"pa": pa})
                ).scalars()
            )
            for pa in accounts
        }
    forms: list[dict] = []
    failures, outcomes = [], Counter()
    for kind, step in examples(write_steps(), max(EXAMPLES, 40), SEED + 100):
        if kind == "callback":
            if not forms:
                continue
            form = forms[step["payment"] % len(forms)]
            message = {
                "version": 3,
                "public_key": form["public_key"],
                "action": "pay",
                "status": step["status"],
                "amount": float(Decimal(form["amount"]) + step["amount_off"]),
                "currency": "UAH",
                "order_id": form["order_id"],
                "payment_id": 900000 + len(outcomes),
                "end_date": 1401087600000,
            }
            data, signature = signed_pair(liqpay_keys(settings), message)
            response = await http.post(
                "/payments/liqpay/callback", data={"data": data, "signature": "forged" if step["forged"] else signature}
            )
            outcomes[f"callback {step['status']} {response.status_code}"] += 1
            if response.status_code >= 500:
                failures.append(("bank", "callback", message, [f"HTTP {response.status_code}"]))
            continue
        pa = accounts[step["account"]] if "account" in step else None
        caller = world[step.get("who", "aggregator")]
        if kind == "post":
            query, variables = POST, {"input": step}
        elif kind == "start":
            chosen = bills[pa][step["bill"] % len(bills[pa])] if step["bill"] is not None and bills.get(pa) else None
            variables = {
                "input": {
                    "personalAccountId": global_id("PersonalAccount", pa),
                    "amount": step["amount"],
                    "idempotencyKey": step["idempotencyKey"],
                    "category": step["category"],
                    "billId": global_id("Bill", chosen) if chosen else None,
                }
            }
            query = START
        else:
            query, variables = (
                SUBMIT,
                {
                    "input": {
                        "personalAccountId": global_id("PersonalAccount", pa),
                        "takenOn": step["takenOn"],
                        "values": [{"zone": step["zone"], "value": step["value"]}],
                    }
                },
            )
        answer = await send(http, db, settings, caller, query, variables)
        if answer.problems:
            failures.append((caller.name, query, variables, answer.problems))
        result = next(iter(((answer.body or {}).get("data") or {}).values()), None) or {}
        outcomes[f"{kind} {result.get('__typename')} {result.get('code', '')}".strip()] += 1
        checkout = result.get("checkout") if kind == "start" else None
        if checkout:
            fields = {f["name"]: f["value"] for f in checkout["fields"]}
            forms.append(json.loads(base64.b64decode(fields["data"])))
    assert not failures, report(failures)
    # The writes got through, not only refused: each kind succeeded at least once.
    for wanted in (
        "post AggregatorPaymentPostSuccess",
        "start PaymentStartSuccess",
        "reading MeterReadingSubmitSuccess",
        "callback success 200",
    ):
        assert outcomes[wanted], (wanted, outcomes)
    return outcomes


# ---------------------------------------------------------------- hand-written odd inputs


def odd_operations(pa_id: str, bill_id: str) -> list[tuple[str, dict]]:
    """Operations with inputs a careless or hostile client sends; every one must be refused cleanly."""
    huge = "я" * 100_000
    reading = """mutation($input: MeterReadingInput!) { meterReadingSubmit(input: $input) {
      __typename ... on Error { code message } } }"""
    preview = """query($input: MeterReadingInput!) { meterReadingPreview(input: $input) {
      __typename ... on Error { code message } } }"""
    start = """mutation($input: PaymentStartInput!) { paymentStart(input: $input) {
      __typename ... on Error { code message } } }"""
    post_ = """mutation($input: AggregatorPaymentPostInput!) { aggregatorPaymentPost(input: $input) {
      __typename ... on Error { code message } } }"""
    bills = """query($id: ID!, $from: Date, $to: Date, $first: Int, $after: String, $c: [ChargeCategory!]) {
      node(id: $id) { ... on PersonalAccount { bills(from: $from, to: $to, first: $first, after: $after, categories: $c) {
        totalCount } } } }"""
    node = "query($id: ID!) { node(id: $id) { id } }"
    registry = "query($from: Date, $to: Date, $first: Int) { aggregatorPayments(from: $from, to: $to, first: $first) { totalCount } }"
    lookup = """query($r: String!, $n: String!) { debtLookup(resCode: $r, personalAccountNumber: $n) { __typename } }"""
    register = """mutation($input: AccountRegisterInput!) { accountRegister(input: $input) {
      __typename ... on Error { code message } } }"""
    add = """mutation($input: PersonalAccountAddInput!) { personalAccountAdd(input: $input) {
      __typename ... on Error { code message } } }"""
    token = """mutation($l: String!, $p: String!) { tokenCreate(login: $l, password: $p) { __typename } }"""

    def reading_input(**changes):
        value = {"personalAccountId": pa_id, "takenOn": "2014-05-26", "values": [{"zone": "TOTAL", "value": 48500}]}
        return {"input": {**value, **changes}}

    def start_input(**changes):
        value = {"personalAccountId": pa_id, "category": "ELECTRICITY", "amount": "10.00", "idempotencyKey": "odd-1"}
        return {"input": {**value, **changes}}

    def post_input(**changes):
        value = {
            "resCode": "0101",
            "personalAccountNumber": "0101010",
            "category": "ELECTRICITY",
            "amount": "10.00",
            "transactionId": "odd-1",
            "paidAt": "2014-05-26T10:00:00+03:00",
        }
        return {"input": {**value, **changes}}

    def register_input(**changes):
        value = {
            "fullName": "Тест Тестович",
            "login": "odd-login",
            "email": "odd@example.com",
            "phones": [],
            "password": "a-long-password-1",
            "resCode": "0101",
            "personalAccountNumber": "0101020",
            "acceptedTermsVersion": "1999-01",
        }
        return {"input": {**value, **changes}}

    operations: list[tuple[str, dict]] = []
    # Malformed, foreign-looking and oversized IDs.
    for bad in MALFORMED_IDS + (huge, global_id("PersonalAccount", 10**17), global_id("Bill", 0)):
        operations += [
            (node, {"id": bad}),
            (reading, reading_input(personalAccountId=bad)),
            (preview, reading_input(personalAccountId=bad)),
            (start, start_input(personalAccountId=bad)),
            (start, start_input(billId=bad, category=None)),
            (bills, {"id": bad}),
        ]
    operations.append(("query { node(id: 12345678901234567890) { id } }", {}))
    # Bad dates, as variables and as literals.
    for bad in ("2014-02-30", "", "yesterday", "2014-13-01", "0000-00-00", "2014-05-26T00:00:00+03:00", huge):
        operations += [
            (reading, reading_input(takenOn=bad)),
            (preview, reading_input(takenOn=bad)),
            (bills, {"id": pa_id, "from": bad}),
            (bills, {"id": pa_id, "to": bad}),
            (registry, {"from": bad}),
            ('query { aggregatorPayments(from: "%s") { totalCount } }' % bad[:50], {}),
        ]
    # Extreme but real dates: the default period is a year before `to`.
    for extreme in ("0001-01-01", "0001-12-31", "9999-12-31", "2016-02-29"):
        operations += [
            (bills, {"id": pa_id, "to": extreme}),
            (bills, {"id": pa_id, "from": extreme}),
            (registry, {"to": extreme}),
            (registry, {"from": extreme}),
            (reading, reading_input(takenOn=extreme)),
            (preview, reading_input(takenOn=extreme)),
        ]
    # Bad decimals: malformed ones fail as input; well-formed amounts out of the rules are refused
    # by the payment rules (a wrong evidence amount is not refused: it waits for an admin).
    for bad in ("NaN", "1e5", "Infinity", "-Infinity", "1,5", "", " ", "0x10", "1" * 40, huge):
        operations += [
            (add, {"input": {"resCode": "0101", "personalAccountNumber": "0101020", "lastPaymentAmount": bad}}),
            (register, register_input(lastPaymentAmount=bad)),
        ]
    for bad in (
        "NaN",
        "1e5",
        "Infinity",
        "-Infinity",
        "1,5",
        "",
        " ",
        "0x10",
        "1.005",
        "-0.01",
        "0.00",
        "100000.01",
        "999999999999999.99",
        "-999999999999999.99999999",
        "1" * 40,
        huge,
    ):
        operations += [
            (start, start_input(amount=bad)),
            (post_, post_input(amount=bad, transactionId=f"odd-{len(operations)}")),
        ]
    # Bad date-times.
    operations += [(start, {"input": {**start_input()["input"], "amount": 10.5}}), (start, start_input(amount=True))]
    for bad in (
        "2014-05-26T10:00:00",
        "2014-05-26",
        "now",
        "",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-12:00",
        "2014-05-26T10:00:00+25:00",
        "2100-01-01T00:00:00+00:00",
    ):
        operations.append((post_, post_input(paidAt=bad, transactionId=f"odd-{len(operations)}")))
    # Huge ints, negative and over-large `first`, bad cursors, nested empty and null lists.
    operations += [
        (bills, {"id": pa_id, "first": 2**40}),
        (
            "query($id: ID!) { node(id: $id) { ... on PersonalAccount { bills(first: 1099511627776) { totalCount } } } }",
            {"id": pa_id},
        ),
        (bills, {"id": pa_id, "first": -1}),
        (bills, {"id": pa_id, "first": 101}),
        (bills, {"id": pa_id, "first": 0}),
        (bills, {"id": pa_id, "after": huge}),
        (bills, {"id": pa_id, "after": "\x00"}),
        (bills, {"id": pa_id, "c": []}),
        (bills, {"id": pa_id, "c": [[]]}),
        (bills, {"id": pa_id, "c": [None]}),
        (bills, {"id": pa_id, "c": ["NOT_A_CATEGORY"]}),
        (registry, {"first": -1}),
        (reading, reading_input(values=[])),
        (reading, reading_input(values=[[]])),
        (reading, reading_input(values=[{"zone": "TOTAL", "value": 2**40}])),
        (reading, reading_input(values=[{"zone": "TOTAL", "value": -1}])),
        (reading, reading_input(values=[{"zone": "TOTAL", "value": 48500}, {"zone": "TOTAL", "value": 48501}])),
        (reading, reading_input(values=[{"zone": "DAY", "value": 48500}, {"zone": "NIGHT", "value": 1}])),
        (reading, reading_input(values=None)),
        (preview, reading_input(values=[{"zone": "TOTAL", "value": 10**6}])),
        (
            'mutation { meterReadingSubmit(input: {personalAccountId: "x", takenOn: "2014-05-26", values: [[]]}) { __typename } }',
            {},
        ),
        ("query { activationRequests(first: -5) { totalCount } }", {}),
        ("query { activationRequests(first: 2147483648) { totalCount } }", {}),
        ("query { viewer { activationRequests(status: [[]]) { id } } }", {}),
        (register, register_input(phones=[huge])),
        (register, register_input(phones=[""] * 100)),
        (register, register_input(login=huge, fullName=huge, email=huge, password=huge)),
        (register, register_input(acceptedTermsVersion=TERMS_VERSION, email="\x00@example.com", login="\x00")),
        (register, register_input(resCode="\x00", personalAccountNumber="\x00")),
        (add, {"input": {"resCode": huge, "personalAccountNumber": huge, "meterSerialNumber": huge}}),
        (add, {"input": {"resCode": "0101", "personalAccountNumber": "0101020", "meterSerialNumber": "\x00"}}),
        (lookup, {"r": huge, "n": huge}),
        (lookup, {"r": "\x00", "n": "0101010\x00"}),
        (token, {"l": huge, "p": huge}),
        (token, {"l": "\x00", "p": "\x00"}),
        (start, start_input(idempotencyKey=huge)),
        (start, start_input(idempotencyKey="")),
        (start, start_input(returnUrl=huge)),
        (start, start_input(returnUrl="javascript:alert(1)")),
        (start, start_input(category="NOT_A_CATEGORY")),
        (start, start_input(billId=bill_id, category="SERVICES", amount="0.00")),
        (post_, post_input(transactionId=huge)),
        (post_, post_input(transactionId="")),
        (post_, post_input(transactionId="\x00")),
        (post_, post_input(resCode=huge, personalAccountNumber=huge)),
        (post_, post_input(personalAccountNumber="\x00")),
        ('mutation { tokenRevoke(refreshToken: "%s") { __typename } }' % ("r" * 5000), {}),
        ('mutation { passwordReset(token: "\\u0000", newPassword: "\\u0000") { __typename } }', {}),
        ('mutation { passwordResetRequest(loginOrEmail: "\\u0000") { __typename } }', {}),
        ('mutation { accountEmailConfirm(token: "\\u0000") { __typename } }', {}),
        ('mutation { accountMerge(login: "\\u0000", password: "\\u0000") { __typename } }', {}),
        ('mutation { activationApprove(id: "\\u0000") { __typename } }', {}),
        (
            'mutation { activationReject(id: "%s", reason: "%s") { __typename } }'
            % (global_id("ActivationRequest", 1), "r" * 100_000),
            {},
        ),
        ('mutation { accountUpdate(input: {phones: ["\\u0000"], email: "\\u0000"}) { __typename } }', {}),
        ('mutation { passwordChange(currentPassword: "x", newPassword: "%s") { __typename } }' % ("p" * 100_000), {}),
        # Not even GraphQL.
        ("{", {}),
        ("", {}),
        ("query { node(id: ) }", {}),
        ('subscription { internetPaymentUpdated(id: "x") { id } }', {}),
        ("query A { terms { version } } query B { terms { version } }", {}),
    ]
    return operations


ROW_COUNTS = """SELECT (SELECT count(*) FROM bill), (SELECT count(*) FROM payment),
  (SELECT count(*) FROM internet_payment), (SELECT count(*) FROM meter_reading),
  (SELECT count(*) FROM activation_request), (SELECT count(*) FROM account),
  (SELECT count(*) FROM aggregator_payment)"""


async def row_counts(db) -> tuple:
    async with db.sessions() as s:
        return tuple((await s.execute(text(ROW_COUNTS))).one())


async def test_odd_inputs_are_refused_cleanly_and_change_nothing(world, http, db, settings):
    async with db.sessions() as s:
        pa_pk = (await s.execute(text("SELECT id FROM personal_account WHERE number = '0101010'"))).scalar_one()
        bill_pk = (
            await s.execute(text("SELECT min(id) FROM bill WHERE personal_account_id = :pa"), {"pa": pa_pk})
        ).scalar_one()
    operations = odd_operations(global_id("PersonalAccount", pa_pk), global_id("Bill", bill_pk))
    before = await row_counts(db)
    failures, accepted = [], []
    for query, variables in operations:
        for caller in world.values():
            answer = await send(http, db, settings, caller, query, variables)
            if answer.problems:
                failures.append((caller.name, query, variables, answer.problems))
            payload = (answer.body or {}).get("data") or {}
            for value in payload.values():
                if isinstance(value, dict) and value.get("__typename", "").endswith("Success"):
                    accepted.append((caller.name, query[:80], str(variables)[:200]))
    assert not failures, report(failures)
    assert not accepted, accepted
    assert await row_counts(db) == before
    await invariants_check(http, db, settings)


async def test_refusals_say_what_was_wrong(world, http):
    """The refusals the odd inputs meet, one of each kind, as the client sees them."""
    customer = world["customer"]
    bills = "query($to: Date) { viewer { personalAccounts { bills(to: $to) { totalCount } } } }"
    # A variable or a literal its scalar refuses: BAD_USER_INPUT, naming the problem.
    literal = '{ viewer { personalAccounts { bills(to: "2014-02-30") { totalCount } } } }'
    for query, variables in ((bills, {"to": "2014-02-30"}), (literal, {})):
        answer = await post(http, customer, query, variables)
        [error] = answer.body["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT"} and "real date" in error["message"], error
    answer = await post(
        http,
        customer,
        'mutation { paymentStart(input: {personalAccountId: "x", amount: "NaN", '
        'idempotencyKey: "k", category: ELECTRICITY}) { __typename } }',
    )
    assert answer.body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    # NUL cannot be stored or compared by PostgreSQL: refused in variables and in literals.
    token = 'mutation($l: String!) { tokenCreate(login: $l, password: "x") { __typename } }'
    assert (await post(http, customer, token, {"l": "lysenko\x00"})).status == 400
    answer = await post(
        http, customer, 'mutation { tokenCreate(login: "lysenko\\u0000", password: "x") { __typename } }'
    )
    assert answer.body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}, answer.body
    # Subscriptions run over graphql-transport-ws only.
    answer = await post(http, customer, 'subscription { internetPaymentUpdated(id: "x") { id } }')
    assert answer.status == 400 and "WebSocket" in answer.text
    # The admin may name any personal account, so a missing one is NOT_FOUND there too.
    answer = await post(
        http,
        world["admin"],
        """mutation($input: PaymentStartInput!) { paymentStart(input: $input) {
        ... on ValidationError { code fields { path } } } }""",
        {
            "input": {
                "personalAccountId": global_id("PersonalAccount", 10**9),
                "category": "ELECTRICITY",
                "amount": "10.00",
                "idempotencyKey": "k",
            }
        },
    )
    assert answer.body["data"]["paymentStart"] == {
        "code": "NOT_FOUND",
        "fields": [{"path": ["input", "personalAccountId"]}],
    }


async def test_extreme_well_formed_evidence_breaks_no_rule(world, http, db, settings):
    """Evidence amounts are stored with the request: the largest a Decimal may carry, the most
    decimals, a negative one. Each one either waits for an admin or is refused, never a crash."""
    add = """mutation($input: PersonalAccountAddInput!) { personalAccountAdd(input: $input) {
      __typename ... on Error { code message } } }"""
    register = """mutation($input: AccountRegisterInput!) { accountRegister(input: $input) {
      __typename ... on Error { code message } } }"""
    failures = []
    for i, amount in enumerate(("999999999999999.99", "-999999999999999.99999999", "0.00000001", "123456789012.34")):
        login = f"extreme-{i}"
        operations = [
            (
                world["customer"],
                add,
                {
                    "input": {
                        "resCode": "0101",
                        "personalAccountNumber": "0101020",
                        "lastPaymentAmount": amount,
                        "meterSerialNumber": "x" * 10_000,
                    }
                },
            ),
            (
                world["admin"],
                add,
                {"input": {"resCode": "0101", "personalAccountNumber": "0101020", "lastPaymentAmount": amount}},
            ),
            (
                world["anonymous"],
                register,
                {
                    "input": {
                        "fullName": "Тест Тестович",
                        "login": login,
                        "email": f"{login}@example.com",
                        "phones": ["+380501234567"],
                        "password": "a-long-password-1",
                        "resCode": "0101",
                        "personalAccountNumber": "0101020",
                        "lastPaymentAmount": amount,
                        "acceptedTermsVersion": TERMS_VERSION,
                    }
                },
            ),
        ]
        for caller, query, variables in operations:
            answer = await send(http, db, settings, caller, query, variables)
            if answer.problems:
                failures.append((caller.name, query, variables, answer.problems))
    assert not failures, report(failures)
    await invariants_check(http, db, settings)


# ---------------------------------------------------------------- invariants

DEBT_BY_SQL = """
SELECT pa.id, c.category,
  coalesce((SELECT sum(b.amount) FROM bill b WHERE b.personal_account_id = pa.id AND b.category = c.category
            AND b.issued_on <= :today), 0)
  - coalesce((SELECT sum(p.amount) FROM payment p WHERE p.personal_account_id = pa.id AND p.category = c.category), 0)
FROM personal_account pa CROSS JOIN unnest(CAST(:categories AS text[])) AS c(category)
"""
DEBT_BY_API = """query($id: ID!) { node(id: $id) { ... on PersonalAccount {
  debt { total categories { category amount } } } } }"""


async def invariants_check(http, db, settings) -> None:
    """Debt = issued bills − payments per category; one bill per reading; one credit per source."""
    async with db.sessions() as s:
        expected: dict[int, dict[str, Decimal]] = {}
        for pa, category, amount in (
            await s.execute(text(DEBT_BY_SQL), {"today": settings.business_date, "categories": list(CATEGORIES)})
        ).all():
            expected.setdefault(pa, {})[category] = Decimal(amount)
        doubled_bills = (
            await s.execute(
                text("SELECT reading_id FROM bill WHERE reading_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1")
            )
        ).all()
        doubled_credits = (
            await s.execute(
                text(
                    "SELECT internet_payment_id FROM payment WHERE internet_payment_id IS NOT NULL"
                    " AND reverses_payment_id IS NULL GROUP BY 1 HAVING count(*) > 1"
                )
            )
        ).all()
        doubled_posts = (
            await s.execute(
                text(
                    "SELECT aggregator_payment_id FROM payment WHERE aggregator_payment_id IS NOT NULL"
                    " GROUP BY 1 HAVING count(*) > 1"
                )
            )
        ).all()
        # Each aggregator transaction (client, transaction id) is one post and one credit.
        uncredited_posts = (
            await s.execute(
                text(
                    "SELECT ap.id FROM aggregator_payment ap LEFT JOIN payment p ON p.aggregator_payment_id = ap.id"
                    " GROUP BY ap.id HAVING count(p.id) <> 1"
                )
            )
        ).all()
        doubled_transactions = (
            await s.execute(
                text("SELECT api_client_id, transaction_id FROM aggregator_payment GROUP BY 1, 2 HAVING count(*) > 1")
            )
        ).all()
    assert not doubled_bills and not doubled_credits and not doubled_posts
    assert not uncredited_posts and not doubled_transactions
    admin = Caller("admin", token=await token_mint(db, settings, "admin"))
    for pa, by_category in expected.items():
        answer = await post(http, admin, DEBT_BY_API, {"id": global_id("PersonalAccount", pa)})
        assert not answer.problems and "errors" not in answer.body, answer.body
        debt = answer.body["data"]["node"]["debt"]
        shown = {c["category"]: Decimal(c["amount"]) for c in debt["categories"]}
        assert shown == by_category, (pa, shown, by_category)
        assert Decimal(debt["total"]) == sum(by_category.values())
