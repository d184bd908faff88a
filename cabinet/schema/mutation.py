"""The root Mutation, assembled from each area's mutations."""
from __future__ import annotations

import strawberry

from cabinet.schema.accounts import AccountMutations
from cabinet.schema.aggregators import AggregatorMutations
from cabinet.schema.auth import AuthMutations
from cabinet.schema.payment_start import PaymentMutations
from cabinet.schema.readings import ReadingMutations


@strawberry.type
class Mutation(AuthMutations, AccountMutations, ReadingMutations, PaymentMutations, AggregatorMutations):
    pass
