"""Domain exceptions. The schema maps them, in one place, to the contract's error types."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


class DomainError(Exception):
    """An expected failure, with a stable code from the contract's ErrorCode.

    The mutation's transaction is rolled back, unless `keep_changes` says the
    refusal is itself a fact to record (a failed sign-in, a revoked token family).
    """

    keep_changes = False

    def __init__(self, code: str, *, keep_changes: bool = False, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params
        self.keep_changes = keep_changes


class OperationRefused(DomainError):
    """A business rule refused the operation (OperationError)."""

    def __init__(
        self, code: str, *, retry_after: int | None = None, keep_changes: bool = False, **params: object
    ) -> None:
        super().__init__(code, keep_changes=keep_changes, **params)
        self.retry_after = retry_after
        if retry_after is not None:
            self.params["retry_after"] = retry_after


class PaymentInProgress(OperationRefused):
    """Another payment of the category is open: wait for its time (retry_after, in seconds) or
    end it (`payment_id`, for paymentCancel)."""

    def __init__(self, *, payment_id: int, retry_after: int) -> None:
        super().__init__("PAYMENT_IN_PROGRESS", retry_after=retry_after, minutes=math.ceil(retry_after / 60))
        self.payment_id = payment_id


@dataclass(frozen=True, slots=True)
class FieldProblem:
    path: tuple[str, ...]
    code: str
    params: dict[str, object] = field(default_factory=dict)


class InvalidInput(DomainError):
    """One or more fields break their rules (ValidationError). The first problem's code leads."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        assert problems, "InvalidInput needs at least one problem"
        super().__init__(problems[0].code)
        self.problems = tuple(problems)

    @classmethod
    def one(cls, path: Sequence[str], code: str, **params: object) -> InvalidInput:
        return cls([FieldProblem(tuple(path), code, dict(params))])


class Problems:
    """Collects every field problem of an input, so all are reported at once."""

    def __init__(self) -> None:
        self.items: list[FieldProblem] = []

    def add(self, path: Sequence[str], code: str, **params: object) -> None:
        self.items.append(FieldProblem(tuple(path), code, dict(params)))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidInput(self.items)


class AuthError(Exception):
    """Top-level GraphQL errors: not signed in (UNAUTHENTICATED) or not allowed (FORBIDDEN)."""

    def __init__(self, code: str, reason: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.reason = reason


class NotFound(DomainError):
    """A missing ID, someone else's ID and a malformed ID all look like this."""

    def __init__(self, path: Sequence[str] = ("id",)) -> None:
        super().__init__("NOT_FOUND")
        self.path = tuple(path)


class BadUserInput(Exception):
    """A query argument out of bounds (e.g. `first` over 100): a top-level BAD_USER_INPUT error."""


def tracebacks_drop(*errors: BaseException | None) -> None:
    """Forget the frames these errors (and what caused them) were raised through, once they
    are logged. An error kept by the request (a memoized refusal, a parse error in the
    execution context) holds, through its frames, the request that holds it: a reference
    cycle, and everything the request reached would wait for the cycle collector
    (tests/test_request_garbage.py)."""
    seen: set[int] = set()
    pending = [e for e in errors if e is not None]
    while pending:
        error = pending.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        error.__traceback__ = None
        pending.extend(
            e
            for e in (getattr(error, "original_error", None), error.__cause__, error.__context__)
            if isinstance(e, BaseException)
        )
