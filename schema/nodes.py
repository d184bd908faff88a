"""Query.node: one place that knows which type each global ID names.

Someone else's ID, a malformed ID and a missing one all give null.
"""
from __future__ import annotations

import strawberry

from resolvers import activation_requests as request_resolvers
from resolvers import auth as auth_resolvers
from resolvers import loaders
from resolvers import personal_accounts as pa_resolvers
from resolvers.ids import global_id_decode
from schema.account import Account, ActivationRequest
from schema.bill import bill_of
from schema.payment import InternetPayment, Payment
from schema.personal_account import PersonalAccount
from schema.reading import MeterReading
from schema.schedule import RepaymentSchedule, ViolationAct


async def _account(info, pk):
    viewer = await info.context.viewer()
    if pk != viewer.account_id and not viewer.is_admin:
        return None
    row = await auth_resolvers.account_by_id(info.context, pk)
    return Account(row=row) if row is not None else None


async def _personal_account(info, pk):
    row = await pa_resolvers.by_id(info.context, pk)
    return PersonalAccount(row=row) if row is not None else None


async def _bill(info, pk):
    return await bill_of(info, pk) if await pa_resolvers.owned(info.context, "Bill", pk) else None


async def _payment(info, pk):
    if not await pa_resolvers.owned(info.context, "Payment", pk):
        return None
    owner = await loaders.owner(info.context, "Payment").load(pk)
    ledger = await pa_resolvers.ledger(info.context, owner)
    row = next((p for p in ledger.payments if p.id == pk), None)
    return Payment(row=row) if row is not None else None


async def _internet_payment(info, pk):
    if not await pa_resolvers.owned(info.context, "InternetPayment", pk):
        return None
    row = await loaders.internet_payment(info.context).load(pk)
    return InternetPayment(row=row) if row is not None else None


async def _reading(info, pk):
    if not await pa_resolvers.owned(info.context, "MeterReading", pk):
        return None
    row = await loaders.reading(info.context).load(pk)
    return MeterReading(row=row) if row is not None else None


async def _activation_request(info, pk):
    row = await request_resolvers.by_id(info.context, pk)
    return ActivationRequest(row=row) if row is not None else None


async def _schedule(info, pk):
    for pa in await _visible_ids(info):
        for schedule, instalments in await loaders.schedules(info.context).load(pa):
            if schedule.id == pk:
                return RepaymentSchedule(row=schedule, instalment_rows=instalments)
    return None


async def _act(info, pk):
    for pa in await _visible_ids(info):
        for act in await loaders.acts(info.context).load(pa):
            if act.id == pk:
                return ViolationAct(row=act)
    return None


async def _visible_ids(info) -> list[int]:
    viewer = await info.context.viewer()
    return await loaders.linked_ids(info.context, viewer.account_id)


RESOLVE = {
    "Account": _account,
    "PersonalAccount": _personal_account,
    "Bill": _bill,
    "Payment": _payment,
    "InternetPayment": _internet_payment,
    "MeterReading": _reading,
    "ActivationRequest": _activation_request,
    "RepaymentSchedule": _schedule,
    "ViolationAct": _act,
}


async def node_resolve(info: strawberry.Info, id: str):
    decoded = global_id_decode(id)
    if decoded is None or decoded[0] not in RESOLVE:
        return None
    if await info.context.viewer_or_none() is None:
        return None
    type_name, pk = decoded
    return await RESOLVE[type_name](info, pk)
