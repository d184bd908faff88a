"""Validation once per parsed document, found by the document itself rather than by its hash.

Strawberry's ValidationCache is an lru_cache over (schema, document, rules): graphql-core's AST
nodes are frozen dataclasses, so every lookup hashes every node of the document again (about
4 % of a main screen's CPU). ParserCache gives the same text the same nodes, so the document's
identity finds its validation; each entry holds its document, so no other can take its id.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document


class DocumentValidationCache(SchemaExtension):
    def __init__(self, maxsize: int = 512) -> None:
        super().__init__()
        self.maxsize = maxsize

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document, rules = context.graphql_document, context.validation_rules
        assert document is not None  # parsed before validation
        entry = _VALIDATED.get(id(document))
        if entry is not None and entry[0] is document and entry[1] == rules:
            errors = entry[2]
        else:
            errors = validate_document(context.schema._schema, document, rules)
            _VALIDATED[id(document)] = (document, rules, errors)
            while len(_VALIDATED) > self.maxsize:
                _VALIDATED.popitem(last=False)  # the oldest: texts past the parser cache's size
        context.pre_execution_errors = errors
        yield


# id(document) -> (document, the rules it was validated with, its errors); per process.
_VALIDATED: OrderedDict[int, tuple[Any, Any, Any]] = OrderedDict()
