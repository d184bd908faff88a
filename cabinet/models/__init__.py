"""All tables, imported so that Base.metadata knows them."""
from cabinet.models.account import Account, AuditEntry, AuthSession, AuthToken, OneTimeToken, Throttle
from cabinet.models.base import Base
from cabinet.models.bill import Bill, BillLine, BillNumberCounter
from cabinet.models.document import Document
from cabinet.models.meter import Meter, MeterReading
from cabinet.models.outbox import OutboxMessage
from cabinet.models.payment import AggregatorPayment, ApiClient, BankCallback, InternetPayment, Payment
from cabinet.models.personal_account import ActivationRequest, PersonalAccount
from cabinet.models.reference import Oblast, Res, Terms
from cabinet.models.schedule import Instalment, RepaymentSchedule, ViolationAct
from cabinet.models.tariff import Tariff, TariffBlock

__all__ = [
    "Account", "ActivationRequest", "AggregatorPayment", "ApiClient", "AuditEntry", "AuthSession",
    "AuthToken", "BankCallback", "Base", "Bill", "BillLine", "BillNumberCounter", "Document",
    "Instalment", "InternetPayment", "Meter", "MeterReading", "Oblast", "OneTimeToken",
    "OutboxMessage", "Payment", "PersonalAccount", "RepaymentSchedule", "Res", "Tariff",
    "TariffBlock", "Terms", "Throttle", "ViolationAct",
]
