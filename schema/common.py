"""Shared types of the lists: DateRange and PageInfo."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import strawberry

from services.ledger import Listing
from services.pagination import Page
from services.periods import Period


@strawberry.type
class DateRange:
    from_: dt.date = strawberry.field(name="from")
    to: dt.date

    @classmethod
    def of(cls, period: Period) -> DateRange:
        return cls(from_=period.start, to=period.end)


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None

    @classmethod
    def of(cls, page: Page) -> PageInfo:
        return cls(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=page.start_cursor,
            end_cursor=page.end_cursor,
        )


@strawberry.type
class Edge:
    """What every edge has besides its node: the cursor, made only when it is selected."""

    page: strawberry.Private[Page]
    row: strawberry.Private[Any]

    @strawberry.field
    def cursor(self) -> str:
        return self.page.cursor(self.row)


@strawberry.type
class ListingFields:
    """What every filtered list says besides its edges: period, paging, count, sum."""

    listing: strawberry.Private[Listing]
    page: strawberry.Private[Page]
    period: DateRange = strawberry.field(
        default=None,
        description=(
            "The period applied. With no `from`: a year before `to`, or from the issue date of the "
            "oldest bill of the list's categories (ELECTRICITY for readings) that is still owed, "
            "when that is earlier, so the bills the debt is made of show. `from` after `to`: no "
            "days, an empty list, and a BAD_USER_INPUT error on this list's field."
        ),
    )
    page_info: PageInfo = strawberry.field(default=None)
    total_count: int = strawberry.field(default=None)

    def __post_init__(self) -> None:
        # Plain attributes, filled once: Strawberry resolves them without a resolver call each.
        self.period = DateRange.of(self.listing.period)
        self.page_info = PageInfo.of(self.page)
        self.total_count = self.listing.total_count


@strawberry.type
class AmountListingFields(ListingFields):
    total_amount: Decimal = strawberry.field(default=None)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.total_amount = self.listing.total_amount
