"""The document's limits, its parse and its validation, once per text, in one extension.

Strawberry's ParserCache, MaxTokensLimiter, AddValidationRules and ValidationCache are four
extensions, and each costs hook look-ups and a context manager in every phase of every
request (some 20 a request, a quarter of what `{ __typename }` costs). One extension does the
same here:

- the token cap goes into the parse options and the limit rules (depth, aliases, NUL) into
  the validation rules, as MaxTokensLimiter and AddValidationRules put them;
- the parse is an lru_cache over (text, options), as ParserCache's, so the same text gets the
  same nodes;
- the validation is found by the parsed document itself rather than by its hash. Strawberry's
  ValidationCache is an lru_cache over (schema, document, rules), and graphql-core's AST nodes
  are frozen dataclasses, so each lookup hashed every node of the document again (about 4 % of
  a main screen's CPU). Each entry holds its document, so no other can take its id.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import ASTValidationRule, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

# As many texts as the request guard keeps (routes/request_guard.py).
CACHED_DOCUMENTS = 512

# The one parse of a text per process: the request guard reads the same nodes before the
# executor does (with the same options, so the same entry).
parsed = lru_cache(maxsize=CACHED_DOCUMENTS)(parse)
# id(document) -> (document, the rules it was validated with, its errors); per process.
_VALIDATED: OrderedDict[int, tuple[Any, Any, Any]] = OrderedDict()


class DocumentCache(SchemaExtension):
    def __init__(self, *, max_tokens: int, rules: tuple[type[ASTValidationRule], ...]) -> None:
        super().__init__()
        self.max_tokens = max_tokens
        self.rules = rules

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        context.validation_rules = context.validation_rules + self.rules
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query:  # no text: Strawberry reports it
            context.graphql_document = parsed(context.query, **context.parse_options)
        yield

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
            while len(_VALIDATED) > CACHED_DOCUMENTS:
                _VALIDATED.popitem(last=False)  # the oldest: texts past the parser's cache
        context.pre_execution_errors = errors
        yield
