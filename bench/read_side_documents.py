"""The read side's documents as frontends send them, in one place: `make bench` measures them
(bench/run.py) and the tests count their statements and compare their answers
(tests/test_read_side.py, tests/test_lean_queries.py), so both hold the very same texts.

The README's main screen, the same screen as Apollo Client sends it (__typename everywhere,
fragments, another field order), the bills tab paged by cursor, the payments of a period, the
readings tab, a small "mobile" selection, and one personal account by node id; and the
aggregator's debt lookup (an API key, not a person's token, so not among the read side's).
"""

from __future__ import annotations

MAIN_SCREEN = """query($from: Date, $first: Int) { viewer { personalAccounts {
  id number holderName address
  lastReading { takenOn values { zone value consumption } }
  meter { serialNumber digits zones }
  debt { total categories { category amount } }
  bills(categories: [ELECTRICITY], from: $from, first: $first) {
    totalCount totalAmount period { from to } pageInfo { hasNextPage endCursor }
    edges { cursor node { id number issuedOn periodStart periodEnd amount status amountDue dueOn
      lines { description block zone quantity unit price coefficient amount } } } }
  payments(categories: [ELECTRICITY], from: $from, first: $first) {
    totalCount totalAmount edges { node { paidOn amount channel } } }
  internetPayments(categories: [ELECTRICITY], from: $from, first: $first) {
    totalCount totalAmount edges { node { number amount status confirmedAt } } }
} } }"""

APOLLO_MAIN_SCREEN = """query MainScreen($from: Date, $first: Int) {
  viewer { __typename id personalAccounts { __typename ...AccountHeader
    debt { __typename categories { __typename amount category } total }
    bills(categories: [ELECTRICITY], from: $from, first: $first) { __typename ...BillPage }
    payments(categories: [ELECTRICITY], from: $from, first: $first) {
      __typename totalAmount totalCount edges { __typename node { __typename id channel amount paidOn } } }
    internetPayments(categories: [ELECTRICITY], from: $from, first: $first) {
      __typename totalCount totalAmount edges { __typename node { __typename id status number amount confirmedAt } } }
  } } }
fragment AccountHeader on PersonalAccount { id address holderName number
  meter { __typename zones digits serialNumber }
  lastReading { __typename id takenOn values { __typename zone value consumption } } }
fragment BillPage on BillConnection { totalAmount totalCount period { __typename from to }
  pageInfo { __typename endCursor hasNextPage }
  edges { __typename cursor node { __typename id number amount amountDue status issuedOn dueOn periodStart periodEnd
    lines { __typename amount coefficient price unit quantity zone block description } } } }"""
BILLS_TAB = """query Bills($after: String) { viewer { personalAccounts { id bills(first: 20, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id number amount status amountDue
  lines { description amount } } } } } } }"""
PAYMENTS_OF_A_PERIOD = """query Payments { viewer { personalAccounts { id
  payments(from: "1900-01-01", to: "2100-01-01") { totalCount totalAmount edges { node { id paidOn amount channel category } } }
  internetPayments(from: "1900-01-01") { totalCount edges { node { id number amount status createdAt } } } } } }"""
READINGS_TAB = """query Readings { viewer { personalAccounts { id meter { serialNumber digits zones }
  readings(first: 20) { totalCount edges { node { id takenOn values { zone value consumption } } } }
  monthlyConsumption { month kwh amount } } } }"""
MOBILE = "query Mobile { viewer { personalAccounts { id number debt { total } } } }"
BY_NODE = """query Node($id: ID!) { node(id: $id) { __typename id ... on PersonalAccount { number holderName
  debt { total } lastReading { takenOn } bills(first: 5) { totalCount edges { node { number amountDue lines { amount } } } } } } }"""
READ_SIDE_DOCUMENTS = {
    "main screen": MAIN_SCREEN,
    "main screen as Apollo sends it": APOLLO_MAIN_SCREEN,
    "bills tab": BILLS_TAB,
    "payments of a period": PAYMENTS_OF_A_PERIOD,
    "readings tab": READINGS_TAB,
    "mobile": MOBILE,
    "node": BY_NODE,
}

# The README's debtLookup with its two arguments as variables, as an aggregator's code sends it.
DEBT_LOOKUP = """query DebtLookup($resCode: String!, $number: String!) {
  debtLookup(resCode: $resCode, personalAccountNumber: $number) {
  ... on DebtLookup { holderName debt { total categories { category amount } } }
  ... on Error { code message } } }"""
