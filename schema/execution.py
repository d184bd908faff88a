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
field its attribute or resolver call, serializer and the completion of its type, the
arguments when the document gives them as literals, and for scalar and enum arguments given
by variables their conversion per coerced value) is kept per parsed operation
(`OperationShapes`), so a document sent again, by any client, costs none of it: the parser
cache gives the same text the same nodes, and a document with @skip/@include on variables is
kept per value of those variables.

A resolver's coroutine is started at once and, when it finishes without waiting (the read
ahead has primed the loaders, so on the read side it nearly always does), its value is used
there and then; only what really waits (a DataLoader's batch) becomes a task, so siblings
still batch into one statement.

A field guarded by permissions (an admin's, an aggregator's scope) has them checked before its
resolver, as Strawberry's PermissionExtension does; any other field extension is not walked.

The walk only takes the happy path. The first exception anywhere (a resolver's error, null in
a non-null field, a refused permission, @defer, introspection), and it gives up;
graphql-core's executor then runs the whole operation, with its exact error semantics (null propagation, paths, the error policy). Queries change nothing, so running one
twice is safe, and the request's DataLoaders keep what the walk already read.
"""

from __future__ import annotations

import asyncio
import inspect
import types
from collections import OrderedDict
from collections.abc import Awaitable, Generator
from typing import Any

from graphql import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    ExecutionResult,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLString,
    GraphQLUnionType,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    get_named_type,
    visit,
)
from graphql.execution.collect_fields import collect_fields, collect_subfields
from graphql.execution.values import get_argument_values
from graphql.language import DirectiveNode, Visitor
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments

from resolvers.read_ahead import read_ahead
from schema.read_plan import read_plan


class _GiveUp(Exception):
    """The walk leaves this operation to graphql-core's executor."""


class OperationShapes:
    """What the walk worked out from one parsed operation: the root's plan (per selected
    field: its key, attribute or resolver call, serializer or completer), the plans of the
    objects below held by their fields' completers as the walk first meets them, and what
    the read ahead needs."""

    __slots__ = ("operation", "read", "root")

    def __init__(self, operation: OperationDefinitionNode) -> None:
        self.operation = operation  # held, so no other operation can take its id while kept
        self.read: Any = None  # what the selection needs read ahead (schema/read_plan.py)
        self.root: list[tuple] | None = None  # the root type's plan; the plans below hang on it


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
        kind = self.operation.operation
        if kind is OperationType.SUBSCRIPTION:
            return super().execute_operation(serially)  # its event executors share the helpers
        if kind is OperationType.QUERY and getattr(settings, "lean_queries", False):
            return self._untied_after(self._walk_or_execute(serially))
        result = super().execute_operation(serially)
        if self.is_awaitable(result):
            return self._untied_after(result)
        self._untie()
        return result

    async def _untied_after(self, result: Awaitable[Any]) -> Any:
        try:
            return await result
        finally:
            self._untie()

    def _untie(self) -> None:
        # graphql-core's executor holds helpers bound to itself: a reference cycle, so all
        # the request reached (its context, the HTTP request, the rows) waited for the cycle
        # collector, which then freed hundreds of requests' objects in one pause of 5-15 ms
        # (the p99 under load). Cut once the operation is done, it all goes with the request.
        del self.async_helpers

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


def _serializer(leaf_type: GraphQLScalarType | GraphQLEnumType) -> Any:
    """The type's serializer; for Int, String and Boolean with the value of the very Python type
    first (what graphql-core's serializers return unchanged), for an enum's members their names
    by a dict (what Strawberry finds by a scan of the values), the rest left to them."""
    serialize = leaf_type.serialize
    if leaf_type is GraphQLInt:
        return lambda value: value if type(value) is int and _INT_MIN <= value <= _INT_MAX else serialize(value)
    if leaf_type is GraphQLString:
        return lambda value: value if type(value) is str else serialize(value)
    if leaf_type is GraphQLBoolean:
        return lambda value: value if type(value) is bool else serialize(value)
    members = getattr(leaf_type, "wrapped_cls", None)  # Strawberry's enum types, by a scan of names
    if isinstance(leaf_type, GraphQLEnumType) and members is not None:
        names: dict[Any, str] = {}
        for name, defined in leaf_type.values.items():  # the first name of a value, as the scan finds it
            for member in members:
                if member.value == defined.value:
                    names.setdefault(member, name)
        return lambda value: names[value] if type(value) is members else serialize(value)
    return serialize


_INT_MIN, _INT_MAX = GRAPHQL_MIN_INT, GRAPHQL_MAX_INT

# What a field of a plan does: a leaf attribute, __typename, an attribute holding objects, a
# resolver. Each entry is (key, kind, a, b, c); see _Walk.fields.
_LEAF, _TYPENAME, _ATTRIBUTE, _RESOLVER = range(4)


class _Walk:
    """One request's walk over the operation's plans (kept in its `OperationShapes`). A plan
    is the list of an object's fields; a completer, built once per field of a plan, turns a
    value of that field's type into the answer (so the type's shape is looked at once per
    document, not once per value)."""

    def __init__(self, executor: QueryExecutionContext, shapes: OperationShapes) -> None:
        self.executor = executor
        self.schema = executor.schema
        self.strawberry = self.schema._strawberry_schema
        self.info = _ResolverInfo(executor.context_value)
        self.shapes = shapes

    async def root(self) -> dict[str, Any]:
        root_type = self.schema.query_type
        if root_type is None:
            raise _GiveUp
        plan = self.shapes.root
        if plan is None:
            collected = collect_fields(
                self.schema, self.executor.fragments, self.executor.variable_values, root_type, self.executor.operation
            )
            if collected.new_defer_usages:
                raise _GiveUp
            plan = self.shapes.root = self.plan(root_type, collected.grouped_field_set)
        self.info.context.lone_field = sum(kind != _TYPENAME for _, kind, *_ in plan) == 1
        data = self.fields(plan, self.executor.root_value)
        return await data if _awaitable(data) else data

    def fields(self, plan: list[tuple], source: Any) -> Any:
        """The object's answer, or a coroutine of it when a resolver below waits."""
        result: dict[str, Any] = {}
        pending: list[tuple[str, Awaitable]] = []
        try:
            for key, kind, a, b, c in plan:
                if kind == _LEAF:  # a plain attribute (a: its name, b: serializer, c: non-null)
                    value = getattr(source, a)
                    if value is None:
                        if c:
                            raise _GiveUp
                        result[key] = None
                    else:
                        result[key] = b(value)
                    continue
                if kind == _TYPENAME:
                    result[key] = a
                    continue
                if kind == _ATTRIBUTE:  # a: its name, b: completer
                    value = getattr(source, a)
                else:  # a resolver (a: the call, b: completer)
                    value = a(self, source)
                    if type(value) is types.CoroutineType:
                        value = _started(value)
                    if _awaitable(value):
                        result[key] = None  # keeps the selection's order; filled below
                        pending.append((key, self._resolved(b, value)))
                        continue
                completed = b(self, value)
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
        """The plan of these collected fields on this type: worked out once per operation."""
        plan: list[tuple] = []
        for key, details in grouped.items():
            name = details[0].node.name.value
            if name == "__typename":
                plan.append((key, _TYPENAME, parent_type.name, None, None))
                continue
            field_def = parent_type.fields.get(name)
            field = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF) if field_def else None
            if field is None:
                raise _GiveUp  # __schema and __type (introspection)
            return_type = field_def.type
            non_null = isinstance(return_type, GraphQLNonNull)
            named = return_type.of_type if non_null else return_type
            if field.base_resolver is None:
                if isinstance(named, (GraphQLScalarType, GraphQLEnumType)):
                    plan.append((key, _LEAF, field.python_name, _serializer(named), non_null))
                else:
                    plan.append((key, _ATTRIBUTE, field.python_name, self.completer(return_type, details), None))
            else:
                call = self.call(field_def, field, details[0])
                plan.append((key, _RESOLVER, call, self.completer(return_type, details), None))
        return plan

    def call(self, field_def: Any, field: Any, details: Any) -> Any:
        """The resolver's call for this field node: its arguments coerced and converted once
        when the node gives them all as literals (no variables) of scalars and enums."""
        resolver = field.base_resolver
        with_self = resolver.self_parameter is not None
        sources = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None]
        info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None
        permissions = _permissions(field)
        constant: list[dict] = []
        scalars = _scalar_arguments(field_def)
        fixed = scalars and not any(_has_variable(argument.value) for argument in details.node.arguments or ())
        # Scalars and enums convert the same whatever the request: kept by their values.
        converted: dict | None = {} if scalars else None

        def call(walk: _Walk, source: Any) -> Any:
            if constant:
                kwargs = dict(constant[0])
            else:
                kwargs = walk.arguments(field_def, field, details, converted)
                if fixed:
                    constant.append(dict(kwargs))
            arguments = dict(kwargs) if permissions else kwargs
            for name in sources:
                kwargs[name] = source
            if info_name is not None:
                kwargs[info_name] = walk.info
            if permissions:
                return _permitted_then(
                    permissions,
                    source,
                    walk.info,
                    arguments,
                    lambda: field.get_result(source, info=walk.info, args=[source] if with_self else [], kwargs=kwargs),
                )
            return field.get_result(source, info=walk.info, args=[source] if with_self else [], kwargs=kwargs)

        return call

    def arguments(self, field_def: Any, field: Any, details: Any, converted: dict | None) -> dict[str, Any]:
        """The field's arguments coerced (graphql-core) and converted (Strawberry); with
        `converted`, the conversion is looked up by the coerced values (scalars and enums only)."""
        raw = get_argument_values(
            field_def, details.node, self.executor.variable_values, details.fragment_variable_values
        )
        if not raw:
            return {}
        if converted is None:
            return self.convert(raw, field)
        try:
            key = tuple((name, tuple(value) if type(value) is list else value) for name, value in raw.items())
            kwargs = converted.get(key)
        except TypeError:  # a value that does not hash (a list of lists)
            return self.convert(raw, field)
        if kwargs is None:
            if len(converted) >= _CONVERTED_MAX:
                converted.clear()
            kwargs = converted[key] = self.convert(raw, field)
        return dict(kwargs)

    def convert(self, raw: dict[str, Any], field: Any) -> dict[str, Any]:
        return convert_arguments(
            raw,
            field.arguments,
            scalar_registry=self.strawberry.schema_converter.scalar_registry,
            config=self.strawberry.config,
            info=self.info,  # type: ignore[arg-type]
        )

    def completer(self, return_type: Any, details: list) -> Any:
        """What turns a value of this type into the answer, as graphql-core would answer it;
        a coroutine for objects whose resolvers below wait."""
        if isinstance(return_type, GraphQLNonNull):
            inner = self.completer(return_type.of_type, details)

            def non_null(walk: _Walk, value: Any) -> Any:
                if value is None:
                    raise _GiveUp  # graphql-core reports it and nulls the parent
                return inner(walk, value)

            return non_null
        if isinstance(return_type, (GraphQLScalarType, GraphQLEnumType)):
            serialize = _serializer(return_type)

            def leaf(walk: _Walk, value: Any) -> Any:
                if value is None:
                    return None
                serialized = serialize(value)
                if serialized is None:
                    raise _GiveUp
                return serialized

            return leaf
        if isinstance(return_type, GraphQLList):
            item = self.completer(return_type.of_type, details)

            def each(walk: _Walk, value: Any) -> Any:
                if value is None:
                    return None
                items: list[Any] = []
                waits = False
                try:
                    for one in value:
                        completed = item(walk, one)
                        if not waits and _awaitable(completed):
                            waits = True
                        items.append(completed)
                except Exception as error:
                    started = [one for one in items if _awaitable(one)]
                    if started:
                        return _settled_then(started, error)
                    raise
                return walk._list(items) if waits else items

            return each
        if isinstance(return_type, GraphQLObjectType):
            plans: list[list[tuple]] = []  # worked out on the first value, then kept

            def obj(walk: _Walk, value: Any) -> Any:
                if value is None:
                    return None
                if not plans:
                    plans.append(walk.plan(return_type, walk.grouped(return_type, details)))
                return walk.fields(plans[0], value)

            return obj
        if isinstance(return_type, (GraphQLInterfaceType, GraphQLUnionType)):
            by_type: dict[str, list[tuple]] = {}

            def abstract(walk: _Walk, value: Any) -> Any:
                if value is None:
                    return None
                definition = getattr(type(value), "__strawberry_definition__", None)
                runtime = walk.schema.get_type(definition.name) if definition is not None else None
                if not isinstance(runtime, GraphQLObjectType) or not walk.schema.is_sub_type(return_type, runtime):
                    raise _GiveUp
                plan = by_type.get(runtime.name)
                if plan is None:
                    plan = by_type[runtime.name] = walk.plan(runtime, walk.grouped(runtime, details))
                return walk.fields(plan, value)

            return abstract
        raise _GiveUp

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

    async def _resolved(self, complete: Any, value: Awaitable) -> Any:
        completed = complete(self, await value)
        return await completed if _awaitable(completed) else completed

    async def _list(self, items: list) -> list:
        # The items run together, so their DataLoader calls batch into one statement.
        awaited = iter(await _together([item for item in items if _awaitable(item)]))
        return [next(awaited) if _awaitable(item) else item for item in items]

    def grouped(self, return_type: GraphQLObjectType, details: list) -> dict:
        """The subfields of these field nodes on this type."""
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
        return collected.grouped_field_set


def _permissions(field: Any) -> list[BasePermission]:
    """The permissions guarding the field (schema/permissions.py), checked before its resolver
    as Strawberry's PermissionExtension checks them; any other field extension: give up."""
    permissions: list[BasePermission] = []
    for extension in field.extensions:
        if type(extension) is not PermissionExtension or extension.fail_silently:
            raise _GiveUp
        permissions.extend(extension.permissions)
    return permissions


async def _permitted_then(
    permissions: list[BasePermission], source: Any, info: Any, arguments: dict, resolve: Any
) -> Any:
    """The resolver's value once every permission has said yes. A refusal (the context's
    AuthError, or False) leaves the request to graphql-core, which reports it as ever."""
    for permission in permissions:
        allowed = permission.has_permission(source, info, **arguments)
        if inspect.isawaitable(allowed):
            allowed = await allowed
        if not allowed:
            raise _GiveUp
    value = resolve()
    return await value if inspect.isawaitable(value) else value


def _scalar_arguments(field_def: Any) -> bool:
    """Every argument is a scalar, an enum or a list of them: converted values depend on the
    coerced values alone (given as literals, they are the same every time)."""
    return all(
        isinstance(get_named_type(argument.type), (GraphQLScalarType, GraphQLEnumType))
        for argument in field_def.args.values()
    )


# Conversions kept per field node (a cursor or a date per caller): past this, start again.
_CONVERTED_MAX = 256


def _has_variable(value: Any) -> bool:
    if isinstance(value, VariableNode):
        return True
    return any(_has_variable(item) for item in getattr(value, "values", None) or ())


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
