"""The root Mutation, assembled from each area's mutations."""
from __future__ import annotations

import strawberry

from cabinet.schema.auth import AuthMutations


@strawberry.type
class Mutation(AuthMutations):
    pass
