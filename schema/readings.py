"""meterReadingPreview («Рассчитать») and meterReadingSubmit («Подтвердить»)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import strawberry

from resolvers import loaders
from resolvers import readings as reading_resolvers
from schema.bill import Bill, BillLine, bill_of
from schema.enums import MeterZone
from schema.errors import OperationError, ValidationError, result_of
from schema.personal_account import PersonalAccount
from schema.reading import MeterReading, ZoneValue
from services.billing import bill_lines
from services.readings import ReadingEvaluation, SubmitOutcome, ZoneReading


@strawberry.input
class ZoneValueInput:
    zone: MeterZone
    value: int


@strawberry.input
class MeterReadingInput:
    personal_account_id: strawberry.ID
    taken_on: dt.date
    values: list[ZoneValueInput]

    def zone_readings(self) -> list[ZoneReading]:
        return [ZoneReading(zone=v.zone.value, value=v.value) for v in self.values]


@strawberry.type
class ReadingPreview:
    evaluation: strawberry.Private[ReadingEvaluation]

    @strawberry.field
    def taken_on(self) -> dt.date:
        return self.evaluation.taken_on

    @strawberry.field
    async def previous(self, info: strawberry.Info) -> MeterReading | None:
        row = await loaders.ReadingByIdLoader.of(info.context).load(self.evaluation.previous.id)
        return MeterReading(row=row) if row is not None else None

    @strawberry.field
    def values(self) -> list[ZoneValue]:
        e = self.evaluation
        return [
            ZoneValue(zone=MeterZone(z), value=v, consumption=c)
            for z, v, c in zip(e.zones, e.values, e.consumptions, strict=True)
        ]

    @strawberry.field
    def consumption(self) -> int:
        return self.evaluation.consumption

    @strawberry.field(description="The bill lines this reading would form, priced by the tariff in force.")
    def lines(self) -> list[BillLine]:
        return [BillLine(row=line) for line in bill_lines(self.evaluation.pricing)]

    @strawberry.field
    def amount(self) -> Decimal:
        return self.evaluation.pricing.amount


ReadingPreviewResult = Annotated[
    ReadingPreview | ValidationError | OperationError, strawberry.union("ReadingPreviewResult")
]


@strawberry.type
class MeterReadingSubmitSuccess:
    outcome: strawberry.Private[SubmitOutcome]

    @strawberry.field
    async def reading(self, info: strawberry.Info) -> MeterReading:
        return MeterReading(row=await loaders.ReadingByIdLoader.of(info.context).load(self.outcome.reading_id))

    @strawberry.field(description="The bill formed from it (the manual: «Был сформирован новый счёт №…»).")
    async def bill(self, info: strawberry.Info) -> Bill | None:
        return await bill_of(info, self.outcome.bill_id)

    @strawberry.field(description="The personal account after the change (debt, last reading).")
    async def personal_account(self, info: strawberry.Info) -> PersonalAccount:
        return PersonalAccount(
            row=await loaders.PersonalAccountByIdLoader.of(info.context).load(self.outcome.personal_account_id)
        )

    @strawberry.field(description="True when the same reading had been submitted before: nothing new was stored.")
    def replayed(self) -> bool:
        return self.outcome.replayed


MeterReadingSubmitResult = Annotated[
    MeterReadingSubmitSuccess | ValidationError | OperationError, strawberry.union("MeterReadingSubmitResult")
]


@strawberry.type
class ReadingQueries:
    @strawberry.field(description="The manual's «Рассчитать»: what a reading would give, changing nothing.")
    async def meter_reading_preview(self, info: strawberry.Info, input: MeterReadingInput) -> ReadingPreviewResult:
        return await result_of(
            info,
            reading_resolvers.preview(
                info.context,
                personal_account_id=input.personal_account_id,
                taken_on=input.taken_on,
                values=input.zone_readings(),
            ),
            lambda e: ReadingPreview(evaluation=e),
        )


@strawberry.type
class ReadingMutations:
    @strawberry.mutation
    async def meter_reading_submit(self, info: strawberry.Info, input: MeterReadingInput) -> MeterReadingSubmitResult:
        return await result_of(
            info,
            reading_resolvers.submit(
                info.context,
                personal_account_id=input.personal_account_id,
                taken_on=input.taken_on,
                values=input.zone_readings(),
            ),
            lambda o: MeterReadingSubmitSuccess(outcome=o),
        )
