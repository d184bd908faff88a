"""The HTML of the bill and the receipt, for xhtml2pdf (one A4 page for an ordinary bill).

Every value is escaped; images come in as data: URIs.
"""

from __future__ import annotations

import base64
from html import escape

from pdf import labels as L
from pdf.data import BillDocument, ReceiptDocument
from pdf.fonts import FAMILY, font_face_css

STYLE = """
@page { size: a4 portrait; margin: 11mm 12mm 10mm 12mm; }
html, body, title { font-family: %(family)s; }
body { font-size: 8pt; color: #111; }
table { width: 100%%; }
td, th { vertical-align: top; padding: 1.2pt 3pt 0.6pt 3pt; }
h1 { font-size: 13pt; margin: 0; padding: 0; }
.muted { color: #555; }
.small { font-size: 7pt; }
.b { font-weight: bold; }
.r { text-align: right; }
.c { text-align: center; }
.box { border: 0.6pt solid #777; }
.section { font-size: 8.5pt; font-weight: bold; padding-top: 5pt; padding-bottom: 1.5pt; }
.grid th { background-color: #e9eef4; font-weight: bold; border: 0.5pt solid #999; font-size: 7.3pt; }
.grid td { border: 0.5pt solid #999; }
.total td { font-weight: bold; background-color: #f4f6f9; }
.cut { color: #666; font-size: 7pt; text-align: center; padding-top: 6pt; }
.slip { border: 0.8pt dashed #555; }
.notice { border: 0.6pt solid #777; background-color: #f4f6f9; padding: 4pt; }
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _img(png: bytes, *, width_mm: float, height_mm: float) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" style="width: {width_mm}mm; height: {height_mm}mm;">'


def _page(title: str, body: str) -> str:
    style = font_face_css() + STYLE % {"family": FAMILY}
    return (
        "<!DOCTYPE html><html lang='uk'><head><meta charset='utf-8'>"
        f"<style>{style}</style><title>{_e(title)}</title></head><body>{body}</body></html>"
    )


def _supplier_block(doc: BillDocument | ReceiptDocument) -> str:
    s = doc.supplier
    return (
        f"<div class='b' style='font-size: 10pt;'>{_e(s.name)}</div>"
        f"<div>{_e(s.res_name)}</div>"
        f"<div>Код ЄДРПОУ: {_e(s.edrpou)}</div>"
        f"<div>IBAN: {_e(s.iban)}</div>"
        f"<div class='muted'>{_e(s.address)}</div>"
    )


def _consumer_block(doc: BillDocument | ReceiptDocument) -> str:
    return (
        "<table class='box'><tr>"
        f"<td style='width: 30%;'>Особовий рахунок: <span class='b'>{_e(doc.personal_account_number)}</span></td>"
        f"<td style='width: 70%;'>Споживач: <span class='b'>{_e(doc.holder_name)}</span></td></tr>"
        f"<tr><td colspan='2'>Адреса: {_e(doc.address)}</td></tr>"
        + (_meter_row(doc) if isinstance(doc, BillDocument) else "")
        + "</table>"
    )


def _meter_row(doc: BillDocument) -> str:
    m = doc.meter
    if m is None:
        return ""
    zones = ", ".join(L.ZONE_NAMES.get(z, z) for z in m.zones)
    model = f", {_e(m.model)}" if m.model else ""
    return (
        f"<tr><td colspan='2'>Лічильник: № {_e(m.serial_number)}{model}; розрядність: {m.digits}; "
        f"зони: {_e(zones)}</td></tr>"
    )


def _readings_block(doc: BillDocument) -> str:
    r = doc.readings
    if r is None:
        if doc.consumption is None:
            return ""
        return f"<div class='section'>Спожито: {doc.consumption} кВт·год</div>"
    rows = "".join(
        "<tr>"
        f"<td>{_e(L.ZONE_NAMES.get(z.zone, z.zone))}</td>"
        f"<td class='r'>{'' if z.previous is None else z.previous}</td>"
        f"<td class='r'>{z.current}</td>"
        f"<td class='r'>{'' if z.consumption is None else z.consumption}</td>"
        "</tr>"
        for z in r.zones
    )
    total = "" if r.consumption is None else f"{r.consumption}"
    return (
        "<div class='section'>Показання лічильника</div>"
        "<table class='grid'>"
        "<tr><th style='width: 22%;'>Зона</th>"
        f"<th style='width: 26%;'>Попередні показання ({L.day(r.previous_on)})</th>"
        f"<th style='width: 26%;'>Поточні показання ({L.day(r.current_on)})</th>"
        "<th style='width: 26%;'>Спожито, кВт·год</th></tr>"
        f"{rows}"
        f"<tr class='total'><td colspan='3'>Спожито всього, кВт·год</td><td class='r'>{total}</td></tr>"
        "</table>"
    )


def _lines_block(doc: BillDocument) -> str:
    # kWh at a tariff's price, or (a service, a piece of work) so many units at a price each.
    in_kwh = all(L.is_kwh(line.unit) for line in doc.lines if line.quantity is not None)

    def amount_cells(line) -> str:
        if in_kwh:
            return f"<td class='r'>{L.quantity(line.quantity)}</td><td class='r'>{L.price(line.price)}</td>"
        unit = f" {_e(line.unit)}" if line.quantity is not None and line.unit else ""
        return f"<td class='r'>{L.quantity(line.quantity)}{unit}</td><td class='r'>{L.unit_price(line.price)}</td>"

    rows = "".join(
        "<tr>"
        f"<td>{_e(line.description)}</td>"
        f"<td class='c'>{'' if line.block is None else line.block}</td>"
        f"<td class='c'>{_e(L.ZONE_NAMES.get(line.zone, line.zone)) if line.zone else ''}</td>"
        f"{amount_cells(line)}"
        f"<td class='r'>{L.coefficient(line.coefficient)}</td>"
        f"<td class='r'>{L.money(line.amount)}</td>"
        "</tr>"
        for line in doc.lines
    )
    if not doc.lines:
        rows = f"<tr><td colspan='6'>{_e(L.KIND_TITLES.get(doc.kind, doc.kind))}</td><td class='r'>{L.money(doc.amount)}</td></tr>"
    quantity, price = ("кВт·год", "Ціна, грн/кВт·год") if in_kwh else ("Кількість", "Ціна, грн")
    return (
        "<div class='section'>Нарахування</div>"
        "<table class='grid'>"
        "<tr><th style='width: 43%;'>Послуга, тариф</th><th style='width: 6%;'>Блок</th>"
        f"<th style='width: 9%;'>Зона</th><th style='width: 9%;'>{quantity}</th>"
        f"<th style='width: 11%;'>{price}</th><th style='width: 8%;'>Коеф.</th>"
        "<th style='width: 14%;'>Сума, грн</th></tr>"
        f"{rows}"
        f"<tr class='total'><td colspan='6'>Разом за рахунком, грн</td><td class='r'>{L.money(doc.amount)}</td></tr>"
        "</table>"
    )


def _debts_table(doc: BillDocument) -> str:
    rows = "".join(
        f"<tr><td style='width: 65%;'>{_e(L.DEBT_LABELS.get(d.category, d.category))}</td>"
        f"<td class='r' style='width: 35%;'>{L.money(d.amount)}</td></tr>"
        for d in doc.debts
    )
    return (
        f"<div class='section'>Заборгованість станом на {L.day(doc.issued_on)}, грн</div>"
        f"<table class='grid'>{rows}</table>"
        "<div class='small muted'>Від’ємна сума — переплата. Заборгованість за графіком (ГПЗ) "
        "враховано за внесками, строк яких настав.</div>"
    )


def _chart(doc: BillDocument, chart_png: bytes | None) -> str:
    if chart_png is None:
        return ""
    return "<div class='section'>Споживання за 12 місяців, кВт·год</div>" + _img(chart_png, width_mm=92, height_mm=36.8)


def _due(doc: BillDocument) -> str:
    """What the bill asks for as of the slip's day: the rest of the page is the bill as issued."""
    slip = doc.slip
    if slip is None:
        return ""
    if slip.paid:
        return (
            "<div class='notice' style='margin-top: 5pt;'>"
            f"Станом на {L.day(slip.as_of)} рахунок сплачено: сплачувати за ним не потрібно.</div>"
        )
    paid = doc.amount - slip.amount_due
    partly = (
        f"<div class='small muted'>Сума рахунку {L.money(doc.amount)} грн, сплачено {L.money(paid)} грн</div>"
        if paid > 0
        else ""
    )
    return (
        "<table class='notice' style='margin-top: 5pt;'><tr>"
        f"<td style='width: 58%;'>Призначення платежу: <span class='b'>{_e(doc.purpose)}</span></td>"
        f"<td style='width: 42%;' class='r'><div>До сплати станом на {L.day(slip.as_of)}:</div>"
        f"<div class='b' style='font-size: 11pt;'>{L.money(slip.amount_due)} грн</div>{partly}</td>"
        "</tr></table>"
    )


def _slip(doc: BillDocument, qr_png: bytes | None) -> str:
    s = doc.supplier
    slip = doc.slip
    if slip is None:
        return "<div class='notice' style='margin-top: 8pt;'>Рахунок зменшує нарахування: сплачувати за ним не потрібно.</div>"
    if slip.paid:  # _due says so; a slip to tear off would only invite paying twice
        return ""
    qr = (
        _img(qr_png, width_mm=38, height_mm=38)
        + "<div class='small c'>QR-код НБУ для оплати:<br>відскануйте камерою або в застосунку банку</div>"
        if qr_png is not None
        else ""
    )
    return (
        "<div class='cut'>✂ - - - - - - - - - - - - - - - - - - - - - - лінія відрізу - - - - - - - - - - - - - - - - - - - - - - ✂</div>"
        "<table class='slip'><tr>"
        "<td style='width: 72%;'>"
        f"<div class='b' style='font-size: 9pt; padding-bottom: 2pt;'>Платіжна квитанція до рахунку № {doc.number}</div>"
        "<table>"
        f"<tr><td style='width: 27%;' class='muted'>Отримувач</td><td class='b'>{_e(s.name)}</td></tr>"
        f"<tr><td class='muted'>Код ЄДРПОУ</td><td>{_e(s.edrpou)}</td></tr>"
        f"<tr><td class='muted'>IBAN</td><td class='b'>{_e(s.iban)}</td></tr>"
        f"<tr><td class='muted'>Особовий рахунок</td><td>{_e(doc.personal_account_number)}</td></tr>"
        f"<tr><td class='muted'>Платник</td><td>{_e(doc.holder_name)}, {_e(doc.address)}</td></tr>"
        f"<tr><td class='muted'>Призначення</td><td>{_e(doc.purpose)}</td></tr>"
        f"<tr><td colspan='2'>Сума до сплати станом на {L.day(slip.as_of)}, грн: "
        f"<span class='b' style='font-size: 10pt;'>{L.money(slip.amount_due)}</span></td></tr>"
        "</table>"
        "<div class='small muted' style='padding-top: 3pt;'>Підпис платника ____________________ &nbsp;&nbsp; Дата ____________</div>"
        "</td>"
        f"<td style='width: 28%;' class='c'>{qr}</td>"
        "</tr></table>"
    )


def bill_html(doc: BillDocument, *, chart_png: bytes | None, qr_png: bytes | None) -> str:
    head = (
        "<table><tr>"  # the supplier left, the bill's number and dates right
        f"<td style='width: 56%;'>{_supplier_block(doc)}</td>"
        "<td style='width: 44%;' class='r'>"
        f"<h1>РАХУНОК № {doc.number}</h1>"
        f"<div>{_e(L.KIND_TITLES.get(doc.kind, doc.kind)).capitalize()}</div>"
        f"<div>Дата формування: <span class='b'>{L.day(doc.issued_on)}</span></div>"
        f"<div>Розрахунковий період: <span class='b'>{L.period(doc.kind, doc.period_start, doc.period_end)}</span></div>"
        + (f"<div>Сплатити до: <span class='b'>{L.day(doc.due_on)}</span></div>" if doc.amount > 0 else "")
        + "</td></tr></table>"
    )
    bottom = (
        "<table><tr>"
        f"<td style='width: 42%; padding-left: 0;'>{_debts_table(doc)}</td>"
        f"<td style='width: 58%;' class='r'>{_chart(doc, chart_png)}</td>"
        "</tr></table>"
    )
    body = (
        head
        + "<div style='padding-top: 4pt;'></div>"
        + _consumer_block(doc)
        + _readings_block(doc)
        + _lines_block(doc)
        + bottom
        + _due(doc)
        + _slip(doc, qr_png)
    )
    return _page(f"Рахунок № {doc.number}", body)


def receipt_html(doc: ReceiptDocument) -> str:
    rows = [
        ("Платіж (ID платежу)", str(doc.payment_number)),
        ("Сума, грн", L.money(doc.amount)),
        ("Стаття", L.CATEGORY_NAMES.get(doc.category, doc.category)),
        ("Особовий рахунок", doc.personal_account_number),
        ("Споживач", doc.holder_name),
        ("Адреса", doc.address),
        ("Призначення платежу", doc.purpose),
        ("Створено", L.kyiv_time(doc.created_at) + " (Київ)"),
        ("Підтверджено банком", L.kyiv_time(doc.confirmed_at) + " (Київ)"),
        ("Ідентифікатор платежу в банку", doc.bank_payment_id or "—"),
        ("Статус", L.PAYMENT_STATUSES.get(doc.status, doc.status)),
    ]
    if doc.bill_number is not None:
        rows.insert(3, ("Рахунок", f"№ {doc.bill_number}"))
    table = "".join(
        f"<tr><td style='width: 35%;' class='muted'>{_e(k)}</td><td class='b'>{_e(v)}</td></tr>" for k, v in rows
    )
    body = (
        f"<table><tr><td style='width: 60%;'>{_supplier_block(doc)}</td>"
        f"<td style='width: 40%;' class='r'><h1>ЧЕК № {doc.payment_number}</h1>"
        "<div>про оплату платіжною карткою</div></td></tr></table>"
        "<div style='padding-top: 8pt;'></div>"
        f"<table class='grid'>{table}</table>"
        "<div class='small muted' style='padding-top: 6pt;'>Платіж зараховано на особовий рахунок за підтвердженням банку. "
        "Документ сформовано в персональному кабінеті UENS.</div>"
    )
    return _page(f"Чек № {doc.payment_number}", body)
