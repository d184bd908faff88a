"""Accounts: registration, recovery, profile, more personal accounts, merge, admin review."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Row

from models import Account, ActivationRequest
from models.base import ActivationStatus
from resolvers import loaders
from resolvers.context import RequestContext, utc_now
from resolvers.ids import pk_of
from resolvers.transaction import in_transaction
from services import activation, merge, password_reset, profile, registration
from services.activation import Decision, LinkOutcome
from services.errors import NotFound
from services.merge import MergeOutcome
from services.pagination import Page
from services.registration import RegistrationForm


async def account_register(ctx: RequestContext, form: RegistrationForm) -> bool:
    return await in_transaction(
        ctx,
        lambda s: registration.account_register(
            session=s,
            settings=ctx.settings,
            form=form,
            client_address=ctx.client_address,
            language=ctx.language,
            now=utc_now(),
        ),
    )


async def password_reset_request(ctx: RequestContext, login_or_email: str) -> bool:
    return await in_transaction(
        ctx,
        lambda s: password_reset.password_reset_request(
            session=s,
            settings=ctx.settings,
            login_or_email=login_or_email,
            client_address=ctx.client_address,
            language=ctx.language,
            now=utc_now(),
        ),
    )


async def password_reset_apply(ctx: RequestContext, token: str, new_password: str) -> bool:
    return await in_transaction(
        ctx,
        lambda s: password_reset.password_reset(
            session=s, settings=ctx.settings, token=token, new_password=new_password, now=utc_now()
        ),
    )


async def password_change(ctx: RequestContext, current_password: str, new_password: str) -> Account:
    viewer = await ctx.viewer()
    return await in_transaction(
        ctx,
        lambda s: profile.password_change(
            session=s,
            settings=ctx.settings,
            viewer=viewer,
            current_password=current_password,
            new_password=new_password,
            client_address=ctx.client_address,
            now=utc_now(),
        ),
    )


async def account_update(
    ctx: RequestContext, *, email: str | None, phones: list[str] | None, current_password: str | None
) -> Account:
    viewer = await ctx.viewer()
    return await in_transaction(
        ctx,
        lambda s: profile.account_update(
            session=s,
            settings=ctx.settings,
            viewer=viewer,
            email=email,
            phones=phones,
            current_password=current_password,
            client_address=ctx.client_address,
            language=ctx.language,
            now=utc_now(),
        ),
    )


async def account_email_confirm(ctx: RequestContext, token: str) -> Account:
    # The token is the proof: the link may be opened on a device that is not signed in.
    return await in_transaction(
        ctx, lambda s: profile.account_email_confirm(session=s, token=token, language=ctx.language, now=utc_now())
    )


async def personal_account_add(
    ctx: RequestContext,
    *,
    res_code: str,
    personal_account_number: str,
    meter_serial_number: str | None,
    last_payment_amount: Decimal | None,
) -> LinkOutcome:
    viewer = await ctx.viewer()
    return await in_transaction(
        ctx,
        lambda s: activation.personal_account_add(
            session=s,
            settings=ctx.settings,
            account_id=viewer.account_id,
            res_code=res_code,
            personal_account_number=personal_account_number,
            meter_serial_number=meter_serial_number,
            last_payment_amount=last_payment_amount,
            client_address=ctx.client_address,
            language=ctx.language,
            now=utc_now(),
        ),
    )


async def account_merge(ctx: RequestContext, *, login: str, password: str) -> MergeOutcome:
    viewer = await ctx.viewer()
    return await in_transaction(
        ctx,
        lambda s: merge.account_merge(
            session=s,
            settings=ctx.settings,
            viewer=viewer,
            login=login,
            password=password,
            client_address=ctx.client_address,
            now=utc_now(),
        ),
    )


async def personal_accounts_rows(ctx: RequestContext, ids: list[int]) -> list[Row]:
    """Personal accounts a mutation has just linked to the viewer (so theirs to see)."""
    rows = await loaders.PersonalAccountByIdLoader.of(ctx).load_many(ids)
    return [r for r in rows if r is not None]


def _request_pk(value: str) -> int:
    pk = pk_of(value, "ActivationRequest")
    if pk is None:
        raise NotFound(("id",))
    return pk


async def activation_approve(ctx: RequestContext, request_id: str) -> ActivationRequest:
    admin = await ctx.viewer()  # an admin: the field's permission says so
    pk = _request_pk(request_id)
    decision: Decision = await in_transaction(
        ctx,
        lambda s: activation.activation_approve(
            session=s, settings=ctx.settings, request_id=pk, admin_id=admin.account_id, now=utc_now()
        ),
    )
    return decision.request


async def activation_reject(ctx: RequestContext, request_id: str, reason: str) -> ActivationRequest:
    admin = await ctx.viewer()  # an admin: the field's permission says so
    pk = _request_pk(request_id)
    decision: Decision = await in_transaction(
        ctx,
        lambda s: activation.activation_reject(
            session=s, request_id=pk, reason=reason, admin_id=admin.account_id, now=utc_now()
        ),
    )
    if decision.removed_account is not None:
        # The login went with its rejected registration: the answer still names it as it was.
        loaders.AccountByIdLoader.of(ctx).prime(decision.removed_account.id, decision.removed_account)
    return decision.request


async def activation_requests(
    ctx: RequestContext,
    *,
    status: ActivationStatus | None,
    res_code: str | None,
    first: int | None,
    after: str | None,
) -> tuple[Page[ActivationRequest], int]:
    """Admins' review queue, oldest first: a page and the total count (the field's permission
    admits admins only)."""
    return await ctx.read(
        lambda s: activation.activation_requests_page(
            session=s, status=status, res_code=res_code, first=first, after=after
        )
    )
