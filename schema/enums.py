"""The contract's enumerations, exposed from the domain's own."""

from __future__ import annotations

import strawberry

from models import base

Role = strawberry.enum(base.Role)
AccountStatus = strawberry.enum(base.AccountStatus)
ActivationStatus = strawberry.enum(base.ActivationStatus)
ActivationMethod = strawberry.enum(base.ActivationMethod)
ChargeCategory = strawberry.enum(base.ChargeCategory)
MeterZone = strawberry.enum(base.MeterZone)
ReadingSource = strawberry.enum(base.ReadingSource)
BillKind = strawberry.enum(base.BillKind)
PaymentChannel = strawberry.enum(base.PaymentChannel)
InternetPaymentStatus = strawberry.enum(base.InternetPaymentStatus)
BillStatus = strawberry.enum(base.BillStatus)
