"""The GraphQL schema: types, the error policy, limits and caches."""
from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription
from schema.extensions import NulFreeStrings, RequestScope
from schema.scalars import SCALAR_MAP

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


# Built once: ValidationCache is keyed by the rule classes, and a limiter made per
# request makes new classes, so the cache never hit and every request was validated.
VALIDATION_RULES = [
    *QueryDepthLimiter(max_depth=12).validation_rules,
    *MaxAliasesLimiter(max_alias_count=30).validation_rules,
    NulFreeStrings,
]


class CabinetSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        # Logged with the request id by RequestScope; nothing to add here.
        return None


def schema_build() -> CabinetSchema:
    return CabinetSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        extensions=[
            RequestScope,
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            lambda: MaxTokensLimiter(max_token_count=4000),
            lambda: AddValidationRules(VALIDATION_RULES),
        ],
    )


schema = schema_build()


def schema_sdl() -> str:
    return schema.as_str() + "\n"
