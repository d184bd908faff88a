"""HTML to PDF with xhtml2pdf. Blocking and CPU-bound: callers run it in a thread."""

from __future__ import annotations

import io
import logging
import threading

from pdf.chart import consumption_chart_png
from pdf.data import BillDocument, ReceiptDocument
from pdf.qr import nbu_payment_url, qr_png
from pdf.templates import bill_html, receipt_html

log = logging.getLogger(f"cabinet.{__name__}")
# reportlab's font registry and xhtml2pdf's context are process-global: one render at a time.
_LOCK = threading.Lock()


class RenderError(RuntimeError):
    pass


def _policy():
    """What a render may read: our font files only (the chart and QR are data: URIs).

    xhtml2pdf otherwise confines local reads to the working directory, so the
    font would load only when the virtualenv happens to sit under it."""
    from xhtml2pdf.config.resources import ResourceAccessPolicy

    from pdf.fonts import font_dir

    return ResourceAccessPolicy(allow_remote=False, base_dir=None, extra_roots=(font_dir(),))


def html_pdf(html: str) -> bytes:
    from xhtml2pdf import pisa

    out = io.BytesIO()
    with _LOCK:
        status = pisa.CreatePDF(src=html, dest=out, encoding="utf-8", resource_policy=_policy())
    if status.err:
        raise RenderError(f"xhtml2pdf reported {status.err} error(s)")
    return out.getvalue()


def bill_payment_url(doc: BillDocument) -> str | None:
    """What the bill's QR code carries: the amount still due as of the slip's day; None when
    nothing is due (a paid bill, or one of zero or less)."""
    if doc.slip is None or doc.slip.paid:
        return None
    return nbu_payment_url(
        recipient=doc.supplier.name,
        iban=doc.supplier.iban,
        amount=doc.slip.amount_due,
        recipient_code=doc.supplier.edrpou,
        purpose=doc.purpose,
    )


def bill_pdf(data: BillDocument) -> bytes:
    url = bill_payment_url(data)
    qr = qr_png(url) if url is not None else None
    chart = consumption_chart_png(data.consumption_history) if data.consumption_history else None
    return html_pdf(bill_html(data, chart_png=chart, qr_png=qr))


def receipt_pdf(data: ReceiptDocument) -> bytes:
    return html_pdf(receipt_html(data))
