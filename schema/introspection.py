"""Who may read the schema: admins, aggregators and the demo; not a stranger in production."""
from __future__ import annotations

from functools import lru_cache

from graphql import FieldNode, GraphQLError, parse, visit
from graphql.language import Visitor

from services.errors import AuthError


@lru_cache(maxsize=256)
def asks_introspection(query: str) -> bool:
    """Whether any field of the document is __schema or __type (fragments included)."""
    try:
        document = parse(query)
    except GraphQLError:
        return False  # the executor reports the syntax error itself
    found = False

    class Finder(Visitor):
        def enter_field(self, node: FieldNode, *args):
            nonlocal found
            if node.name.value in ("__schema", "__type"):
                found = True

    visit(document, Finder())
    return found


async def introspection_refusal(context) -> str | None:
    """Why this caller may not read the schema (an error code), or None when it may."""
    settings = context.settings
    if settings.demo or not settings.production:
        return None
    if context.api_key is not None:
        # An aggregator: only a key of an active client, whatever its scopes.
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
