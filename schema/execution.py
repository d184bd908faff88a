"""A lean walk for queries, with graphql-core's executor behind it for everything else.

graphql-core spends a few microseconds of bookkeeping on every field (resolve info, paths,
error positions, awaitable checks, Strawberry's resolver wrapper); a main screen has some
700 fields, so that bookkeeping was most of a request. For a query, `QueryExecutionContext`
first walks the validated document itself: the same field collection as graphql-core
(`collect_fields`/`collect_subfields`: fragments, aliases, @skip/@include, type
conditions), the same argument coercion (graphql-core's, then Strawberry's conversion), the
same resolvers, and the same serialization of every leaf by its GraphQL type. A plain
attribute costs a getattr.

What the walk works out from the document alone (the fields collected per object, and per
field its attribute, serializer and definition) is kept per parsed operation
(`OperationShapes`), so a document sent again, by any client, costs none of it: the parser
cache gives the same text the same nodes, and a document with @skip/@include on variables is
kept per value of those variables.

A resolver's coroutine is started at once and, when it finishes without waiting (the read
ahead has primed the loaders, so on the read side it nearly always does), its value is used
there and then; only what really waits (a DataLoader's batch) becomes a task, so siblings
still batch into one statement.

The walk only takes the happy path. The first exception anywhere (a resolver's error, null in
a non-null field, a field with permission classes or extensions, @defer, introspection),
and it gives up; graphql-core's executor then runs the whole operation, with its exact error
semantics (null propagation, paths, the error policy). Queries change nothing, so running one
twice is safe, and the request's DataLoaders keep what the walk already read.
"""

from __future__ import annotations

import asyncio
import types
from collections import OrderedDict
from collections.abc import Awaitable, Generator
from typing import Any

from graphql import (
    ExecutionResult,
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    visit,
)
from graphql.execution.collect_fields import collect_fields, collect_subfields
from graphql.execution.values import get_argument_values
from graphql.language import DirectiveNode, Visitor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter, get_arguments

from resolvers.read_ahead import read_ahead
from schema.read_plan import read_plan


class _GiveUp(Exception):
    """The walk leaves this operation to graphql-core's executor."""


class OperationShapes:
    """What the walk worked out from one parsed operation: per object position, the fields
    collected (`subfields`, keyed by type and field nodes), and per collected set its plan."""

    __slots__ = ("operation", "read", "root", "subfields", "plans")

    def __init__(self, operation: OperationDefinitionNode) -> None:
        self.operation = operation  # held, so no other operation can take its id while kept
        self.read: Any = None  # what the selection needs read ahead (schema/read_plan.py)
        self.root: dict | None = None
        self.subfields: dict[tuple, dict] = {}
        self.plans: dict[int, list[tuple]] = {}


class _DirectiveVariables(Visitor):
    """The variables @skip and @include read: the collected fields change with their values."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        for argument in node.arguments or ():
            if isinstance(argument.value, VariableNode):
                self.names.add(argument.value.name.value)


class _ShapesCache:
    """The shapes of the last operations walked, per process (as the parser cache keeps
    their documents)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.kept: OrderedDict[tuple, OperationShapes] = OrderedDict()
        self.directive_variables: dict[int, tuple[OperationDefinitionNode, tuple[str, ...]]] = {}

    def of(self, executor: QueryExecutionContext) -> OperationShapes:
        operation = executor.operation
        if any(fragment.variable_signatures for fragment in executor.fragments.values()):
            return OperationShapes(operation)  # fragment arguments: their values are the spreads'
        names = self._directive_variables(executor)
        values = executor.variable_values.coerced
        key = (id(operation), *(values.get(name) for name in names))
        shapes = self.kept.get(key)
        if shapes is not None and shapes.operation is operation:
            self.kept.move_to_end(key)
            return shapes
        shapes = self.kept[key] = OperationShapes(operation)
        if len(self.kept) > self.size:
            self.kept.popitem(last=False)
        return shapes

    def _directive_variables(self, executor: QueryExecutionContext) -> tuple[str, ...]:
        operation = executor.operation
        known = self.directive_variables.get(id(operation))
        if known is not None and known[0] is operation:
            return known[1]
        found = _DirectiveVariables()
        visit(operation, found)
        for fragment in executor.fragments.values():
            visit(fragment.definition, found)
        names = tuple(sorted(found.names))
        if len(self.directive_variables) >= self.size:
            self.directive_variables.clear()
        self.directive_variables[id(operation)] = (operation, names)
        return names


SHAPES = _ShapesCache(512)


class _ResolverInfo:
    """What the project's resolvers read from `info`: the request context."""

    __slots__ = ("context",)

    def __init__(self, context: Any) -> None:
        self.context = context


class QueryExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def execute_operation(self, serially: bool | None = None) -> Any:
        context = self.context_value
        settings = getattr(context, "settings", None)
        if self.operation.operation is not OperationType.QUERY or not getattr(settings, "lean_queries", False):
            return super().execute_operation(serially)
        return self._walk_or_execute(serially)

    async def _walk_or_execute(self, serially: bool | None) -> Any:
        shapes = SHAPES.of(self)
        # What the selection needs of the viewer's personal accounts, read in one statement.
        plan = read_plan(self, self.context_value.settings.today(), shapes)
        if plan is not None:
            needs, window, alone = plan
            await read_ahead(self.context_value, needs, window, alone=alone)
        try:
            data = await _Walk(self, shapes).root()
        except Exception:  # noqa: BLE001 - any trouble: graphql-core answers it exactly
            result = super().execute_operation(serially)
            if self.is_awaitable(result):
                result = await result
            return result
        return self.finish(ExecutionResult(data=data, errors=None))


class _Walk:
    def __init__(self, executor: QueryExecutionContext, shapes: OperationShapes) -> None:
        self.executor = executor
        self.schema = executor.schema
        self.strawberry = self.schema._strawberry_schema
        self.info = _ResolverInfo(executor.context_value)
        self.shapes = shapes
        self.subfields = self.shapes.subfields
        self.plans = self.shapes.plans

    async def root(self) -> dict[str, Any]:
        root_type = self.schema.query_type
        if root_type is None:
            raise _GiveUp
        grouped = self.shapes.root
        if grouped is None:
            collected = collect_fields(
                self.schema, self.executor.fragments, self.executor.variable_values, root_type, self.executor.operation
            )
            if collected.new_defer_usages:
                raise _GiveUp
            grouped = self.shapes.root = collected.grouped_field_set
        data = self.fields(root_type, self.executor.root_value, grouped)
        return await data if _awaitable(data) else data

    def fields(self, parent_type: GraphQLObjectType, source: Any, grouped: dict) -> Any:
        """The object's answer, or a coroutine of it when a resolver below is asynchronous
        (no task for objects of plain values: most of a screen's objects)."""
        result: dict[str, Any] = {}
        pending: list[tuple[str, Awaitable]] = []
        try:
            for key, attribute, serialize, non_null, field_def, details in self.plan(parent_type, grouped):
                if attribute is not None:  # a plain attribute: by far the most fields
                    value = getattr(source, attribute)
                    if serialize is not None:
                        if value is None:
                            if non_null:
                                raise _GiveUp
                            result[key] = None
                        else:
                            result[key] = serialize(value)
                        continue
                elif field_def is None:
                    result[key] = parent_type.name  # __typename
                    continue
                else:
                    value = self.resolve(field_def, source, details[0])
                    if isinstance(value, types.CoroutineType):
                        value = _started(value)
                    if _awaitable(value):
                        result[key] = None  # keeps the selection's order; filled below
                        pending.append((key, self._resolved(field_def.type, value, details)))
                        continue
                completed = self.complete(field_def.type, value, details)
                if _awaitable(completed):
                    result[key] = None
                    pending.append((key, completed))
                else:
                    result[key] = completed
        except Exception as error:
            if pending:
                return _settled_then([awaitable for _, awaitable in pending], error)
            raise
        return self._filled(result, pending) if pending else result

    def plan(self, parent_type: GraphQLObjectType, grouped: dict) -> list[tuple]:
        """Per selected field, once per request: (key, attribute or None, leaf serializer or
        None, non-null, field definition, field details)."""
        plan = self.plans.get(id(grouped))
        if plan is not None:
            return plan
        plan = []
        for key, details in grouped.items():
            name = details[0].node.name.value
            if name == "__typename":
                plan.append((key, None, None, False, None, details))
                continue
            field_def = parent_type.fields.get(name)
            field = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF) if field_def else None
            if field is None or field.extensions or field.permission_classes:
                raise _GiveUp  # __schema and __type (introspection), or what guards a field
            return_type = field_def.type
            non_null = isinstance(return_type, GraphQLNonNull)
            named = return_type.of_type if non_null else return_type
            leaf = named.serialize if isinstance(named, (GraphQLScalarType, GraphQLEnumType)) else None
            attribute = field.python_name if field.base_resolver is None else None
            plan.append((key, attribute, leaf, non_null, field_def, details))
        self.plans[id(grouped)] = plan
        return plan

    async def _filled(self, result: dict[str, Any], pending: list[tuple[str, Awaitable]]) -> dict[str, Any]:
        if len(pending) == 1:
            key, awaitable = pending[0]
            result[key] = await awaitable
            return result
        # Siblings run together, so their DataLoader calls batch into one statement.
        values = await _together([awaitable for _, awaitable in pending])
        for (key, _), value in zip(pending, values, strict=True):
            result[key] = value
        return result

    async def _resolved(self, return_type: Any, value: Awaitable, details: list) -> Any:
        completed = self.complete(return_type, await value, details)
        return await completed if _awaitable(completed) else completed

    def resolve(self, field_def: Any, source: Any, details: Any) -> Any:
        field = field_def.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
        raw = get_argument_values(
            field_def, details.node, self.executor.variable_values, details.fragment_variable_values
        )
        args, kwargs = get_arguments(
            field=field,
            source=source,
            info=self.info,  # type: ignore[arg-type]
            kwargs=raw,
            config=self.strawberry.config,
            scalar_registry=self.strawberry.schema_converter.scalar_registry,
        )
        return field.get_result(source, info=self.info, args=args, kwargs=kwargs)

    def complete(self, return_type: Any, value: Any, details: list) -> Any:
        """The value as graphql-core would answer it, or a coroutine for objects below."""
        if isinstance(return_type, GraphQLNonNull):
            if value is None:
                raise _GiveUp  # graphql-core reports it and nulls the parent
            return_type = return_type.of_type
        if value is None:
            return None
        if isinstance(return_type, (GraphQLScalarType, GraphQLEnumType)):
            serialized = return_type.serialize(value)
            if serialized is None:
                raise _GiveUp
            return serialized
        if isinstance(return_type, GraphQLList):
            items: list[Any] = []
            try:
                for item in value:
                    items.append(self.complete(return_type.of_type, item, details))
            except Exception as error:
                started = [item for item in items if _awaitable(item)]
                if started:
                    return _settled_then(started, error)
                raise
            if any(_awaitable(item) for item in items):
                return self._list(items)
            return items
        if isinstance(return_type, (GraphQLInterfaceType, GraphQLUnionType)):
            definition = getattr(type(value), "__strawberry_definition__", None)
            runtime = self.schema.get_type(definition.name) if definition is not None else None
            if not isinstance(runtime, GraphQLObjectType) or not self.schema.is_sub_type(return_type, runtime):
                raise _GiveUp
            return_type = runtime
        if isinstance(return_type, GraphQLObjectType):
            return self.fields(return_type, value, self.grouped(return_type, details))
        raise _GiveUp

    async def _list(self, items: list) -> list:
        # The items run together, so their DataLoader calls batch into one statement.
        awaited = iter(await _together([item for item in items if _awaitable(item)]))
        return [next(awaited) if _awaitable(item) else item for item in items]

    def grouped(self, return_type: GraphQLObjectType, details: list) -> dict:
        """The subfields of these field nodes on this type, collected once per request."""
        key = (return_type.name, *(id(d.node) for d in details))
        grouped = self.subfields.get(key)
        if grouped is None:
            collected = collect_subfields(
                self.schema,
                self.executor.fragments,
                self.executor.variable_values,
                self.executor.operation,
                return_type,
                details,
            )
            if collected.new_defer_usages:
                raise _GiveUp
            grouped = self.subfields[key] = collected.grouped_field_set
        return grouped


def _started(coroutine: types.CoroutineType) -> Any:
    """The coroutine run up to where it first waits: its value when it never does, else a
    coroutine of the rest (which a task can drive, so siblings still wait together)."""
    try:
        waiting_on = coroutine.send(None)
    except StopIteration as finished:
        return finished.value
    return _rest(coroutine, waiting_on)


async def _rest(coroutine: types.CoroutineType, waiting_on: Any) -> Any:
    return await _Resumed(coroutine, waiting_on)


class _Resumed:
    """A started coroutine as an awaitable: what it waits on is handed up to whoever awaits
    this (a task), and what comes back is handed down, as `await coroutine` itself would."""

    __slots__ = ("coroutine", "waiting_on")

    def __init__(self, coroutine: types.CoroutineType, waiting_on: Any) -> None:
        self.coroutine = coroutine
        self.waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, Any]:
        coroutine, waiting_on = self.coroutine, self.waiting_on
        while True:
            try:
                sent = yield waiting_on
            except BaseException as thrown:  # cancellation and the like go down to it
                try:
                    waiting_on = coroutine.throw(thrown)
                except StopIteration as finished:
                    return finished.value
                continue
            try:
                waiting_on = coroutine.send(sent)
            except StopIteration as finished:
                return finished.value


async def _settled_then(awaitables: list[Awaitable], error: Exception) -> Any:
    """The error, once what was already started has finished: nothing reads on after
    graphql-core's executor has taken the request over."""
    await asyncio.gather(*awaitables, return_exceptions=True)
    raise error


async def _together(awaitables: list[Awaitable]) -> list[Any]:
    """All of them at once; when one fails, the others still finish before the failure goes
    up, so none reads on after graphql-core's executor has taken over the request."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


_AWAITABLES = (types.CoroutineType, asyncio.Future)


def _awaitable(value: Any) -> bool:
    return isinstance(value, _AWAITABLES)
