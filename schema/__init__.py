"""The GraphQL schema: types, the error policy, limits and caches."""

from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

from schema.document_cache import DocumentCache
from schema.execution import QueryExecutionContext
from schema.extensions import NulFreeStrings, RequestScope, error_public
from schema.mutation import Mutation
from schema.query import Query
from schema.scalars import SCALAR_MAP
from schema.subscription import Subscription
from services.errors import tracebacks_drop

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"
# Limits on the document itself, on every transport (the request guard parses with MAX_TOKENS too).
MAX_DEPTH = 12
MAX_TOKENS = 4000
MAX_ALIASES = 30


class CabinetSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        # RequestScope words and logs the errors of an operation. An exception that escaped the
        # operation itself (Strawberry answers it past the extensions) gets the same policy
        # here, in place: masked, or retryable, never its own text.
        context = getattr(execution_context, "context", None)
        if context is not None and hasattr(context, "request_id"):
            public = [error_public(e, context) for e in errors]
            tracebacks_drop(*errors)  # logged by now; the frames hold the request
            errors[:] = public


# The limiters' validation rules, built once: each limiter makes a new rule class when it is
# constructed, and the validation cache keys on the rule classes, so per-request limiters never hit.
LIMIT_RULES = (
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
    NulFreeStrings,
)


def schema_build() -> CabinetSchema:
    return CabinetSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        execution_context_class=QueryExecutionContext,
        extensions=[
            RequestScope,
            lambda: DocumentCache(max_tokens=MAX_TOKENS, rules=LIMIT_RULES),
        ],
    )


schema = schema_build()


def schema_sdl() -> str:
    return schema.as_str() + "\n"
