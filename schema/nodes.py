"""Query.node: one place that knows which type each global ID names.

Someone else's ID, a malformed ID and a missing one all give null. Who may see
what is services/visibility.py's, the reads resolvers/nodes.py's; here each row
is wrapped in its type.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from resolvers import nodes
from resolvers.ids import global_id_decode
from schema.account import Account, ActivationRequest
from schema.bill import bill_of
from schema.payment import InternetPayment, Payment
from schema.personal_account import PersonalAccount
from schema.reading import MeterReading
from schema.schedule import RepaymentSchedule, ViolationAct


def _wrapped(read: Callable[[Any, int], Awaitable[Any]], wrap: Callable[[Any], Any]):
    async def resolve(info: strawberry.Info, pk: int) -> Any:
        row = await read(info.context, pk)
        return wrap(row) if row is not None else None

    return resolve


async def _bill(info: strawberry.Info, pk: int) -> Any:
    return await bill_of(info, pk) if await nodes.bill_visible(info.context, pk) else None


RESOLVE: dict[str, Callable[[strawberry.Info, int], Awaitable[Any]]] = {
    "Account": _wrapped(nodes.account, lambda row: Account(row=row)),
    "PersonalAccount": _wrapped(nodes.personal_account, lambda row: PersonalAccount(row=row)),
    "Bill": _bill,
    "Payment": _wrapped(nodes.payment, lambda row: Payment(row=row)),
    "InternetPayment": _wrapped(nodes.internet_payment, lambda row: InternetPayment(row=row)),
    "MeterReading": _wrapped(nodes.reading, lambda row: MeterReading(row=row)),
    "ActivationRequest": _wrapped(nodes.activation_request, lambda row: ActivationRequest(row=row)),
    "RepaymentSchedule": _wrapped(
        nodes.schedule, lambda found: RepaymentSchedule(row=found[0], instalment_rows=found[1])
    ),
    "ViolationAct": _wrapped(nodes.act, lambda row: ViolationAct(row=row)),
}


async def node_resolve(info: strawberry.Info, id: str) -> Any:
    decoded = global_id_decode(id)
    if decoded is None or decoded[0] not in RESOLVE:
        return None
    if await info.context.viewer_or_none() is None:
        return None
    type_name, pk = decoded
    return await RESOLVE[type_name](info, pk)
