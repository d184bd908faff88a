"""Messages for error codes, in Ukrainian (default), Russian and English."""

from __future__ import annotations

LANGUAGES = ("uk", "ru", "en")
DEFAULT_LANGUAGE = "uk"

# code -> (uk, ru, en). Placeholders are filled with str.format(**params).
MESSAGES: dict[str, tuple[str, str, str]] = {
    "INVALID_INPUT": ("Некоректні дані.", "Некорректные данные.", "The input is invalid."),
    "REQUIRED": ("Поле обов'язкове.", "Поле обязательно.", "This field is required."),
    "INVALID_FORMAT": ("Неправильний формат.", "Неверный формат.", "The format is invalid."),
    "TOO_SHORT": (
        "Занадто коротко: щонайменше {min} символів.",
        "Слишком коротко: не менее {min} символов.",
        "Too short: at least {min} characters.",
    ),
    "TOO_LONG": (
        "Занадто довго: щонайбільше {max} символів.",
        "Слишком длинно: не более {max} символов.",
        "Too long: at most {max} characters.",
    ),
    "PASSWORD_TOO_COMMON": (
        "Цей пароль занадто поширений, оберіть інший.",
        "Этот пароль слишком распространён, выберите другой.",
        "This password is too common; choose another.",
    ),
    "TERMS_NOT_ACCEPTED": (
        "Прийміть чинну угоду користувача.",
        "Примите действующее пользовательское соглашение.",
        "Accept the user agreement in force.",
    ),
    "LOGIN_TAKEN": ("Цей логін уже зайнятий.", "Этот логин уже занят.", "This login is taken."),
    "INVALID_CREDENTIALS": (
        "Неправильний логін або пароль.",
        "Неверный логин или пароль.",
        "Wrong login or password.",
    ),
    "ACCOUNT_NOT_ACTIVE": (
        "Обліковий запис ще не активовано.",
        "Учётная запись ещё не активирована.",
        "The account is not activated yet.",
    ),
    "ACCOUNT_BLOCKED": (
        "Обліковий запис заблоковано.",
        "Учётная запись заблокирована.",
        "The account is blocked.",
    ),
    "TOO_MANY_ATTEMPTS": (
        "Забагато спроб. Спробуйте через {retry_after} с.",
        "Слишком много попыток. Попробуйте через {retry_after} с.",
        "Too many attempts. Try again in {retry_after} s.",
    ),
    "TOKEN_INVALID": (
        "Посилання або токен недійсні.",
        "Ссылка или токен недействительны.",
        "The link or token is invalid.",
    ),
    "TOKEN_EXPIRED": (
        "Термін дії посилання або токена минув.",
        "Срок действия ссылки или токена истёк.",
        "The link or token has expired.",
    ),
    "UNKNOWN_RES": ("Такого РЕМ немає.", "Такого РЭС нет.", "No such RES."),
    "PERSONAL_ACCOUNT_NOT_FOUND": (
        "Особовий рахунок не знайдено.",
        "Лицевой счёт не найден.",
        "Personal account not found.",
    ),
    "PERSONAL_ACCOUNT_ALREADY_LINKED": (
        "Цей особовий рахунок уже додано.",
        "Этот лицевой счёт уже добавлен.",
        "This personal account is already linked.",
    ),
    "MERGE_WITH_SELF": (
        "Не можна приєднати власний обліковий запис.",
        "Нельзя присоединить собственную учётную запись.",
        "You cannot merge an account with itself.",
    ),
    "MERGE_NOT_ALLOWED": (
        "Цей обліковий запис не можна приєднати.",
        "Эту учётную запись нельзя присоединить.",
        "This account cannot be merged.",
    ),
    "NOT_FOUND": ("Не знайдено.", "Не найдено.", "Not found."),
    "NO_METER": (
        "На особовому рахунку немає лічильника.",
        "На лицевом счёте нет счётчика.",
        "The personal account has no meter.",
    ),
    "NO_PREVIOUS_READING": (
        "Немає попередніх показників; перші вносить РЕМ.",
        "Нет предыдущих показаний; первые вносит РЭС.",
        "There is no previous reading; the utility enters the first one.",
    ),
    "NO_TARIFF": (
        "Немає чинного тарифу на {day}.",
        "Нет действующего тарифа на {day}.",
        "No tariff is in force on {day}.",
    ),
    "READING_DATE_TAKEN": (
        "Показники на цю дату вже внесено.",
        "Показания на эту дату уже внесены.",
        "A reading for this date already exists.",
    ),
    "READING_DATE_IN_FUTURE": (
        "Дата зняття не може бути в майбутньому.",
        "Дата съёма не может быть в будущем.",
        "The reading date cannot be in the future.",
    ),
    "READING_DATE_NOT_AFTER_LAST": (
        "Дата має бути пізніше за останні показники ({last}).",
        "Дата должна быть позже последних показаний ({last}).",
        "The date must be after the last reading ({last}).",
    ),
    "READING_OUT_OF_RANGE": (
        "Значення має бути від 0 до {max}.",
        "Значение должно быть от 0 до {max}.",
        "The value must be between 0 and {max}.",
    ),
    "READING_LESS_THAN_PREVIOUS": (
        "Показник менший за попередній ({previous}).",
        "Показание меньше предыдущего ({previous}).",
        "The value is below the previous one ({previous}).",
    ),
    "READING_IMPLAUSIBLE": (
        "Споживання {consumption} кВт·год неправдоподібно велике.",
        "Потребление {consumption} кВт·ч неправдоподобно велико.",
        "A consumption of {consumption} kWh is implausibly high.",
    ),
    "READING_ZONES_MISMATCH": (
        "Вкажіть показники для зон лічильника: {zones}.",
        "Укажите показания для зон счётчика: {zones}.",
        "Give values for the meter's zones: {zones}.",
    ),
    "AMOUNT_INVALID": (
        "Сума має бути більшою за 0, з не більш ніж двома знаками після коми, до {max}.",
        "Сумма должна быть больше 0, не более двух знаков после запятой, до {max}.",
        "The amount must be above 0, with at most two decimals, up to {max}.",
    ),
    "NOTHING_TO_PAY": (
        "Немає чого сплачувати: спершу сформуйте рахунок.",
        "Нечего оплачивать: сначала сформируйте счёт.",
        "Nothing to pay: form a bill first.",
    ),
    "PAYMENT_IN_PROGRESS": (
        "Платіж за цією категорією вже розпочато. Завершіть або скасуйте його, чи спробуйте за {minutes} хв.",
        "Платёж по этой категории уже начат. Завершите или отмените его либо попробуйте через {minutes} мин.",
        "A payment for this category is already in progress. Finish or cancel it, or try again in {minutes} min.",
    ),
    "PAYMENT_NOT_CANCELLABLE": (
        "Цей платіж уже не можна скасувати: банк його обробляє або вже обробив.",
        "Этот платёж уже нельзя отменить: банк его обрабатывает или уже обработал.",
        "This payment can no longer be cancelled: the bank is processing it or has done so.",
    ),
    "IDEMPOTENCY_KEY_REUSED": (
        "Цей ключ уже використано з іншими параметрами.",
        "Этот ключ уже использован с другими параметрами.",
        "This idempotency key was used with other parameters.",
    ),
    "ACTIVATION_ALREADY_DECIDED": (
        "Рішення за цією заявкою вже ухвалено.",
        "Решение по этой заявке уже принято.",
        "This request has already been decided.",
    ),
    # Errors on one read field (BAD_USER_INPUT).
    "PERIOD_INVERTED": (
        "Дата початку періоду («from») пізніша за дату його кінця («to»).",
        "Дата начала периода («from») позже даты его окончания («to»).",
        "The period's start (`from`) is after its end (`to`).",
    ),
    # Top-level errors.
    "UNAUTHENTICATED": ("Увійдіть до кабінету.", "Войдите в кабинет.", "Sign in first."),
    "FORBIDDEN": ("Недостатньо прав.", "Недостаточно прав.", "Not allowed."),
    "SERVICE_UNAVAILABLE": (
        "Сервіс тимчасово недоступний. Повторіть запит за кілька секунд.",
        "Сервис временно недоступен. Повторите запрос через несколько секунд.",
        "The service is briefly unavailable. Retry in a few seconds.",
    ),
    "INTERNAL_SERVER_ERROR": (
        "Внутрішня помилка. Код запиту: {request_id}.",
        "Внутренняя ошибка. Код запроса: {request_id}.",
        "Internal error. Request id: {request_id}.",
    ),
}


def pick_language(accept_language: str | None) -> str:
    """The best of uk/ru/en by an Accept-Language header (q-values honoured)."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if primary == "ua":  # a common mistake for Ukrainian
            primary = "uk"
        # Earlier entries win ties, as browsers list preferences in order.
        if primary in LANGUAGES and q > best_q and q > 0:
            best, best_q = primary, q - position * 1e-6
    return best


def message(code: str, language: str, **params: object) -> str:
    texts = MESSAGES.get(code) or MESSAGES["INVALID_INPUT"]
    text = texts[LANGUAGES.index(language) if language in LANGUAGES else 0]
    try:
        return text.format(**params)
    except (KeyError, IndexError):
        return text.split(" {")[0].rstrip(":(") if "{" in text else text
