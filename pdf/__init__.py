"""PDF documents (bill, payment receipt): rendered from plain data, knowing no services."""

from pdf.data import (
    BillDocument,
    BillLine,
    CategoryDebt,
    Meter,
    MonthKwh,
    PaymentSlip,
    Readings,
    ReceiptDocument,
    Supplier,
    ZoneReading,
)
from pdf.render import RenderError, bill_payment_url, bill_pdf, receipt_pdf

__all__ = [
    "BillDocument",
    "BillLine",
    "CategoryDebt",
    "Meter",
    "MonthKwh",
    "PaymentSlip",
    "Readings",
    "ReceiptDocument",
    "RenderError",
    "Supplier",
    "ZoneReading",
    "bill_payment_url",
    "bill_pdf",
    "receipt_pdf",
]
