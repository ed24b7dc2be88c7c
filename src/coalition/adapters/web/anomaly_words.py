"""An anomaly flag (domain/anomalies.py) as a sentence in a language: its English message translated (the catalog
locales/<lang>/anomalies.json), money, numbers, rates and moments in the language's own format. The daily e-mail,
its CSV and the console's Reports page all word a flag here."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from babel.numbers import format_decimal

from coalition.adapters.web import formatting
from coalition.adapters.web.i18n import Translator
from coalition.domain.anomalies import Anomaly, Money, Value


def anomaly_sentence(flag: Anomaly, currency: str, language: str) -> str:
    text = Translator.for_language(language).gettext(flag.message)
    return text % {name: _worded(value, currency, language) for name, value in flag.values.items()}


def _worded(value: Value, currency: str, language: str) -> str:
    if isinstance(value, Money):
        return formatting.money(value.minor, currency, language)
    if isinstance(value, datetime):
        return formatting.moment(value, str(value.tzinfo), language, "short")
    if isinstance(value, Decimal):
        return str(format_decimal(value, format="#,##0.00", locale=language))
    if isinstance(value, int):
        return formatting.number(value, language)
    return value
