"""schema/errors.py: a resolver's refusal becomes its union's error type, in the caller's language."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from schema.errors import OperationError, ValidationError, refusal_result_of, result_of
from services.errors import InvalidInput, NotFound, OperationRefused, Problems

INFO = SimpleNamespace(context=SimpleNamespace(language="en"))


async def _raising(error: Exception):
    raise error


async def _value():
    return 42


async def test_a_value_is_wrapped_as_the_success_type():
    assert await result_of(INFO, _value(), lambda v: ("success", v)) == ("success", 42)
    assert await refusal_result_of(INFO, _value(), lambda v: ("success", v)) == ("success", 42)


async def test_a_refusal_is_an_operation_error_with_its_code():
    for mapping in (result_of, refusal_result_of):
        error = await mapping(INFO, _raising(OperationRefused("TOKEN_INVALID")), lambda v: v)
        assert isinstance(error, OperationError) and error.code.value == "TOKEN_INVALID" and error.message


async def test_bad_input_is_a_validation_error_listing_each_field():
    problems = Problems()
    problems.add(("input", "amount"), "REQUIRED")
    problems.add(("input", "category"), "REQUIRED")
    error = await result_of(INFO, _raising(InvalidInput(problems.items)), lambda v: v)
    assert isinstance(error, ValidationError)
    assert [(f.path, f.code.value) for f in error.fields] == [
        (["input", "amount"], "REQUIRED"),
        (["input", "category"], "REQUIRED"),
    ]


def _invalid() -> InvalidInput:
    problems = Problems()
    problems.add(("refreshToken",), "REQUIRED")
    return InvalidInput(problems.items)


@pytest.mark.parametrize("make", [_invalid, lambda: NotFound(("id",))])
async def test_a_union_without_validation_error_never_returns_one(make):
    # tokenRevoke's union has no ValidationError: such an error is not data there, it stays an
    # exception (masked like any unexpected one) instead of a member the union cannot hold.
    error = make()
    with pytest.raises(type(error)):
        await refusal_result_of(INFO, _raising(error), lambda v: v)
