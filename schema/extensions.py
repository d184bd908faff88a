"""The request scope: operation type, the read snapshot's end, and the error policy.

Expected failures are data; auth failures are top-level errors with
extensions.code; anything else is masked, with a request id that is in the log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from graphql import GraphQLError, StringValueNode, ValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from db import ReplicaLost, retryable
from i18n import message
from services.errors import AuthError, BadUserInput, tracebacks_drop

log = logging.getLogger("cabinet.graphql")
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class PublicError(GraphQLError):
    """A top-level error the client may read as is (e.g. BAD_USER_INPUT for `first` over 100)."""

    def __init__(self, text: str, code: str = "BAD_USER_INPUT") -> None:
        super().__init__(text, extensions={"code": code})


class NulFreeStrings(ValidationRule):
    """String literals must not hold U+0000: PostgreSQL text cannot store or compare it.
    (Variables are checked by the HTTP view before parsing.)"""

    def enter_string_value(self, node: StringValueNode, *_args) -> None:
        if "\x00" in node.value:
            self.report_error(
                GraphQLError(
                    "Strings must not contain the NUL character (U+0000).",
                    node,
                    extensions={"code": "BAD_USER_INPUT"},
                )
            )


class RequestScope(SchemaExtension):
    async def on_execute(self):
        context = self.execution_context.context
        operation = self.execution_context.operation_type
        # Queries and mutations read a snapshot (a mutation's write starts a new one:
        # resolvers/transaction.py); a subscription, which lives long, reads fresh. A mutation
        # reads on the primary only: what it returns must show its own write.
        context.fresh_reads = operation == OperationType.SUBSCRIPTION
        if operation == OperationType.MUTATION:
            context.primary_only = True
        try:
            yield
        finally:
            await context.snapshot_end()

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [error_public(e, self.execution_context.context) for e in errors]
            tracebacks_drop(*errors, *result.errors)  # logged by now; the frames hold the request
        field_errors = getattr(self.execution_context.context, "field_errors", None)
        if result is not None and field_errors:
            result.errors = [*(result.errors or []), *field_errors]


def field_error_add(info, code: str, **params: object) -> None:
    """A BAD_USER_INPUT error on this field alone, in the caller's language.

    The field still answers (e.g. an empty list), so null propagation does not
    take the rest of the answer with it.
    """
    context = info.context
    context.field_errors.append(
        GraphQLError(
            message(code, context.language, **params),
            path=info.path.as_list(),
            extensions={"code": "BAD_USER_INPUT"},
        )
    )


def period_check(info, period) -> None:
    """`from` after `to`: the list is empty (a period of no days) and says so on its field."""
    if period.inverted:
        field_error_add(info, "PERIOD_INVERTED")


def error_public(error: GraphQLError, context) -> GraphQLError:
    """The error as a client may see it: known kinds with their code, anything else masked."""
    original = error.original_error
    if original is None or isinstance(original, PublicError):
        # Parse and validation errors, and deliberate ones; in production
        # without "Did you mean …?", which would spell out the schema.
        if context.settings.production and not context.settings.demo and "Did you mean" in error.message:
            return GraphQLError(
                SUGGESTION.sub("", error.message), nodes=error.nodes, path=error.path, extensions=error.extensions
            )
        return error
    if _input_value_error(error):
        # A literal or a variable's value does not fit its type ("2014-02-30" for a Date,
        # "NaN" for a Decimal): refused before anything ran; the message is about the input only.
        return GraphQLError(error.message, nodes=error.nodes, extensions={"code": "BAD_USER_INPUT"})
    if isinstance(original, BadUserInput):
        return GraphQLError(str(original), nodes=error.nodes, path=error.path, extensions={"code": "BAD_USER_INPUT"})
    if isinstance(original, AuthError):
        extensions = {"code": original.code}
        if original.reason:
            extensions["reason"] = original.reason
        return GraphQLError(
            message(original.code, context.language),
            nodes=error.nodes,
            path=error.path,
            extensions=extensions,
        )
    if isinstance(original, GraphQLError) and original.original_error is None:
        return error  # e.g. a scalar's "Decimal must be a plain number": about the input only
    if isinstance(original, ReplicaLost):
        # The view runs the operation again on the primary; this answer is thrown away.
        return GraphQLError("replica lost", nodes=error.nodes, path=error.path, extensions={"code": "REPLICA_LOST"})
    if retryable(original):
        # The database is out of reach (restarting, failing over) or every connection is busy:
        # nothing is wrong with the request, and the same request will succeed shortly.
        # Retryable, unlike a masked error.
        log.warning(
            "database unavailable in %s (request %s): %s",
            ".".join(map(str, error.path or [])),
            context.request_id,
            original,
        )
        return service_unavailable_error(context.language, nodes=error.nodes, path=error.path)
    log.error(
        "unexpected error in %s (request %s)",
        ".".join(map(str, error.path or [])),
        context.request_id,
        exc_info=original,
        extra={"request_id": context.request_id},
    )
    return GraphQLError(
        message("INTERNAL_SERVER_ERROR", context.language, request_id=context.request_id),
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": context.request_id},
    )


# Seconds a client should wait before retrying while the database is out of reach.
RETRY_AFTER_UNAVAILABLE = 1


def service_unavailable_error(language: str, **where) -> GraphQLError:
    return GraphQLError(
        message("SERVICE_UNAVAILABLE", language),
        extensions={"code": "SERVICE_UNAVAILABLE", "retryAfter": RETRY_AFTER_UNAVAILABLE},
        **where,
    )


def _input_value_error(error: GraphQLError) -> bool:
    """Whether graphql-core refused an input value before execution (validating a literal or
    coercing a variable) because the scalar's parse refused it.

    Such an error points at the document (nodes) and has no path; the cause is the scalar's
    ValueError, or graphql-core's own GraphQLError. Anything else is not the input's fault.
    """
    if error.path is not None or not error.nodes:
        return False
    cause = error.original_error
    while isinstance(cause, GraphQLError) and cause.original_error is not None:
        cause = cause.original_error
    return cause is None or isinstance(cause, (GraphQLError, ValueError))
