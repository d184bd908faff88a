"""Mail texts in Ukrainian (default), Russian and English, as plain data.

`TEMPLATES[kind][language]` is (subject, body) with str.format placeholders;
`PARAMS[kind]` lists the parameters each kind needs. Values are formatted
before they are put in: money as "97.51 грн", dates as 20.06.2014, moments in
Kyiv time, charge categories by their names in the letter's language.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from i18n import DEFAULT_LANGUAGE, LANGUAGES
from kyiv import kyiv_time
from money import kopecks

PARAMS: dict[str, tuple[str, ...]] = {
    "registration_received": ("full_name", "login"),
    "activation_approved": ("full_name", "login", "res_name", "personal_account_number", "public_url"),
    "activation_rejected": ("full_name", "personal_account_number", "reason"),
    "registration_email_taken": ("email", "public_url"),
    "personal_account_requested": ("full_name", "personal_account_number", "requester_login"),
    "password_reset": ("full_name", "login", "link"),
    "email_change_confirm": ("full_name", "link"),
    "email_changed_notice": ("full_name", "new_email"),
    "bill_formed": ("full_name", "personal_account_number", "bill_number", "amount", "due_on", "link"),
    "payment_processed": (
        "full_name",
        "personal_account_number",
        "payment_number",
        "amount",
        "category",
        "confirmed_at",
        "link",
    ),
}

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "registration_received": {
        "uk": (
            "Заявку на реєстрацію отримано",
            "Доброго дня, {full_name}!\n\n"
            "Ми отримали вашу заявку на реєстрацію в Персональному кабінеті UENS "
            "з логіном {login}.\n\n"
            "Вказані вами дані перевірить працівник UENS. Щойно рішення буде ухвалено, "
            "ми повідомимо вас листом на цю адресу. До того часу увійти до кабінету не вийде.",
        ),
        "ru": (
            "Заявка на регистрацию получена",
            "Здравствуйте, {full_name}!\n\n"
            "Мы получили вашу заявку на регистрацию в Персональном кабинете UENS "
            "с логином {login}.\n\n"
            "Указанные вами данные проверит сотрудник UENS. Как только решение будет принято, "
            "мы сообщим вам письмом на этот адрес. До тех пор войти в кабинет не получится.",
        ),
        "en": (
            "We have received your registration",
            "Dear {full_name},\n\n"
            "We have received your request to register in the UENS Personal Cabinet "
            "with the login {login}.\n\n"
            "A member of UENS staff will check the details you gave. We will write to you "
            "at this address as soon as a decision is made. Until then you cannot sign in.",
        ),
    },
    "activation_approved": {
        "uk": (
            "Особовий рахунок № {personal_account_number} підключено",
            "Доброго дня, {full_name}!\n\n"
            "Особовий рахунок № {personal_account_number} ({res_name}) підключено "
            "до вашого облікового запису {login}. Обліковий запис активний.\n\n"
            "Увійти до кабінету: {public_url}\n\n"
            "У кабінеті ви можете переглядати рахунки й платежі, передавати показники "
            "лічильника та сплачувати онлайн.",
        ),
        "ru": (
            "Лицевой счёт № {personal_account_number} подключён",
            "Здравствуйте, {full_name}!\n\n"
            "Лицевой счёт № {personal_account_number} ({res_name}) подключён "
            "к вашей учётной записи {login}. Учётная запись активна.\n\n"
            "Войти в кабинет: {public_url}\n\n"
            "В кабинете вы можете просматривать счета и платежи, передавать показания "
            "счётчика и оплачивать онлайн.",
        ),
        "en": (
            "Personal account No. {personal_account_number} is linked",
            "Dear {full_name},\n\n"
            "Personal account No. {personal_account_number} ({res_name}) is now linked "
            "to your login {login}, and the login is active.\n\n"
            "Sign in here: {public_url}\n\n"
            "In the cabinet you can see your bills and payments, submit meter readings "
            "and pay online.",
        ),
    },
    "activation_rejected": {
        "uk": (
            "Заявку на підключення особового рахунку № {personal_account_number} відхилено",
            "Доброго дня, {full_name}!\n\n"
            "На жаль, вашу заявку на підключення особового рахунку № {personal_account_number} "
            "відхилено.\n\n"
            "Причина: {reason}\n\n"
            "Ви можете подати нову заявку, перевіривши дані, або звернутися до свого РЕМ.",
        ),
        "ru": (
            "Заявка на подключение лицевого счёта № {personal_account_number} отклонена",
            "Здравствуйте, {full_name}!\n\n"
            "К сожалению, ваша заявка на подключение лицевого счёта № {personal_account_number} "
            "отклонена.\n\n"
            "Причина: {reason}\n\n"
            "Вы можете подать новую заявку, проверив данные, или обратиться в свой РЭС.",
        ),
        "en": (
            "Your request for personal account No. {personal_account_number} was declined",
            "Dear {full_name},\n\n"
            "We are sorry: your request to link personal account No. {personal_account_number} "
            "was declined.\n\n"
            "Reason: {reason}\n\n"
            "You may check your details and send a new request, or contact your district "
            "electricity office (RES).",
        ),
    },
    "registration_email_taken": {
        "uk": (
            "Спроба реєстрації з вашою адресою",
            "Доброго дня!\n\n"
            "Хтось щойно спробував зареєструватися в Персональному кабінеті UENS з адресою "
            "{email}. Ця адреса вже належить обліковому запису в кабінеті, тож новий "
            "обліковий запис не створено.\n\n"
            "Якщо це були ви, увійдіть зі своїм логіном або відновіть пароль: {public_url}\n\n"
            "Якщо це були не ви, просто проігноруйте цей лист: ваш обліковий запис у безпеці.",
        ),
        "ru": (
            "Попытка регистрации с вашим адресом",
            "Здравствуйте!\n\n"
            "Кто-то только что попытался зарегистрироваться в Персональном кабинете UENS "
            "с адресом {email}. Этот адрес уже принадлежит учётной записи в кабинете, "
            "поэтому новая учётная запись не создана.\n\n"
            "Если это были вы, войдите со своим логином или восстановите пароль: {public_url}\n\n"
            "Если это были не вы, просто проигнорируйте это письмо: ваша учётная запись "
            "в безопасности.",
        ),
        "en": (
            "Someone tried to register with your address",
            "Hello,\n\n"
            "Someone has just tried to register in the UENS Personal Cabinet with the address "
            "{email}. This address already belongs to a login in the cabinet, so no new "
            "login was created.\n\n"
            "If it was you, sign in with your login or reset your password here: {public_url}\n\n"
            "If it was not you, simply ignore this message: your login is safe.",
        ),
    },
    "personal_account_requested": {
        "uk": (
            "Запит на доступ до особового рахунку № {personal_account_number}",
            "Доброго дня, {full_name}!\n\n"
            "Користувач з логіном {requester_login} подав заявку на підключення особового "
            "рахунку № {personal_account_number}, який підключено до вашого облікового запису.\n\n"
            "Заявку розгляне працівник UENS; без його рішення інший користувач доступу "
            "до рахунку не отримає. Якщо ви не знаєте цього користувача, зверніться до свого РЕМ.",
        ),
        "ru": (
            "Запрос доступа к лицевому счёту № {personal_account_number}",
            "Здравствуйте, {full_name}!\n\n"
            "Пользователь с логином {requester_login} подал заявку на подключение лицевого "
            "счёта № {personal_account_number}, который подключён к вашей учётной записи.\n\n"
            "Заявку рассмотрит сотрудник UENS; без его решения другой пользователь доступа "
            "к счёту не получит. Если вы не знаете этого пользователя, обратитесь в свой РЭС.",
        ),
        "en": (
            "Access requested to personal account No. {personal_account_number}",
            "Dear {full_name},\n\n"
            "The login {requester_login} has asked to link personal account "
            "No. {personal_account_number}, which is linked to your login.\n\n"
            "A member of UENS staff will review the request; the other login gets no access "
            "without that decision. If you do not know this person, please contact your "
            "district electricity office (RES).",
        ),
    },
    "password_reset": {
        "uk": (
            "Відновлення пароля",
            "Доброго дня, {full_name}!\n\n"
            "Ми отримали запит на відновлення пароля для облікового запису {login}. "
            "Щоб встановити новий пароль, перейдіть за посиланням:\n\n"
            "{link}\n\n"
            "Посилання дійсне протягом 1 години. Якщо ви не надсилали запит, проігноруйте "
            "цей лист: ваш пароль не зміниться.",
        ),
        "ru": (
            "Восстановление пароля",
            "Здравствуйте, {full_name}!\n\n"
            "Мы получили запрос на восстановление пароля для учётной записи {login}. "
            "Чтобы задать новый пароль, перейдите по ссылке:\n\n"
            "{link}\n\n"
            "Ссылка действительна в течение 1 часа. Если вы не отправляли запрос, "
            "проигнорируйте это письмо: ваш пароль не изменится.",
        ),
        "en": (
            "Resetting your password",
            "Dear {full_name},\n\n"
            "We have received a request to reset the password of the login {login}. "
            "To choose a new password, follow this link:\n\n"
            "{link}\n\n"
            "The link is valid for 1 hour. If you did not ask for this, please ignore this "
            "message: your password stays as it is.",
        ),
    },
    "email_change_confirm": {
        "uk": (
            "Підтвердіть нову адресу електронної пошти",
            "Доброго дня, {full_name}!\n\n"
            "У Персональному кабінеті UENS надійшов запит змінити адресу електронної пошти "
            "вашого облікового запису на цю. Щоб підтвердити зміну, перейдіть за посиланням:\n\n"
            "{link}\n\n"
            "До підтвердження діє попередня адреса. Якщо ви нічого не змінювали, "
            "проігноруйте цей лист.",
        ),
        "ru": (
            "Подтвердите новый адрес электронной почты",
            "Здравствуйте, {full_name}!\n\n"
            "В Персональном кабинете UENS поступил запрос изменить адрес электронной почты "
            "вашей учётной записи на этот. Чтобы подтвердить изменение, перейдите по ссылке:\n\n"
            "{link}\n\n"
            "До подтверждения действует прежний адрес. Если вы ничего не меняли, "
            "проигнорируйте это письмо.",
        ),
        "en": (
            "Please confirm your new email address",
            "Dear {full_name},\n\n"
            "The UENS Personal Cabinet has received a request to change your login's email "
            "address to this one. To confirm the change, follow this link:\n\n"
            "{link}\n\n"
            "Until you confirm, your previous address stays in use. If you changed nothing, "
            "please ignore this message.",
        ),
    },
    "email_changed_notice": {
        "uk": (
            "Адресу електронної пошти змінено",
            "Доброго дня, {full_name}!\n\n"
            "Адресу електронної пошти вашого облікового запису в Персональному кабінеті UENS "
            "змінено на {new_email}. Надалі листи з кабінету надходитимуть на нову адресу.\n\n"
            "Якщо ви цього не робили, негайно зверніться до свого РЕМ.",
        ),
        "ru": (
            "Адрес электронной почты изменён",
            "Здравствуйте, {full_name}!\n\n"
            "Адрес электронной почты вашей учётной записи в Персональном кабинете UENS "
            "изменён на {new_email}. Теперь письма из кабинета будут приходить на новый адрес.\n\n"
            "Если вы этого не делали, немедленно обратитесь в свой РЭС.",
        ),
        "en": (
            "Your email address has been changed",
            "Dear {full_name},\n\n"
            "The email address of your login in the UENS Personal Cabinet has been changed "
            "to {new_email}. From now on, mail from the cabinet goes to the new address.\n\n"
            "If you did not do this, please contact your district electricity office (RES) "
            "at once.",
        ),
    },
    "bill_formed": {
        "uk": (
            "Рахунок № {bill_number} сформовано",
            "Доброго дня, {full_name}!\n\n"
            "За особовим рахунком № {personal_account_number} сформовано рахунок "
            "№ {bill_number} на суму {amount}. Сплатіть його, будь ласка, до {due_on}.\n\n"
            "Переглянути рахунок і сплатити онлайн: {link}",
        ),
        "ru": (
            "Счёт № {bill_number} сформирован",
            "Здравствуйте, {full_name}!\n\n"
            "По лицевому счёту № {personal_account_number} сформирован счёт "
            "№ {bill_number} на сумму {amount}. Оплатите его, пожалуйста, до {due_on}.\n\n"
            "Посмотреть счёт и оплатить онлайн: {link}",
        ),
        "en": (
            "Bill No. {bill_number} is ready",
            "Dear {full_name},\n\n"
            "Bill No. {bill_number} for {amount} has been issued on personal account "
            "No. {personal_account_number}. Please pay it by {due_on}.\n\n"
            "View the bill and pay online: {link}",
        ),
    },
    "payment_processed": {
        "uk": (
            "Платіж № {payment_number} зараховано",
            "Доброго дня, {full_name}!\n\n"
            "Платіж № {payment_number} на суму {amount} зараховано на особовий рахунок "
            "№ {personal_account_number} ({category}) {confirmed_at}.\n\n"
            "Квитанцію можна завантажити в кабінеті: {link}\n\n"
            "Дякуємо за своєчасну оплату.",
        ),
        "ru": (
            "Платёж № {payment_number} зачислен",
            "Здравствуйте, {full_name}!\n\n"
            "Платёж № {payment_number} на сумму {amount} зачислен на лицевой счёт "
            "№ {personal_account_number} ({category}) {confirmed_at}.\n\n"
            "Квитанцию можно скачать в кабинете: {link}\n\n"
            "Спасибо за своевременную оплату.",
        ),
        "en": (
            "Payment No. {payment_number} has been credited",
            "Dear {full_name},\n\n"
            "Payment No. {payment_number} of {amount} was credited to personal account "
            "No. {personal_account_number} ({category}) on {confirmed_at}.\n\n"
            "You can download the receipt in the cabinet: {link}\n\n"
            "Thank you for paying on time.",
        ),
    },
}

SIGNATURE: dict[str, str] = {
    "uk": "\n\nЗ повагою,\nПерсональний кабінет UENS\n\n"
    "Цей лист надіслано автоматично, відповідати на нього не потрібно.\n",
    "ru": "\n\nС уважением,\nПерсональный кабинет UENS\n\n"
    "Это письмо отправлено автоматически, отвечать на него не нужно.\n",
    "en": "\n\nKind regards,\nUENS Personal Cabinet\n\n"
    "This message was sent automatically; there is no need to reply.\n",
}

CURRENCY = {"uk": "грн", "ru": "грн", "en": "UAH"}

# Charge categories (ChargeCategory values) by their names in the manual.
CATEGORY_NAMES: dict[str, dict[str, str]] = {
    "ELECTRICITY": {"uk": "електроенергія", "ru": "электроэнергия", "en": "electricity"},
    "ELECTRICITY_SCHEDULE": {
        "uk": "електроенергія, графік погашення",
        "ru": "электроэнергия, график погашения",
        "en": "electricity, repayment schedule",
    },
    "ACTS": {"uk": "акти", "ru": "акты", "en": "acts"},
    "ACTS_SCHEDULE": {
        "uk": "акти, графік погашення",
        "ru": "акты, график погашения",
        "en": "acts, repayment schedule",
    },
    "SERVICES": {"uk": "послуги", "ru": "услуги", "en": "services"},
}


def mail_language(language: str | None) -> str:
    """uk, ru or en; anything else is Ukrainian."""
    language = (language or "").strip().lower()
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def mail_render(kind: str, language: str, **params: object) -> tuple[str, str]:
    """(subject, plain-text body) of one letter. KeyError for an unknown kind or a missing param."""
    texts = TEMPLATES[kind]
    language = mail_language(language)
    missing = [name for name in PARAMS[kind] if name not in params]
    if missing:
        raise KeyError(f"mail {kind!r} needs {', '.join(missing)}")
    values = {name: _format_value(name, value, language) for name, value in params.items()}
    subject, body = texts[language]
    return subject.format(**values), body.format(**values) + SIGNATURE[language]


def _format_value(name: str, value: object, language: str) -> str:
    if name == "amount" or isinstance(value, Decimal):
        return f"{_money(value)} {CURRENCY[language]}"
    if name == "category":
        names = CATEGORY_NAMES.get(str(value))
        return names[language] if names else str(value)
    if isinstance(value, dt.datetime):
        return kyiv_time(value).strftime("%d.%m.%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def _money(value: object) -> str:
    """Kopecks always shown; a str is parsed so "97.5" reads 97.50 (never through float)."""
    amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    return f"{kopecks(amount):f}"
