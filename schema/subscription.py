"""The root Subscription: live status of a card payment."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError

from resolvers import payment_updates
from schema.extensions import error_public
from schema.payment import InternetPayment


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The payment's current state at once, then each change, ending when it is final."
    )
    async def internet_payment_updated(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> AsyncGenerator[InternetPayment, None]:
        try:
            async for row in payment_updates.internet_payment_updates(info.context, id):
                yield InternetPayment(row=row)
        except GraphQLError:
            raise
        except Exception as e:  # a stream's errors skip the request scope: apply the same policy here
            raise error_public(GraphQLError(str(e), original_error=e), info.context) from None
