"""Identifiers that find a member: card number, barcode/QR payload, magnetic track, NFC UID, phone number."""

from __future__ import annotations

import re
from enum import StrEnum

from coalition.domain.errors import InvalidInput

MAX_IDENTIFIER_LENGTH = 256


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


def _normalize_phone(raw: str, field: str) -> str:
    digits = _NON_DIGITS.sub("", raw)
    if not 7 <= len(digits) <= 15:
        raise InvalidInput(f"'{raw}' is not a phone number (7 to 15 digits)", field=field)
    return "+" + digits


def normalize(kind: IdentifierKind, raw: str, *, field: str = "identifier") -> str:
    """The stored form of an identifier: card numbers without spaces, phones as +digits, NFC UIDs as bare hex."""
    value = raw.strip()
    if not value or len(value) > MAX_IDENTIFIER_LENGTH:
        raise InvalidInput(f"an identifier has 1 to {MAX_IDENTIFIER_LENGTH} characters", field=field)
    if kind is IdentifierKind.PHONE:
        if not _PHONE.match(value):
            raise InvalidInput(f"'{raw}' is not a phone number", field=field)
        return _normalize_phone(value, field)
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


def lookup_candidates(raw: str) -> tuple[str, ...]:
    """Every stored form the raw text the cashier typed or scanned could match, most literal first."""
    value = raw.strip()
    if not value or len(value) > MAX_IDENTIFIER_LENGTH:
        raise InvalidInput(f"an identifier has 1 to {MAX_IDENTIFIER_LENGTH} characters", field="customer")
    candidates = [value]
    card_number = _CARD_SEPARATORS.sub("", value).upper()
    if card_number:
        candidates.append(card_number)
    if _PHONE.match(value) and 7 <= len(_NON_DIGITS.sub("", value)) <= 15:
        candidates.append(_normalize_phone(value, "customer"))
    if _HEX_UID.match(value):
        candidates.append(normalize(IdentifierKind.NFC, value))
    return tuple(dict.fromkeys(candidates))
