"""What a query's selection needs read of the viewer's personal accounts, worked out from the
document before it runs: graphql-core's own field collection (fragments, aliases, @skip and
@include, type conditions), so `__typename`, field order and fragments change nothing.

`alone`: every field selected is answered from that one read (plain attributes, or resolvers
that take only what it reads), so the request needs no transaction around it.

What the selection needs is worked out once per parsed operation (`SelectionNeeds`, kept with
the walk's shapes); only the bills lists' windows, which take the request's arguments, are
worked out per request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from graphql import GraphQLInterfaceType, GraphQLObjectType, GraphQLUnionType, get_named_type
from graphql.execution.collect_fields import collect_fields, collect_subfields
from graphql.execution.values import get_argument_values
from strawberry.schema.schema_converter import GraphQLCoreConverter

from services.pagination import cursor_position, first_check
from services.viewer_records import LinesWindow, Needs

# The personal account's fields the read covers, and the parts each needs. The lists need
# the ledger besides their rows: with no `from`, their period depends on what is still owed.
PARTS = {
    "meter": ("meter",),
    "lastReading": ("last_reading",),
    "debt": ("debt",),
    "bills": ("ledger",),
    "payments": ("ledger",),
    "internetPayments": ("internet", "ledger"),
    "readings": ("readings", "ledger"),
    "monthlyConsumption": ("readings", "ledger", "tariff_starts"),
}
# Fields with a resolver that reads nothing from the database, or only what the read covers.
COVERED = {
    ("Query", "viewer"),
    ("Account", "personalAccounts"),
    ("Bill", "lines"),
    ("Bill", "pdfUrl"),
    ("InternetPayment", "receiptUrl"),
    ("BillConnection", "edges"),
    ("PaymentConnection", "edges"),
    ("InternetPaymentConnection", "edges"),
    ("MeterReadingConnection", "edges"),
    ("BillEdge", "cursor"),
    ("PaymentEdge", "cursor"),
    ("InternetPaymentEdge", "cursor"),
    ("MeterReadingEdge", "cursor"),
}


@dataclass
class SelectionNeeds:
    """What one operation's selection needs, whatever its arguments."""

    needs: set[str] = field(default_factory=set)
    # Per `lines` selected under a personal account's `bills`: that bills field (definition
    # and node), whose arguments give the window of bills whose lines are read.
    lines_under: list[tuple] = field(default_factory=list)
    alone: bool = True
    accounts: bool = False  # viewer { personalAccounts } is selected

    def result(self, windows: list[LinesWindow]) -> tuple[Needs, LinesWindow | None, bool]:
        needs = set(self.needs)
        if "ledger" in needs:
            needs.discard("debt")  # the ledger's allocation gives it
        if "readings" in needs:
            needs.discard("last_reading")
        window = None
        if windows:
            needs.add("lines")
            window = windows[0] if len(windows) == 1 else _merged(windows)
        return Needs(**{n: True for n in needs}), window, self.alone


def _merged(windows: list[LinesWindow]) -> LinesWindow:
    """Several bills lists with lines: one window around them (what it misses is read after)."""
    categories: set[str] | None = set()
    for w in windows:
        categories = None if categories is None or w.categories is None else categories | set(w.categories)
    starts = [w.start for w in windows]
    return LinesWindow(
        None if None in starts else min(starts),  # type: ignore[type-var]
        max(w.end for w in windows),
        tuple(sorted(categories)) if categories is not None else None,
        sum(w.limit for w in windows),
    )


def read_plan(executor, today: dt.date, shapes) -> tuple[Needs, LinesWindow | None, bool] | None:
    """The plan of a validated query (graphql-core's execution context), or None when it
    selects no personal accounts of the viewer or its arguments do not coerce. `shapes`: the
    operation's (schema/execution.py), where what its selection needs is kept."""
    try:
        selection = shapes.read
        if selection is None:
            selection = shapes.read = _selection_needs(executor)
        if not selection.accounts:
            return None
        variables = executor.variable_values
        windows = [_window(field_def, node, variables, today) for field_def, node in selection.lines_under]
    except Exception:  # noqa: BLE001  bad arguments and the like: the executor reports them
        return None
    return selection.result(windows)


def _selection_needs(executor) -> SelectionNeeds:
    walker = _Walker(executor)
    root = executor.schema.query_type
    grouped = collect_fields(
        executor.schema, executor.fragments, executor.variable_values, root, executor.operation
    ).grouped_field_set
    walker.fields(root, grouped, None)
    return walker.selection


class _Walker:
    def __init__(self, executor) -> None:
        self.executor = executor
        self.selection = SelectionNeeds()

    def fields(self, parent: GraphQLObjectType, grouped: dict, bills: tuple | None) -> None:
        for details in grouped.values():
            name = details[0].node.name.value
            if name == "__typename":
                continue
            field_def = parent.fields.get(name)
            definition = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF) if field_def else None
            if definition is None:
                self.selection.alone = False  # introspection
                continue
            below = bills
            if parent.name == "PersonalAccount" and name in PARTS:
                self.selection.needs.update(PARTS[name])
                if name == "bills":
                    below = (field_def, details[0])
            elif parent.name == "Account" and name == "personalAccounts":
                self.selection.accounts = True
            elif (parent.name, name) == ("Bill", "lines") and bills is not None:
                self.selection.lines_under.append(bills)
            elif (
                (parent.name, name) not in COVERED
                and definition.base_resolver is not None
                and not (parent.name == "Account" and not _has_object(field_def))
            ):
                self.selection.alone = False  # reads on its own (the account's plain fields aside)
            named = get_named_type(field_def.type)
            if isinstance(named, GraphQLObjectType):
                sub = collect_subfields(
                    self.executor.schema,
                    self.executor.fragments,
                    self.executor.variable_values,
                    self.executor.operation,
                    named,
                    details,
                ).grouped_field_set
                self.fields(named, sub, below)
            elif isinstance(named, (GraphQLInterfaceType, GraphQLUnionType)):
                self.selection.alone = False


def _window(field_def, node, variables, today: dt.date) -> LinesWindow:
    """The bills whose lines the read takes: those the list's page can show, whatever the
    start of its default period (which depends on what is owed)."""
    args = get_argument_values(field_def, node.node, variables)
    categories = args.get("categories")
    names = tuple(str(getattr(c, "value", c)) for c in categories) if categories is not None else None
    after = args.get("after")
    before = cursor_position(after, (today, 0)) if after is not None else None
    return LinesWindow(args.get("from"), args.get("to") or today, names, first_check(args.get("first")), before)


def _has_object(field_def) -> bool:
    return not hasattr(get_named_type(field_def.type), "serialize")
