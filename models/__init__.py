"""All tables, imported so that Base.metadata knows them."""

from models.account import Account, AuditEntry, AuthSession, AuthToken, OneTimeToken, Throttle, ThrottleSubject
from models.base import Base
from models.bill import BILL_NUMBERS, Bill, BillLine
from models.document import Document
from models.meter import Meter, MeterReading
from models.outbox import OutboxMessage
from models.payment import AggregatorPayment, ApiClient, BankCallback, InternetPayment, Payment
from models.personal_account import ActivationRequest, PersonalAccount
from models.reference import Oblast, Res, Terms
from models.schedule import Instalment, RepaymentSchedule, ViolationAct
from models.tariff import Tariff, TariffBlock
from models.trusted_document import TrustedDocument

__all__ = [
    "Account",
    "ActivationRequest",
    "AggregatorPayment",
    "ApiClient",
    "AuditEntry",
    "AuthSession",
    "AuthToken",
    "BankCallback",
    "Base",
    "BILL_NUMBERS",
    "Bill",
    "BillLine",
    "Document",
    "Instalment",
    "InternetPayment",
    "Meter",
    "MeterReading",
    "Oblast",
    "OneTimeToken",
    "OutboxMessage",
    "Payment",
    "PersonalAccount",
    "RepaymentSchedule",
    "Res",
    "Tariff",
    "TariffBlock",
    "Terms",
    "Throttle",
    "ThrottleSubject",
    "TrustedDocument",
    "ViolationAct",
]
