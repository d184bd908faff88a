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


async def introspection_allowed(context) -> bool:
    settings = context.settings
    if settings.demo or not settings.production:
        return True
    credentials = context.credentials or ""
    if credentials.lower().startswith("apikey "):
        return True  # an aggregator; a bad key still fails at its fields
    try:
        viewer = await context.viewer_or_none()
    except AuthError:
        return False
    return viewer is not None and viewer.is_admin
