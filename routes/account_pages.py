"""Where the links in mail land when the app is its own frontend (the demo): a minimal page
for a password reset and one for an email confirmation.

The token rides in the URL's fragment (`#token=…`), which browsers send to no server; the
page's script reads it, takes it out of the address bar, and calls the API's passwordReset /
accountEmailConfirm mutation with fetch. A frontend of its own (CABINET_FRONTEND_URL) serves
these paths itself.
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse

from routes.pages import html_page

# Shared by both pages: the token from the fragment, and one GraphQL call shown in #result.
_COMMON = """
var token = new URLSearchParams(location.hash.slice(1)).get("token");
history.replaceState(null, "", location.pathname + location.search);
var form = document.getElementById("form"), result = document.getElementById("result");
function say(text) { result.textContent = text; }
function call(query, variables) {
  return fetch("/graphql", {
    method: "POST",
    headers: {"Content-Type": "application/json", "Accept-Language": "uk"},
    body: JSON.stringify({query: query, variables: variables})
  }).then(function (response) { return response.json(); });
}
function answer(payload, done) {
  if (!payload) { say("Не вдалося зв'язатися з кабінетом. Спробуйте ще раз."); return false; }
  if (payload.__typename === "ValidationError" && payload.fields.length) { say(payload.fields[0].message); return false; }
  if (payload.message) { say(payload.message); return false; }
  say(done); form.hidden = true; document.getElementById("back").hidden = false; return true;
}
if (!token) { say("У посиланні немає коду. Відкрийте посилання з листа ще раз."); form.hidden = true; }
"""

PASSWORD_RESET_SCRIPT = (
    "(function () {"
    + _COMMON
    + """
form.addEventListener("submit", function (event) {
  event.preventDefault();
  var password = form.elements.password.value;
  if (password !== form.elements.again.value) { say("Паролі не збігаються."); return; }
  form.elements.send.disabled = true;
  call("mutation($t: String!, $p: String!) { passwordReset(token: $t, newPassword: $p) { __typename "
       + "... on Error { message } ... on ValidationError { fields { message } } } }", {t: token, p: password})
    .then(function (body) { return body.data && body.data.passwordReset; }, function () { return null; })
    .then(function (payload) {
      answer(payload, "Пароль змінено. Увійдіть до кабінету з новим паролем.");
      form.elements.send.disabled = false;
    });
});
})();"""
)

EMAIL_CONFIRM_SCRIPT = (
    "(function () {"
    + _COMMON
    + """
form.addEventListener("submit", function (event) {
  event.preventDefault();
  form.elements.send.disabled = true;
  call("mutation($t: String!) { accountEmailConfirm(token: $t) { __typename "
       + "... on Error { message } ... on ValidationError { fields { message } } } }", {t: token})
    .then(function (body) { return body.data && body.data.accountEmailConfirm; }, function () { return null; })
    .then(function (payload) {
      answer(payload, "Адресу підтверджено: листи кабінету надходитимуть на неї.");
      form.elements.send.disabled = false;
    });
});
})();"""
)


def _back(request: Request) -> str:
    home = html.escape(request.app.state.settings.frontend_root + "/")
    return f"<p id='back' hidden><a href='{home}'>До кабінету</a></p>"


async def password_reset_page(request: Request) -> HTMLResponse:
    body = (
        "<h1>Новий пароль</h1>"
        "<form id='form'>"
        "<label for='password'>Новий пароль (від 8 до 128 символів)</label>"
        "<input id='password' name='password' type='password' autocomplete='new-password' minlength='8' maxlength='128' required>"
        "<label for='again'>Ще раз</label>"
        "<input id='again' name='again' type='password' autocomplete='new-password' minlength='8' maxlength='128' required>"
        "<button name='send'>Змінити пароль</button></form>"
        "<p id='result' role='status'></p>" + _back(request)
    )
    return html_page("Новий пароль", body, script=PASSWORD_RESET_SCRIPT)


async def email_confirm_page(request: Request) -> HTMLResponse:
    # A button, not a call on load: mail scanners that open links must not confirm them.
    body = (
        "<h1>Підтвердження адреси</h1>"
        "<form id='form'><p>Натисніть, щоб підтвердити нову адресу електронної пошти.</p>"
        "<button name='send'>Підтвердити адресу</button></form>"
        "<p id='result' role='status'></p>" + _back(request)
    )
    return html_page("Підтвердження адреси", body, script=EMAIL_CONFIRM_SCRIPT)
