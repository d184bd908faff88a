"""One guard for every GraphQL request, over HTTP and WebSocket alike: what may run, before it runs.

Both transports call `request_refusal` with the request's document, variables and
operation name before anything executes: input lists and NUL characters, the operation
types a transport serves (HTTP: queries and mutations; WebSocket: subscriptions only), and
who may read the schema. The limits on the document itself (depth, aliases, tokens) and the
error policy (codes, masking, no "Did you mean" in production) are the schema's extensions
and validation rules, which run on every transport; message sizes are capped per transport
before any of this parses (routes/limits.py). A WebSocket connection also needs a signed-in
person at connection_init (`connection_refusal`): its only operation is a person's payment.
"""

from __future__ import annotations

import enum
from functools import lru_cache

from graphql import DocumentNode, FieldNode, GraphQLError, visit
from graphql.language import Visitor
from strawberry.types.graphql import OperationType
from strawberry.utils.operation import get_operation_type

from schema import MAX_TOKENS
from schema.document_cache import parsed
from services.errors import AuthError

MAX_INPUT_LIST = 100
MAX_INPUT_NESTING = 10


class Transport(enum.Enum):
    HTTP = "http"
    WEBSOCKET = "websocket"


# The operation types each transport serves. As a plain JSON POST graphql-core would run a
# subscription like a query and fail on the stream; over WebSocket, graphql-transport-ws would
# run queries and mutations too, but those have their HTTP path (status codes, caching, logs).
SERVED = {
    Transport.HTTP: (OperationType.QUERY, OperationType.MUTATION),
    Transport.WEBSOCKET: (OperationType.SUBSCRIPTION,),
}
NOT_SERVED = {
    Transport.HTTP: "Subscriptions are served over WebSocket (graphql-transport-ws).",
    Transport.WEBSOCKET: "Only subscriptions run over WebSocket; send queries and mutations over HTTP POST.",
}


class Refusal(GraphQLError):
    """Why a request may not run: a top-level error with extensions.code, nothing executed.
    `malformed` refusals are the request's own fault (HTTP answers them 400)."""

    def __init__(self, text: str, code: str = "BAD_REQUEST", *, malformed: bool = True) -> None:
        super().__init__(text, extensions={"code": code})
        self.code = code
        self.malformed = malformed


async def request_refusal(
    *, transport: Transport, query: object, variables: object, operation_name: object, context
) -> Refusal | None:
    """The refusal of this request on this transport, or None when it may execute."""
    if _longest_list(variables) > MAX_INPUT_LIST:
        return Refusal(f"input lists are limited to {MAX_INPUT_LIST} items")
    if _holds_nul(variables) or _holds_nul(operation_name):
        # PostgreSQL text cannot hold U+0000: no value with it could be stored or matched.
        return Refusal("strings must not contain the NUL character (U+0000)")
    if not isinstance(query, str):
        return None  # the executor reports a missing document itself
    document = _document(query)
    if isinstance(document, GraphQLError):
        # Over HTTP the executor reports a syntax error with its location. Over WebSocket the
        # executor lets the token cap's error escape the stream (nothing but `complete` is
        # sent), so the guard answers it: graphql-transport-ws closes 4400 on a bad document.
        return Refusal(document.message, "GRAPHQL_PARSE_FAILED") if transport is Transport.WEBSOCKET else None
    operation = _operation_type(document, operation_name if isinstance(operation_name, str) else None)
    if operation is not None and operation not in SERVED[transport]:
        return Refusal(NOT_SERVED[transport])
    if _asks_introspection(query) and (code := await introspection_refusal(context)):
        return Refusal("Introspection is not allowed.", code, malformed=False)
    return None


async def connection_refusal(context) -> AuthError | None:
    """Why a WebSocket connection may not open (or go on subscribing): it needs a signed-in
    person's valid token in connection_init's {"Authorization": "Bearer …"}."""
    context.forget_caller()  # a token may have been revoked since the last look
    try:
        await context.viewer()
    except AuthError as e:
        return e
    return None


async def introspection_refusal(context) -> str | None:
    """Who may read the schema: admins, aggregators with an active key, and the demo; not a
    stranger in production. The refusal's code, or None when this caller may."""
    settings = context.settings
    if settings.demo or not settings.production:
        return None
    if context.api_key is not None:
        try:
            await context.api_caller()
        except AuthError as e:
            return e.code
        return None
    try:
        viewer = await context.viewer_or_none()
    except AuthError:
        return "UNAUTHENTICATED"
    return None if viewer is not None and viewer.is_admin else "FORBIDDEN"


@lru_cache(maxsize=512)
def _document(query: str) -> DocumentNode | GraphQLError:
    try:
        return parsed(query, max_tokens=MAX_TOKENS)  # the executor's own parse, shared
    except GraphQLError as error:
        # Kept in the cache: without its frames, which hold the request that first sent it.
        error.__traceback__ = None
        return error


def _operation_type(document: DocumentNode, operation_name: str | None) -> OperationType | None:
    """The type of the operation to run, or None when the document names no such operation
    (the executor reports that itself)."""
    try:
        return get_operation_type(document, operation_name)
    except RuntimeError:
        return None


@lru_cache(maxsize=512)
def _asks_introspection(query: str) -> bool:
    """Whether any field of the document is __schema or __type (fragments included)."""
    document = _document(query)
    if isinstance(document, GraphQLError):
        return False
    found = False

    class Finder(Visitor):
        def enter_field(self, node: FieldNode, *args):
            nonlocal found
            if node.name.value in ("__schema", "__type"):
                found = True

    visit(document, Finder())
    return found


def _holds_nul(value: object) -> bool:
    """Whether any string in the value (keys included) holds U+0000."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    return False


def _longest_list(value: object, depth: int = 0) -> int:
    """The longest list anywhere in the variables (nesting is bounded too)."""
    if depth > MAX_INPUT_NESTING:
        return MAX_INPUT_LIST + 1
    if isinstance(value, list):
        return max([len(value), *(_longest_list(v, depth + 1) for v in value)])
    if isinstance(value, dict):
        return max([0, *(_longest_list(v, depth + 1) for v in value.values())])
    return 0
