"""The request scope: operation type, the read snapshot's end, and the error policy.

Expected failures are data; auth failures are top-level errors with
extensions.code; anything else is masked, with a request id that is in the log.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from cabinet.i18n import message
from cabinet.services.errors import AuthError, BadUserInput

log = logging.getLogger("cabinet.graphql")
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class PublicError(GraphQLError):
    """A top-level error the client may read as is (e.g. BAD_USER_INPUT for `first` over 100)."""

    def __init__(self, text: str, code: str = "BAD_USER_INPUT") -> None:
        super().__init__(text, extensions={"code": code})


class RequestScope(SchemaExtension):
    async def on_execute(self):  # type: ignore[override]
        context = self.execution_context.context
        operation = self.execution_context.operation_type
        # Mutations and subscriptions read fresh; queries read one snapshot.
        context.fresh_reads = operation in (OperationType.MUTATION, OperationType.SUBSCRIPTION)
        try:
            yield
        finally:
            if context.snapshot is not None:
                await context.snapshot.close()

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [error_public(e, self.execution_context.context) for e in errors]


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
