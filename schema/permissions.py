"""Who may call a field, declared on the field: `permission_classes=[IsAdmin]`, or
`extensions=[PermissionExtension(permissions=[HasScope("debt:read")], fail_silently=False)]`.

A refusal is the request context's own AuthError (UNAUTHENTICATED when nobody is signed in or
the key is unknown, FORBIDDEN otherwise), a top-level error with its code as everywhere.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission, PermissionExtension


class IsAdmin(BasePermission):
    """An admin's access token."""

    async def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        await info.context.admin()
        return True


class HasScope(BasePermission):
    """An aggregator's active API key holding this scope."""

    def __init__(self, scope: str) -> None:
        self.scope = scope

    async def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        await info.context.api_client(self.scope)
        return True


def scoped(scope: str) -> list:
    """The field extensions that declare an aggregator scope."""
    return [PermissionExtension(permissions=[HasScope(scope)], fail_silently=False, use_directives=False)]
