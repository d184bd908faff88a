"""The root Mutation, assembled from each area's mutations."""

from __future__ import annotations

import strawberry

from schema.accounts import AccountMutations
from schema.aggregators import AggregatorMutations
from schema.auth import AuthMutations
from schema.payment_cancel import PaymentCancelMutations
from schema.payment_start import PaymentMutations
from schema.readings import ReadingMutations


@strawberry.type
class Mutation(
    AuthMutations, AccountMutations, ReadingMutations, PaymentMutations, PaymentCancelMutations, AggregatorMutations
):
    pass
