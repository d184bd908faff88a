"""The contract's error types, and the one place domain exceptions become them."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from i18n import message
from resolvers.ids import global_id
from services.errors import DomainError, InvalidInput, NotFound, OperationRefused, PaymentInProgress

T = TypeVar("T")
S = TypeVar("S")


@strawberry.enum(description="Stable codes of expected failures. Clients must tolerate new values.")
class ErrorCode(enum.Enum):
    INVALID_INPUT = "INVALID_INPUT"
    REQUIRED = "REQUIRED"
    INVALID_FORMAT = "INVALID_FORMAT"
    TOO_SHORT = "TOO_SHORT"
    TOO_LONG = "TOO_LONG"
    PASSWORD_TOO_COMMON = "PASSWORD_TOO_COMMON"
    TERMS_NOT_ACCEPTED = "TERMS_NOT_ACCEPTED"
    LOGIN_TAKEN = "LOGIN_TAKEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    ACCOUNT_NOT_ACTIVE = "ACCOUNT_NOT_ACTIVE"
    ACCOUNT_BLOCKED = "ACCOUNT_BLOCKED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    TOKEN_INVALID = "TOKEN_INVALID"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    UNKNOWN_RES = "UNKNOWN_RES"
    PERSONAL_ACCOUNT_NOT_FOUND = "PERSONAL_ACCOUNT_NOT_FOUND"
    PERSONAL_ACCOUNT_ALREADY_LINKED = "PERSONAL_ACCOUNT_ALREADY_LINKED"
    MERGE_WITH_SELF = "MERGE_WITH_SELF"
    MERGE_NOT_ALLOWED = "MERGE_NOT_ALLOWED"
    NOT_FOUND = "NOT_FOUND"
    NO_METER = "NO_METER"
    NO_PREVIOUS_READING = "NO_PREVIOUS_READING"
    NO_TARIFF = "NO_TARIFF"
    READING_DATE_TAKEN = "READING_DATE_TAKEN"
    READING_DATE_IN_FUTURE = "READING_DATE_IN_FUTURE"
    READING_DATE_NOT_AFTER_LAST = "READING_DATE_NOT_AFTER_LAST"
    READING_OUT_OF_RANGE = "READING_OUT_OF_RANGE"
    READING_LESS_THAN_PREVIOUS = "READING_LESS_THAN_PREVIOUS"
    READING_IMPLAUSIBLE = "READING_IMPLAUSIBLE"
    READING_ZONES_MISMATCH = "READING_ZONES_MISMATCH"
    AMOUNT_INVALID = "AMOUNT_INVALID"
    NOTHING_TO_PAY = "NOTHING_TO_PAY"
    PAYMENT_IN_PROGRESS = "PAYMENT_IN_PROGRESS"
    PAYMENT_NOT_CANCELLABLE = "PAYMENT_NOT_CANCELLABLE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    ACTIVATION_ALREADY_DECIDED = "ACTIVATION_ALREADY_DECIDED"


@strawberry.interface
class Error:
    code: ErrorCode
    message: str


@strawberry.type
class FieldError:
    path: list[str] = strawberry.field(
        description='Where in the arguments, e.g. ["input", "values", "1", "value"] or ["newPassword"].'
    )
    code: ErrorCode
    message: str


@strawberry.type(description="The input is malformed or breaks a field rule; every offending field is listed.")
class ValidationError(Error):
    fields: list[FieldError]


@strawberry.type(description="A business rule refused the operation (duplicate date, payment in progress, ...).")
class OperationError(Error):
    retry_after: int | None = strawberry.field(
        default=None,
        description="Seconds to wait before trying again, where that applies (TOO_MANY_ATTEMPTS, PAYMENT_IN_PROGRESS).",
    )
    payment_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="PAYMENT_IN_PROGRESS: the open InternetPayment in the way (wait for it, or paymentCancel it).",
    )


def error_of(exc: DomainError, language: str) -> ValidationError | OperationError:
    """Map a domain exception to its contract type, with a message in the caller's language."""
    if isinstance(exc, InvalidInput):
        fields = [
            FieldError(path=list(p.path), code=ErrorCode(p.code), message=message(p.code, language, **p.params))
            for p in exc.problems
        ]
        first = exc.problems[0]
        return ValidationError(
            code=ErrorCode(exc.code),
            message=message(first.code, language, **first.params),
            fields=fields,
        )
    if isinstance(exc, NotFound):
        text = message("NOT_FOUND", language)
        return ValidationError(
            code=ErrorCode.NOT_FOUND,
            message=text,
            fields=[FieldError(path=list(exc.path), code=ErrorCode.NOT_FOUND, message=text)],
        )
    retry_after = exc.retry_after if isinstance(exc, OperationRefused) else None
    payment_id = (
        strawberry.ID(global_id("InternetPayment", exc.payment_id)) if isinstance(exc, PaymentInProgress) else None
    )
    return OperationError(
        code=ErrorCode(exc.code),
        message=message(exc.code, language, **exc.params),
        retry_after=retry_after,
        payment_id=payment_id,
    )


async def result_of(
    info: strawberry.Info, work: Awaitable[T], wrap: Callable[[T], S]
) -> S | ValidationError | OperationError:
    """Await a resolver; its value is wrapped as the Success type, its refusal as an Error."""
    try:
        value = await work
    except DomainError as exc:
        return error_of(exc, info.context.language)
    return wrap(value)


async def refusal_result_of(info: strawberry.Info, work: Awaitable[T], wrap: Callable[[T], S]) -> S | OperationError:
    """result_of for a union without ValidationError: the work refuses but takes no input to check."""
    try:
        value = await work
    except DomainError as exc:
        error = error_of(exc, info.context.language)
        if isinstance(error, ValidationError):
            raise  # not this union's: masked like any unexpected error
        return error
    return wrap(value)
