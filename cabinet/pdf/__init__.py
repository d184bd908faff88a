"""PDF documents (bill, payment receipt): rendered from plain data, knowing no services."""
from cabinet.pdf.data import (
    BillDocument,
    BillLine,
    CategoryDebt,
    Meter,
    MonthKwh,
    Readings,
    ReceiptDocument,
    Supplier,
    ZoneReading,
)
from cabinet.pdf.render import RenderError, bill_payment_url, bill_pdf, receipt_pdf

__all__ = [
    "BillDocument", "BillLine", "CategoryDebt", "Meter", "MonthKwh", "Readings", "ReceiptDocument",
    "RenderError", "Supplier", "ZoneReading", "bill_payment_url", "bill_pdf", "receipt_pdf",
]
