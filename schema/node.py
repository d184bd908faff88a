"""The Node interface with IDs the project encodes and decodes itself."""

from __future__ import annotations

import strawberry


@strawberry.interface(description="An object that can be fetched again by its opaque global ID.")
class Node:
    id: strawberry.ID
