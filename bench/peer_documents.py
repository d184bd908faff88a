"""PostGraphile's equivalents of the measured documents (bench/read_side_documents.py), against
its own schema of the same tables plus bench/postgraphile/schema.sql's computed columns (debt,
a bill's status and amount due, a card payment's Kyiv date, the monthly consumption).

Each asks for the same data as the app's document. PostGraphile checks no token: it is given
the personal account's id (and the aggregator's RES code and number), and the period's dates
as variables, since it has no business date of its own. Apollo's version adds `__typename` to
every selection and `nodeId`, its ids, where Apollo's document asks for `id`.
"""

from __future__ import annotations

# Filters of the main screen's lists: the ELECTRICITY tab of the period.
_BILLS = """billsByPersonalAccountId(first: 100, orderBy: [ISSUED_ON_DESC, NUMBER_DESC],
      filter: {category: {equalTo: "ELECTRICITY"}, issuedOn: {greaterThanOrEqualTo: $from, lessThanOrEqualTo: $to}})"""
_PAYMENTS = """paymentsByPersonalAccountId(first: 100, orderBy: [PAID_ON_DESC, ID_DESC],
      filter: {category: {equalTo: "ELECTRICITY"}, paidOn: {greaterThanOrEqualTo: $from, lessThanOrEqualTo: $to}})"""
_CARD = """internetPaymentsByPersonalAccountId(first: 100, orderBy: [CREATED_AT_DESC, ID_DESC],
      filter: {category: {equalTo: "ELECTRICITY"}, kyivDate: {greaterThanOrEqualTo: $from, lessThanOrEqualTo: $to}})"""
_METER = "metersByPersonalAccountId(first: 1, condition: {removedOn: null}, orderBy: [INSTALLED_ON_DESC, ID_DESC])"
_LAST_READING = "meterReadingsByPersonalAccountId(first: 1, orderBy: [TAKEN_ON_DESC])"

MAIN_SCREEN = f"""query MainScreen($id: BigInt!, $from: Date!, $to: Date!) {{ personalAccountById(id: $id) {{
  id number holderName address
  lastReading: {_LAST_READING} {{ nodes {{ takenOn zones values consumptions }} }}
  meter: {_METER} {{ nodes {{ serialNumber digits zones }} }}
  debtTotal
  debts {{ nodes {{ category amount }} }}
  bills: {_BILLS} {{
    totalCount aggregates {{ sum {{ amount }} }} pageInfo {{ hasNextPage endCursor }}
    edges {{ cursor node {{ id number issuedOn periodStart periodEnd amount dueOn
      allocation {{ status amountDue }}
      lines: billLinesByBillId(orderBy: [POSITION_ASC]) {{ nodes {{ description block zone quantity unit price coefficient amount }} }} }} }} }}
  payments: {_PAYMENTS} {{
    totalCount aggregates {{ sum {{ amount }} }} nodes {{ paidOn amount channel }} }}
  internetPayments: {_CARD} {{
    totalCount aggregates {{ sum {{ amount }} }} nodes {{ number amount status confirmedAt }} }}
}} }}"""

APOLLO_MAIN_SCREEN = f"""query MainScreen($id: BigInt!, $from: Date!, $to: Date!) {{
  personalAccountById(id: $id) {{ __typename ...AccountHeader
    debtTotal debts {{ __typename nodes {{ __typename amount category }} }}
    bills: {_BILLS} {{ __typename ...BillPage }}
    payments: {_PAYMENTS} {{
      __typename totalCount aggregates {{ __typename sum {{ __typename amount }} }}
      nodes {{ __typename nodeId channel amount paidOn }} }}
    internetPayments: {_CARD} {{
      __typename totalCount aggregates {{ __typename sum {{ __typename amount }} }}
      nodes {{ __typename nodeId status number amount confirmedAt }} }}
  }} }}
fragment AccountHeader on PersonalAccount {{ nodeId id address holderName number
  meter: {_METER} {{ __typename nodes {{ __typename zones digits serialNumber }} }}
  lastReading: {_LAST_READING} {{ __typename nodes {{ __typename nodeId takenOn zones values consumptions }} }} }}
fragment BillPage on BillsConnection {{ totalCount aggregates {{ __typename sum {{ __typename amount }} }}
  pageInfo {{ __typename endCursor hasNextPage }}
  edges {{ __typename cursor node {{ __typename nodeId id number amount issuedOn dueOn periodStart periodEnd
    allocation {{ __typename status amountDue }}
    lines: billLinesByBillId(orderBy: [POSITION_ASC]) {{ __typename nodes {{ __typename amount coefficient price unit quantity zone block description }} }} }} }} }}"""

BILLS_TAB = """query Bills($id: BigInt!, $from: Date!, $to: Date!, $after: Cursor) { personalAccountById(id: $id) { id
  bills: billsByPersonalAccountId(first: 20, after: $after, orderBy: [ISSUED_ON_DESC, NUMBER_DESC],
      filter: {issuedOn: {greaterThanOrEqualTo: $from, lessThanOrEqualTo: $to}}) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id number amount allocation { status amountDue }
      lines: billLinesByBillId(orderBy: [POSITION_ASC]) { nodes { description amount } } } } } } }"""

PAYMENTS_OF_A_PERIOD = """query Payments($id: BigInt!, $to: Date!) { personalAccountById(id: $id) { id
  payments: paymentsByPersonalAccountId(first: 100, orderBy: [PAID_ON_DESC, ID_DESC],
      filter: {paidOn: {greaterThanOrEqualTo: "1900-01-01", lessThanOrEqualTo: "2100-01-01"}}) {
    totalCount aggregates { sum { amount } } nodes { id paidOn amount channel category } }
  internetPayments: internetPaymentsByPersonalAccountId(first: 100, orderBy: [CREATED_AT_DESC, ID_DESC],
      filter: {kyivDate: {greaterThanOrEqualTo: "1900-01-01", lessThanOrEqualTo: $to}}) {
    totalCount nodes { id number amount status createdAt } } } }"""

READINGS_TAB = f"""query Readings($id: BigInt!, $from: Date!, $to: Date!) {{ personalAccountById(id: $id) {{ id
  meter: {_METER} {{ nodes {{ serialNumber digits zones }} }}
  readings: meterReadingsByPersonalAccountId(first: 20, orderBy: [TAKEN_ON_DESC],
      filter: {{takenOn: {{greaterThanOrEqualTo: $from, lessThanOrEqualTo: $to}}}}) {{
    totalCount nodes {{ id takenOn zones values consumptions }} }}
  monthlyConsumption(since: $from, until: $to) {{ nodes {{ month kwh amount }} }} }} }}"""

MOBILE = "query Mobile($id: BigInt!) { personalAccountById(id: $id) { id number debtTotal } }"

DEBT_LOOKUP = """query DebtLookup($resCode: String!, $number: String!) { reByCode(code: $resCode) {
  personalAccountsByResId(condition: {number: $number}) { nodes { holderName debtTotal debts { nodes { category amount } } } } } }"""
