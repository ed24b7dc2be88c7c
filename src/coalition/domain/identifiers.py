"""Identifiers that find a member: card number, barcode/QR payload, magnetic track, NFC UID, phone number."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache

import phonenumbers

from coalition.domain.errors import InvalidInput

MAX_IDENTIFIER_LENGTH = 256
# a network's country when it names none (networks.country, migration 0049): its currency's, where that is one country
COUNTRY_OF_CURRENCY = {"RUB": "RU"}


def phone_region(country: str | None, currency: str | None) -> str | None:
    """The region a phone typed without its country code is read in: the network's country, else its currency's."""
    return country or COUNTRY_OF_CURRENCY.get(currency or "")


# the regions whose phone numbers the library reads (ISO 3166-1 alpha-2; about 240): a network's possible countries
COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS)


def checked_country(text: str, field: str = "country") -> str:
    """A network's country as stored: ISO 3166-1 alpha-2 in capitals ("kz" is "KZ"), one whose phone numbers the
    library reads; anything else is refused naming `field`."""
    code = text.strip().upper()
    if len(code) != 2 or code not in COUNTRIES:
        raise InvalidInput(
            f"'{text[:20]}' is not a country code this server reads phones of: ISO 3166-1 alpha-2, such as RU, KZ "
            "or DE",
            field=field,
        )
    return code


def parse_country(text: str, field: str = "country") -> str | None:
    """A network's country typed or chosen at registration: empty is None (phones read by the currency's country,
    else they need their country code); otherwise as `checked_country`."""
    return checked_country(text, field) if text.strip() else None


def countries() -> tuple[str, ...]:
    """The countries a network may be in: those whose phone numbers the phonenumbers library reads."""
    return tuple(sorted(COUNTRIES))


class IdentifierKind(StrEnum):
    CARD = "card"
    BARCODE = "barcode"
    MAGSTRIPE = "magstripe"
    NFC = "nfc"
    PHONE = "phone"


# ASCII digits only: a full-width "７" must not become a second stored form of the same phone.
_PHONE = re.compile(r"^\+?[0-9 ().-]{7,24}$")
_HEX_UID = re.compile(r"^[0-9A-Fa-f]{2}([:\- ]?[0-9A-Fa-f]{2}){3,15}$")
_CARD_SEPARATORS = re.compile(r"[\s-]")
_NON_DIGITS = re.compile(r"[^0-9]")


def _legacy_phone(raw: str) -> str | None:
    """The form phones were stored in before E.164 (migration 0049): "+" and the digits typed. A lookup still tries
    it, for a stored number the migration could not read (it left it as it was)."""
    digits = _NON_DIGITS.sub("", raw)
    return "+" + digits if 7 <= len(digits) <= 15 else None


@lru_cache(maxsize=16384)  # a parse is ~20 µs (a purchase ~750 µs); the same cards and phones come back all day
def e164(raw: str, region: str | None) -> str | None:
    """The number in E.164 ("+79120000003"), or None when it is not a valid number. Without a leading "+" it is read
    as a number of `region` (the network's country, ISO 3166 alpha-2), national forms and trunk prefixes included:
    in RU "8 912 000 00 03", "912 000 00 03" and "7 912 000 00 03" are all +79120000003. Without a region, a number
    must carry its country code (with or without the "+")."""
    value = raw.strip()
    if not _PHONE.match(value):
        return None
    if region is None and not value.startswith("+"):
        value = "+" + value
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize(kind: IdentifierKind, raw: str, *, field: str = "identifier", region: str | None = None) -> str:
    """The stored form of an identifier: card numbers without spaces, phones in E.164 (read as numbers of `region`,
    the network's country, when typed without their country code), NFC UIDs as bare hex."""
    value = raw.strip()
    if not value or len(value) > MAX_IDENTIFIER_LENGTH:
        raise InvalidInput(f"an identifier has 1 to {MAX_IDENTIFIER_LENGTH} characters", field=field)
    if kind is IdentifierKind.PHONE:
        phone = e164(value, region)
        if phone is None and region is None:
            raise InvalidInput(f"'{raw}' is not a valid phone number with its country code", field=field)
        if phone is None:
            raise InvalidInput(f"'{raw}' is not a valid phone number", field=field)
        return phone
    if kind is IdentifierKind.CARD:
        number = _CARD_SEPARATORS.sub("", value).upper()
        if not number:
            raise InvalidInput(f"'{raw}' has no characters besides separators", field=field)
        return number
    if kind is IdentifierKind.NFC:
        if not _HEX_UID.match(value):
            raise InvalidInput(f"'{raw}' is not an NFC UID (4 to 16 hex bytes)", field=field)
        return re.sub(r"[:\- ]", "", value).upper()
    return value


@lru_cache(maxsize=16384)  # every purchase asks (~4 µs of regexes and look-ups); the same customers come back all day
def lookup_candidates(raw: str, region: str | None = None) -> tuple[str, ...]:
    """Every stored form the raw text the cashier typed or scanned could match, most literal first; a phone in E.164
    read as a number of `region` (the network's country) when typed without its country code. A pure function of
    its arguments, kept for the last 16,384 of them (a refusal is not kept: it raises every time)."""
    value = raw.strip()
    if not value or len(value) > MAX_IDENTIFIER_LENGTH:
        raise InvalidInput(f"an identifier has 1 to {MAX_IDENTIFIER_LENGTH} characters", field="customer")
    candidates = [value]
    card_number = _CARD_SEPARATORS.sub("", value).upper()
    if card_number:
        candidates.append(card_number)
    if _PHONE.match(value):
        phone = e164(value, region)
        if phone is not None:
            candidates.append(phone)
        legacy = _legacy_phone(value)
        if legacy is not None:
            candidates.append(legacy)
    if _HEX_UID.match(value):
        candidates.append(normalize(IdentifierKind.NFC, value))
    return tuple(dict.fromkeys(candidates))
