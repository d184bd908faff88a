"""The Citus plan of docs/scaling.md checked against the statements the app really runs.

    .venv/bin/python scripts/shard_check.py STATEMENTS [--check docs/scaling.md]

STATEMENTS is what tests/conftest.py captured with CABINET_TEST_STATEMENT_LOG (JSON lines), or
a PostgreSQL log written with log_statement = 'all' and log_line_prefix = '%m [%p] <%a> '.
Each statement of the app's connections is parsed with pglast, grouped by its fingerprint
(its shape, whatever the values), and sorted by the plan's three lists of tables:
key-filtered, reference-only, coordinator-only, fan-out (or other: not a query on the app's
tables). Printed: one line per shape, then the totals. --check fails (exit 1) on a fan-out
shape the plan's "Statements that fan out, and why" does not list, and on a table of the
schema not in exactly one of the lists.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pglast import ast, enums, parse_sql, parser

# A line of the server's log with log_line_prefix = '%m [%p] <%a> ' (the time, the process,
# the connection's application_name), as tests/conftest.py sets it:
# "2026-12-06 22:30:00.123 UTC [1234] <cabinet> LOG:  statement: SELECT 1".
# A message that spans lines goes on in lines that begin with a tab.
LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[\d+\] <(?P<application>[^>]*)> "
    r"(?P<level>[A-Z]+):  (?P<message>.*)$"
)
# log_statement = 'all' says "statement: …" for a simple query and "execute <name>: …" for a
# prepared one (asyncpg prepares everything); "fetch from" is a portal read in parts.
STATEMENT_MESSAGE = re.compile(r"^(?:statement|execute (?:fetch from )?\S+): (?P<sql>.*)$", re.DOTALL)


def statements_of_log(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(application_name, statement) for each statement a PostgreSQL log (stderr format,
    log_statement = 'all') shows run, multi-line statements whole."""
    message: list[str] | None = None
    application = ""
    for line in lines:
        line = line.rstrip("\n")
        if message is not None and line.startswith("\t"):
            message.append(line[1:])
            continue
        if message is not None:
            yield from _statement_of(application, message)
            message = None
        match = LOG_LINE.match(line)
        # Only LOG lines: an ERROR's "STATEMENT:" repeats a statement already logged, and
        # "DETAIL:  parameters: …" are the values, not the statement's shape.
        if match and match["level"] == "LOG":
            message, application = [match["message"]], match["application"]
    if message is not None:
        yield from _statement_of(application, message)


def _statement_of(application: str, message: list[str]) -> Iterator[tuple[str, str]]:
    match = STATEMENT_MESSAGE.match("\n".join(message))
    if match:
        yield application, match["sql"]


# --- the plan: docs/scaling.md's lists -------------------------------------------------------

DISTRIBUTED, REFERENCE, EXCEPTIONS = "Distributed tables", "Reference tables", "Exceptions"
FAN_OUT_SECTION = "Statements that fan out, and why"
KEY = "personal_account_id"  # the distribution column; personal_account's own is its id


@dataclass(frozen=True)
class Plan:
    distributed: frozenset[str]
    reference: frozenset[str]
    coordinator: frozenset[str]  # the exceptions: they stay on the coordinator
    fan_out: dict[str, str]  # fingerprint -> the reason the document gives

    @property
    def tables(self) -> frozenset[str]:
        return self.distributed | self.reference | self.coordinator


def _section(text: str, title: str) -> str:
    if f"### {title}" not in text:
        return ""
    return text.split(f"### {title}", 1)[1].split("\n#", 1)[0]


def plan_of(text: str) -> Plan:
    """The three lists of tables and the fan-out entries ("- `fingerprint` …: reason")."""
    names = lambda title: frozenset(re.findall(r"^- (\w+)", _section(text, title), re.MULTILINE))
    fan_out = {
        m["fingerprint"]: m["reason"].strip()
        for m in re.finditer(
            r"^- `(?P<fingerprint>[0-9a-f]{16})`[^:\n]*:(?P<reason>.*(?:\n  .*)*)",
            _section(text, FAN_OUT_SECTION),
            re.MULTILINE,
        )
    }
    return Plan(names(DISTRIBUTED), names(REFERENCE), names(EXCEPTIONS), fan_out)


def placement_problems(plan: Plan, schema_tables: Iterable[str]) -> list[str]:
    """Every table of the schema in exactly one list, and no list naming a table that is not."""
    problems = []
    lists = {DISTRIBUTED: plan.distributed, REFERENCE: plan.reference, EXCEPTIONS: plan.coordinator}
    schema = set(schema_tables)
    for table in sorted(schema):
        placed = [title for title, tables in lists.items() if table in tables]
        if len(placed) != 1:
            problems.append(f"{table}: in {' and '.join(placed) if placed else 'no list'}")
    for table in sorted(plan.tables - schema):
        problems.append(f"{table}: listed but not a table of the schema")
    return problems


# --- one statement: which tables, and is every distributed one pinned to a key ---------------

KEY_FILTERED, REFERENCE_ONLY, COORDINATOR_ONLY, FAN_OUT = (
    "key-filtered",
    "reference-only",
    "coordinator-only",
    "fan-out",
)
OTHER = "other"  # utility statements, catalogue queries: not a query on the app's tables


@dataclass
class Verdict:
    kind: str  # SELECT, INSERT, UPDATE, DELETE, or the utility statement's node name
    tables: set[str] = field(default_factory=set)
    unpinned: list[str] = field(default_factory=list)  # why it fans out, one line a table

    def merge(self, other: Verdict) -> None:
        self.tables |= other.tables
        self.unpinned += other.unpinned

    def of(self, plan: Plan) -> str:
        tables = self.tables & plan.tables
        if not tables:
            return OTHER
        if tables & plan.distributed:
            return FAN_OUT if self.unpinned else KEY_FILTERED
        return REFERENCE_ONLY if tables <= plan.reference else COORDINATOR_ONLY


@dataclass
class Relation:
    """One FROM item: a table, or something derived (a CTE, a subquery, a function)."""

    table: str | None
    # A derived relation whose rows are all of pinned keys (a function of parameters, a
    # key-filtered subquery): joining a distributed table on it pins that table too.
    keyed: bool = False
    label: str = "a subquery"  # what a derived relation is called in a reason


@dataclass
class Scope:
    relations: dict[str, Relation] = field(default_factory=dict)
    pinned: set[str] = field(default_factory=set)  # aliases of distributed tables pinned to a key
    outer: Scope | None = None

    def find(self, alias: str) -> tuple[Scope, Relation] | None:
        scope: Scope | None = self
        while scope is not None:
            if alias in scope.relations:
                return scope, scope.relations[alias]
            scope = scope.outer
        return None


QUERIES = (ast.SelectStmt, ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt)
KIND = {ast.SelectStmt: "SELECT", ast.InsertStmt: "INSERT", ast.UpdateStmt: "UPDATE", ast.DeleteStmt: "DELETE"}


class Classifier:
    """Sorts one statement: the tables it touches, and each distributed one pinned or why not."""

    def __init__(self, plan: Plan, columns: dict[str, set[str]]) -> None:
        self.plan = plan
        self.columns = columns  # table -> its columns, to resolve an unqualified column

    def statement(self, sql: str) -> Verdict:
        verdict = Verdict("")
        for raw in parse_sql(sql):
            node = raw.stmt
            part = self.query(node, None, {}) if isinstance(node, QUERIES) else Verdict(type(node).__name__)
            verdict.kind = verdict.kind or part.kind
            verdict.merge(part)
        return verdict

    # A query: SELECT (with set operations), INSERT, UPDATE, DELETE, each with its CTEs.
    def query(self, node, outer: Scope | None, ctes: dict[str, Relation]) -> Verdict:
        verdict = Verdict(KIND[type(node)])
        ctes = dict(ctes)
        for cte in getattr(node.withClause, "ctes", None) or ():
            inner = self.query(cte.ctequery, outer, ctes)
            verdict.merge(inner)
            ctes[cte.ctename] = Relation(None, keyed=self.keyed(inner), label=f"the CTE {cte.ctename}")
        if isinstance(node, ast.SelectStmt) and node.op != enums.SetOperation.SETOP_NONE:
            verdict.merge(self.query(node.larg, outer, ctes))
            verdict.merge(self.query(node.rarg, outer, ctes))
            return verdict
        scope = Scope(outer=outer)
        conditions: list = []
        if isinstance(node, ast.InsertStmt):
            self.insert_target(node, verdict)
            if node.selectStmt is not None:
                verdict.merge(self.query(node.selectStmt, outer, ctes))
            self.sublinks(node.onConflictClause, scope, ctes, verdict)
            self.sublinks(node.returningClause, scope, ctes, verdict)
            return verdict
        if isinstance(node, ast.UpdateStmt | ast.DeleteStmt):
            self.from_item(node.relation, scope, ctes, conditions, verdict)
        items = node.usingClause if isinstance(node, ast.DeleteStmt) else node.fromClause
        for item in items or ():
            self.from_item(item, scope, ctes, conditions, verdict)
        conditions += conjuncts(node.whereClause)
        self.pin(scope, conditions, ctes)
        rest = [getattr(node, name, None) for name in ("targetList", "havingClause", "returningClause")]
        self.sublinks(rest, scope, ctes, verdict)
        self.sublinks(conditions, scope, ctes, verdict)
        for alias, relation in scope.relations.items():
            if relation.table in self.plan.distributed and alias not in scope.pinned:
                verdict.unpinned.append(self.why(alias, relation.table, scope, conditions))
        return verdict

    def why(self, alias: str, table: str, scope: Scope, conditions: list) -> str:
        """Why a distributed table is not pinned: its key comes from a table that is not (a
        login's links on the coordinator, say), it is joined to a pinned table on something
        else than the key (each such join needs the key added), or nothing restricts its key."""
        key = self.key_of(table)
        joined_off_key = set()
        for condition in conditions:
            columns = [c for c in (self.column(ref, scope) for ref in find(condition, "ColumnRef")) if c]
            mine = [(r, n) for (owner, r), n in columns if owner is scope and self.alias_of_relation(scope, r) == alias]
            others = [
                (owner, r, n) for (owner, r), n in columns if not (owner is scope and r is scope.relations[alias])
            ]
            if not mine or not others:
                continue
            for owner, other, column in others:
                name = other.table or other.label
                pinned = self.alias_of_relation(owner, other) in owner.pinned or other.keyed
                if any(n == key for _, n in mine) and not pinned:
                    if other.table in self.plan.distributed and column == self.key_of(other.table):
                        return f"{table}: co-located with {name}, which is not pinned itself"
                    return f"{table}: its {key} taken from {name}, which is not pinned"
                if pinned or other.table in self.plan.distributed:
                    joined_off_key.add(name)
        if joined_off_key:
            return f"{table}: joined to {', '.join(sorted(joined_off_key))} on another column than {key}"
        return f"{table}: no {key} filter"

    @staticmethod
    def alias_of_relation(scope: Scope, relation: Relation) -> str | None:
        return next((a for a, r in scope.relations.items() if r is relation), None)

    def keyed(self, verdict: Verdict) -> bool:
        """A subquery's rows are of pinned keys: every distributed table in it is pinned, or it
        reads no table at all (parameters made into rows)."""
        if verdict.unpinned:
            return False
        return bool(verdict.tables & self.plan.distributed) or not verdict.tables & self.plan.tables

    def key_of(self, table: str) -> str:
        return "id" if table == "personal_account" else KEY

    def insert_target(self, node, verdict: Verdict) -> None:
        table = node.relation.relname
        verdict.tables.add(table)
        if table not in self.plan.distributed:
            return
        columns = {target.name for target in node.cols or ()}
        # A new personal account takes its id from its sequence, which the coordinator
        # evaluates before it routes the row; every other row must name its account.
        if self.key_of(table) not in columns and table != "personal_account":
            verdict.unpinned.append(f"{table}: inserted without {KEY}")

    def from_item(self, item, scope: Scope, ctes: dict[str, Relation], conditions: list, verdict: Verdict) -> None:
        if isinstance(item, ast.RangeVar):
            name = str(item.relname)
            alias = str(item.alias.aliasname) if item.alias else name
            if item.schemaname is None and name in ctes:
                scope.relations[alias] = ctes[name]
            elif item.schemaname in (None, "public"):  # not pg_catalog's, information_schema's
                scope.relations[alias] = Relation(name)
                verdict.tables.add(name)
        elif isinstance(item, ast.JoinExpr):
            self.from_item(item.larg, scope, ctes, conditions, verdict)
            self.from_item(item.rarg, scope, ctes, conditions, verdict)
            conditions += conjuncts(item.quals)
        elif isinstance(item, ast.RangeSubselect):
            inner = self.query(item.subquery, scope if item.lateral else scope.outer, ctes)
            verdict.merge(inner)
            if item.alias:
                scope.relations[str(item.alias.aliasname)] = Relation(None, keyed=self.keyed(inner))
        elif isinstance(item, ast.RangeFunction) and item.alias:
            # unnest($1::bigint[]) and the like: rows made of parameters only.
            scope.relations[str(item.alias.aliasname)] = Relation(None, keyed=not any_column(item.functions))

    def pin(self, scope: Scope, conditions: list, ctes: dict[str, Relation]) -> None:
        """Mark the distributed tables the conditions pin, until nothing more changes: a key
        equal to parameters, or to the key of a table already pinned (a co-located join)."""
        changed = True
        while changed:
            changed = False
            for condition in conditions:
                for alias in self.pinned_by(condition, scope, ctes):
                    if alias not in scope.pinned:
                        scope.pinned.add(alias)
                        changed = True

    def pinned_by(self, condition, scope: Scope, ctes: dict[str, Relation]) -> Iterator[str]:
        if isinstance(condition, ast.A_Expr) and operator(condition) == "=":
            kind = condition.kind
            if kind == enums.A_Expr_Kind.AEXPR_OP:
                for key, value in ((condition.lexpr, condition.rexpr), (condition.rexpr, condition.lexpr)):
                    alias = self.key_alias(key, scope)
                    if alias and self.pins(value, scope, ctes):
                        yield alias
            elif kind in (enums.A_Expr_Kind.AEXPR_OP_ANY, enums.A_Expr_Kind.AEXPR_IN):
                alias = self.key_alias(condition.lexpr, scope)
                if alias and not any_column(condition.rexpr):
                    yield alias
        elif isinstance(condition, ast.SubLink) and condition.subLinkType == enums.SubLinkType.ANY_SUBLINK:
            alias = self.key_alias(condition.testexpr, scope)
            if alias and self.keyed(self.query(condition.subselect, scope, ctes)):
                yield alias

    def pins(self, value, scope: Scope, ctes: dict[str, Relation]) -> bool:
        if not any_column(value):
            return True  # parameters and constants
        if isinstance(value, ast.SubLink) and value.subLinkType == enums.SubLinkType.EXPR_SUBLINK:
            return self.keyed(self.query(value.subselect, scope, ctes))
        column = self.column(value, scope)
        if column is None:
            return False
        (owner, relation), name = column
        if relation.table is None:
            return relation.keyed
        alias = self.alias_of(value, scope)
        return relation.table in self.plan.distributed and name == self.key_of(relation.table) and alias in owner.pinned

    def key_alias(self, node, scope: Scope) -> str | None:
        """The alias of this level's distributed table whose key `node` is, if it is one."""
        column = self.column(node, scope)
        if column is None:
            return None
        (owner, relation), name = column
        if owner is not scope or relation.table not in self.plan.distributed or name != self.key_of(relation.table):
            return None
        return self.alias_of(node, scope)

    def column(self, node, scope: Scope) -> tuple[tuple[Scope, Relation], str] | None:
        while isinstance(node, ast.TypeCast):
            node = node.arg
        if not isinstance(node, ast.ColumnRef) or not all(isinstance(f, ast.String) for f in node.fields or ()):
            return None
        names = [f.sval for f in node.fields or ()]
        if len(names) == 2:
            found = scope.find(names[0])
            return (found, names[1]) if found else None
        if len(names) == 1:
            alias = self.alias_of(node, scope)
            found = scope.find(alias) if alias else None
            return (found, names[0]) if found else None
        return None

    def alias_of(self, node, scope: Scope) -> str | None:
        while isinstance(node, ast.TypeCast):
            node = node.arg
        names = [f.sval for f in node.fields or ()]
        if len(names) == 2:
            return names[0]
        # An unqualified column: the one relation of its level, or the one table having it.
        level: Scope | None = scope
        while level is not None:
            if len(level.relations) == 1:
                return next(iter(level.relations))
            having = [a for a, r in level.relations.items() if r.table and names[0] in self.columns.get(r.table, ())]
            if len(having) == 1:
                return having[0]
            level = level.outer
        return None

    def sublinks(self, nodes, scope: Scope, ctes: dict[str, Relation], verdict: Verdict) -> None:
        """Subqueries in expressions (EXISTS, IN, scalar), each a query of its own that sees
        this level's relations (a correlated subquery is pinned through them)."""
        for sublink in find(nodes, "SubLink"):
            verdict.merge(self.query(sublink.subselect, scope, ctes))


def conjuncts(node) -> list:
    """The parts of a condition joined by AND (each may pin a table on its own)."""

    if node is None:
        return []
    if isinstance(node, ast.BoolExpr) and node.boolop == enums.BoolExprType.AND_EXPR:
        return [part for arg in node.args or () for part in conjuncts(arg)]
    return [node]


def operator(node) -> str:
    return ".".join(getattr(name, "sval", "") for name in node.name or ())


def find(node, class_name: str, *, into_subqueries: bool = False) -> Iterator:
    """Nodes of a class under `node`, not looking inside what they contain (nor inside
    subqueries unless asked)."""

    if isinstance(node, list | tuple):
        for child in node:
            yield from find(child, class_name, into_subqueries=into_subqueries)
        return
    if not isinstance(node, ast.Node):
        return
    if type(node).__name__ == class_name:
        yield node
        return
    if not into_subqueries and isinstance(node, ast.SubLink | ast.SelectStmt):
        return
    for name in vars(type(node)).get("__slots__", ()):
        yield from find(getattr(node, name), class_name, into_subqueries=into_subqueries)


def any_column(node) -> bool:
    """Whether an expression refers to a column (else it is made of parameters and constants)."""
    return next(find(node, "ColumnRef", into_subqueries=True), None) is not None


# --- the captured statements, shapes and the report ------------------------------------------

APP = "cabinet"  # the application_name of the app's connections (db.create_engine)
# tests/conftest.py marks the statements a test sends itself on the app's engines (its setup,
# its checks) with this comment; they are not the app's.
TESTS_OWN = "/* tests */ "


def captured(path: Path) -> Iterator[tuple[str, str]]:
    """(application_name, statement) from tests/conftest.py's capture (JSON lines) or from a
    PostgreSQL log as the server wrote it."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        first = lines.readline()
        lines.seek(0)
        if first.startswith("{"):
            for line in lines:
                entry = json.loads(line)
                yield entry["application"], entry["sql"]
        else:
            yield from statements_of_log(lines)


@dataclass
class Shape:
    fingerprint: str
    sql: str  # the first statement of this shape seen, as an example
    verdict: Verdict
    seen: int = 0

    def describe(self, width: int = 100) -> str:
        text = " ".join(self.sql.split())
        tables = ", ".join(sorted(self.verdict.tables))
        text = f"{self.verdict.kind} {tables}: {text}" if tables else text
        return text if len(text) <= width else text[: width - 1] + "…"


def shapes_of(statements: Iterable[str], classifier: Classifier) -> tuple[dict[str, Shape], list[str]]:
    """The statements grouped by pglast's fingerprint (the same for any parameter values and
    any length of an IN list), each classified once; and the statements that do not parse."""
    shapes: dict[str, Shape] = {}
    unparsed: list[str] = []
    by_text: dict[str, str] = {}
    for sql in statements:
        fingerprint = by_text.get(sql)
        if fingerprint is None:
            try:
                fingerprint = parser.fingerprint(sql)
            except parser.ParseError:
                unparsed.append(sql)
                continue
            by_text[sql] = fingerprint
            if fingerprint not in shapes:
                shapes[fingerprint] = Shape(fingerprint, sql, classifier.statement(sql))
        shapes[fingerprint].seen += 1
    return shapes, unparsed


def schema_columns() -> dict[str, set[str]]:
    """The app's tables and their columns, from the SQLAlchemy models the migrations follow."""
    sys.path.insert(0, str(ROOT))
    from models import Base

    return {name: {column.name for column in table.columns} for name, table in Base.metadata.tables.items()}


ROOT = Path(__file__).resolve().parent.parent
ORDER = (KEY_FILTERED, REFERENCE_ONLY, COORDINATOR_ONLY, FAN_OUT, OTHER)


def origins_of(path: Path) -> dict[str, list[str]]:
    """fingerprint -> where in the app it was sent from, if tests/conftest.py wrote that down
    beside the capture (statements sent through SQLAlchemy only)."""
    beside = Path(f"{path}.origins.json")
    return json.loads(beside.read_text(encoding="utf-8")) if beside.exists() else {}


def report(shapes: dict[str, Shape], plan: Plan, others: int, origins: dict[str, list[str]]) -> list[str]:
    lines = [f"{'class':<17} {'count':>7}  {'fingerprint':<16}  shape"]
    ordered = sorted(shapes.values(), key=lambda s: (ORDER.index(s.verdict.of(plan)), -s.seen))
    for shape in ordered:
        verdict_class = shape.verdict.of(plan)
        if verdict_class == OTHER:
            continue
        lines.append(f"{verdict_class:<17} {shape.seen:>7}  {shape.fingerprint}  {shape.describe()}")
        if verdict_class == FAN_OUT:
            reason = plan.fan_out.get(shape.fingerprint, "NOT LISTED in the plan's fan-out section")
            lines.append(f"{'':<27}  why: {'; '.join(sorted(set(shape.verdict.unpinned)))}. Plan: {reason}")
            if shape.fingerprint in origins:
                lines.append(f"{'':<27}  from: {', '.join(origins[shape.fingerprint])}")
    lines.append("")
    for verdict_class in ORDER:
        chosen = [s for s in shapes.values() if s.verdict.of(plan) == verdict_class]
        lines.append(
            f"{verdict_class:<17} {len(chosen):>4} shapes {sum(s.seen for s in chosen):>8} statements"
            + (
                " (utility statements, catalogue queries: not a query on the app's tables)"
                if verdict_class == OTHER
                else ""
            )
        )
    lines.append(
        f"{'not the app’s':<17} {'':>4}        {others:>8} statements (the tests' own: their connections, their statements)"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    arguments.add_argument("statements", type=Path, help="tests/conftest.py's capture, or a PostgreSQL log")
    arguments.add_argument(
        "--plan", type=Path, default=ROOT / "docs" / "scaling.md", help="the plan to read the lists from"
    )
    arguments.add_argument("--check", type=Path, metavar="PLAN", help="fail unless PLAN lists every fan-out shape")
    arguments.add_argument("--all-connections", action="store_true", help="not only the app's connections")
    args = arguments.parse_args(argv)
    plan = plan_of((args.check or args.plan).read_text(encoding="utf-8"))
    columns = schema_columns()
    others = 0

    def the_apps() -> Iterator[str]:
        nonlocal others
        for application, sql in captured(args.statements):
            if args.all_connections or (application == APP and not sql.startswith(TESTS_OWN)):
                yield sql
            else:
                others += 1

    shapes, unparsed = shapes_of(the_apps(), Classifier(plan, columns))
    print("\n".join(report(shapes, plan, others, origins_of(args.statements))))
    problems = [f"table {p}" for p in placement_problems(plan, columns)]
    problems += [f"does not parse: {' '.join(sql.split())[:100]}" for sql in unparsed]
    if args.check:
        problems += [
            f"fan-out shape {s.fingerprint} is not in the plan's “{FAN_OUT_SECTION}”: {s.describe()}"
            for s in shapes.values()
            if s.verdict.of(plan) == FAN_OUT and s.fingerprint not in plan.fan_out
        ]
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
