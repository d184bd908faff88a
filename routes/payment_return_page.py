"""What the return page says, in Ukrainian, for each state of the payment; while the bank has
not said its word, a small script polls the payment's status and reloads on a change."""

from __future__ import annotations

import html

from starlette.responses import HTMLResponse

from models.base import InternetPaymentStatus as S
from pdf import labels as L
from routes.pages import html_page
from services.payment_return import ReturnState

OPEN = (S.CREATED, S.PENDING)
POLL_SCRIPT = """(function () {
var box = document.getElementById("payment"), url = box.dataset.statusUrl, shown = box.dataset.status;
function poll() {
  fetch(url, {headers: {"Accept": "application/json"}, cache: "no-store"})
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (state) {
      if (state === null) return;
      if (state.status !== shown) { location.reload(); return; }
      setTimeout(poll, 2000);
    }, function () { setTimeout(poll, 5000); });
}
setTimeout(poll, 2000);
})();"""

# (heading, what it means) by state; {what} is «платіж № … на суму … грн».
TEXTS: dict[S, tuple[str, str]] = {
    S.CREATED: ("Очікуємо відповідь банку", "Банк ще не повідомив, чим завершився {what}. Сторінка оновиться сама."),
    S.PENDING: ("Банк обробляє платіж", "{what_cap} очікує підтвердження банку. Сторінка оновиться сама."),
    S.PROCESSED: ("Дякуємо! Платіж зараховано", "{what_cap} зараховано {confirmed}."),
    S.FAILED: ("Платіж не пройшов", "Банк відхилив {what}. Спробуйте ще раз або скористайтеся іншою карткою."),
    S.EXPIRED: (
        "Платіж не завершено",
        "{what_cap} не було завершено вчасно. Якщо банк усе ж спише кошти, їх буде зараховано.",
    ),
    S.REVERSED: ("Платіж повернено", "Банк повернув {what}."),
}


def _back(frontend_root: str) -> str:
    return f"<p><a href='{html.escape(frontend_root + '/')}'>Повернутися до кабінету</a></p>"


def return_page(*, state: ReturnState, status_url: str, frontend_root: str) -> HTMLResponse:
    heading, text = TEXTS[state.status]
    what = f"платіж № {state.number} на суму {L.money(state.amount)} грн"
    sentence = text.format(what=what, what_cap=what[0].upper() + what[1:], confirmed=L.kyiv_time(state.confirmed_at))
    waiting = state.status in OPEN
    body = (
        f"<h1>{html.escape(heading)}</h1>"
        f"<p id='payment' data-status='{state.status.value}' data-status-url='{html.escape(status_url)}'>"
        f"{html.escape(sentence)}</p>" + _back(frontend_root)
    )
    return html_page(heading, body, script=POLL_SCRIPT if waiting else None, refresh=5 if waiting else None)


def unknown_page(*, frontend_root: str, refused: bool) -> HTMLResponse:
    """No reference (a frontend's own returnUrl, a bookmark), or one that is forged or stale."""
    text = (
        "Посилання на цей платіж недійсне або застаріло. Стан платежу видно в кабінеті."
        if refused
        else "Стан платежу видно в кабінеті, щойно банк його підтвердить."
    )
    body = f"<h1>Повернення з банку</h1><p>{html.escape(text)}</p>" + _back(frontend_root)
    return html_page("Повернення з банку", body, status=403 if refused else 200)
