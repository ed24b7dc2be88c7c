"""The members file (docs/files.md): its columns, a row typed into a `MemberRow`, and a stored member written back
as a row. The import (member_import.py) and the export (member_export.py) share these, so an export imports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from coalition.application.file_exchange.columns import Column, TypedRow, boolean, iso_date, text_up_to, whole_number
from coalition.application.file_exchange.table import RowError
from coalition.application.pos_ports.member_files import ExportedMember
from coalition.domain.cards import CardState
from coalition.domain.errors import InvalidInput
from coalition.domain.identifiers import IdentifierKind, normalize
from coalition.domain.limits import DEFAULT_LIMITS
from coalition.domain.members import DEFAULT_CARD_TYPE, parse_label, parse_segments
from coalition.domain.money import format_minor, parse_amount_minor
from coalition.domain.opening import MAX_OPENING_POINTS

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SEGMENT_SEPARATORS = re.compile(r"[,;\s]+")


def _domain(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """A domain parser whose InvalidInput becomes the cell's ValueError (the column names the field)."""

    def cell(text: str) -> Any:
        try:
            return parse(text)
        except InvalidInput as error:
            raise ValueError(error.detail) from None

    return cell


def _kind(text: str) -> str:
    lowered = text.strip().lower()
    if lowered not in ("personal", "anonymous"):
        raise ValueError(f"expected personal or anonymous, not {text!r}")
    return lowered


def _email(text: str) -> str:
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise ValueError(f"{text!r} is not an e-mail address")
    return text


def _birth_date(text: str) -> date:
    day = iso_date(text)
    if not date(1900, 1, 1) <= day <= date(2100, 1, 1):
        raise ValueError(f"{day.isoformat()} is not a plausible birth date")
    return day


def _segments(text: str) -> tuple[str, ...]:
    return parse_segments([part for part in _SEGMENT_SEPARATORS.split(text) if part])


def _points(text: str) -> int:
    points = whole_number(text)
    if abs(points) > MAX_OPENING_POINTS:
        raise ValueError(f"at most {MAX_OPENING_POINTS} points either way")
    return points


def wallet_amount(currency: str, max_amount_minor: int) -> Callable[[str], int]:
    """An amount in major units of the network's currency (`150.00`, `1 500,00`), as the file writes money (a
    wallet's opening balance, a lifetime spend): at least zero and at most the network's amount limit
    (domain/limits.py), the most one top-up or one check may bring."""

    def parse(text: str) -> int:
        cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
        if "," in cleaned and "." not in cleaned:
            cleaned = cleaned.replace(",", ".")
        try:
            minor = parse_amount_minor(cleaned, currency, field="wallet_balance")
        except InvalidInput:
            raise ValueError(f"expected an amount of {currency} at least 0 such as 150.00, not {text!r}") from None
        if minor > max_amount_minor:
            raise ValueError(f"at most {format_minor(max_amount_minor, currency)} {currency} here, not {text!r}")
        return minor

    return parse


_IMPORTED_CARD_STATES = (CardState.ACTIVE, CardState.BLOCKED, CardState.ISSUED)


def _card_state(text: str) -> CardState:
    """The card's state: active, blocked or issued (not yet activated). A lost or replaced card is not a member's
    card in use, which is what the file carries (the export writes the newest card in use)."""
    lowered = text.strip().lower()
    if lowered in (CardState.LOST, CardState.REPLACED):
        raise ValueError(f"a {lowered} card is not imported: give the member's card in use (active, blocked or issued)")
    if lowered not in _IMPORTED_CARD_STATES:
        raise ValueError(f"expected active, blocked or issued, not {text!r}")
    return CardState(lowered)


def member_columns(
    region: str | None, currency: str = "RUB", max_amount_minor: int = DEFAULT_LIMITS.max_amount_minor
) -> tuple[Column, ...]:
    """The members file's columns; a phone without its country code read as a number of `region` (the network's
    country), a wallet balance in `currency` up to the network's amount limit."""
    replaced = {
        "phone": Column(
            "phone", _domain(lambda t: normalize(IdentifierKind.PHONE, t, region=region)), False, None, "phone number"
        ),
        "wallet_balance": Column("wallet_balance", wallet_amount(currency, max_amount_minor), False, 0, WALLET_DOC),
        "lifetime_spend": Column("lifetime_spend", wallet_amount(currency, max_amount_minor), False, 0, SPEND_DOC),
    }
    return tuple(replaced.get(column.name, column) for column in MEMBER_COLUMNS)


WALLET_DOC = "money in the network's currency, 150.00, at least 0: the wallet's opening balance"
SPEND_DOC = "money in the network's currency, 1500.00, at least 0: the lifetime spend brought in (spend tiers)"


MEMBER_COLUMNS: tuple[Column, ...] = (
    Column("card_number", _domain(lambda t: normalize(IdentifierKind.CARD, t)), True, None, "text, the key"),
    Column("kind", _kind, False, None, "personal | anonymous (empty: personal when a profile field is given)"),
    Column("name", text_up_to(200), False, None, "text, up to 200 characters"),
    Column("phone", _domain(lambda t: normalize(IdentifierKind.PHONE, t)), False, None, "phone number"),
    Column("email", _email, False, None, "e-mail address"),
    Column("birth_date", _birth_date, False, None, "date, YYYY-MM-DD (or DD.MM.YYYY)"),
    Column("consent_data_processing", boolean, False, False, "yes | no (1/0, true/false)"),
    Column("consent_newsletters", boolean, False, False, "yes | no"),
    Column("tier", _domain(lambda t: parse_label(t, field="tier")), False, "", "label"),
    Column("segments", _segments, False, (), "labels separated by commas"),
    Column("card_type", _domain(lambda t: parse_label(t, field="card_type")), False, DEFAULT_CARD_TYPE, "label"),
    Column("points_balance", _points, False, 0, "whole number of points, the opening balance"),
    Column("wallet_balance", wallet_amount("RUB", DEFAULT_LIMITS.max_amount_minor), False, 0, WALLET_DOC),
    Column("card_state", _card_state, False, CardState.ACTIVE, "active | blocked | issued (empty: active)"),
    Column("lifetime_spend", wallet_amount("RUB", DEFAULT_LIMITS.max_amount_minor), False, 0, SPEND_DOC),
    Column("network", whole_number, False, None, "the network's id (optional: refused when it is another's)"),
)
EXPORT_COLUMNS = tuple(column.name for column in MEMBER_COLUMNS if column.name != "network")


@dataclass(frozen=True, slots=True)
class MemberRow:
    number: int
    card_number: str
    kind: str
    name: str | None
    phone: str | None
    email: str | None
    birth_date: date | None
    consent_data_processing: bool
    consent_newsletters: bool
    tier: str
    segments: tuple[str, ...]
    card_type: str
    points_balance: int
    network: int | None
    wallet_minor: int = 0  # the wallet's opening balance in minor units of the network's currency
    card_state: CardState = CardState.ACTIVE
    lifetime_spend_minor: int = 0  # the opening lifetime spend in minor units of the network's currency


def member_key(values: dict[str, Any]) -> str | None:
    card = values.get("card_number")
    return str(card) if card else None


def member_row(row: TypedRow) -> tuple[MemberRow | None, list[RowError]]:
    """The typed row as a member, or the errors between its cells (a profile needs consent; anonymous has none)."""
    v = row.values
    has_profile = any(v[name] for name in ("name", "phone", "email", "birth_date"))
    kind = v["kind"] or ("personal" if has_profile else "anonymous")
    errors: list[RowError] = []
    if kind == "anonymous" and has_profile:
        errors.append(RowError(row.number, "kind", "an anonymous member has no name, phone, e-mail or birth date"))
    if kind == "personal" and not v["consent_data_processing"]:
        errors.append(
            RowError(row.number, "consent_data_processing", "a personal member needs the consent to data processing")
        )
    if errors:
        return None, errors
    member = MemberRow(
        number=row.number,
        card_number=v["card_number"],
        kind=kind,
        name=v["name"],
        phone=v["phone"],
        email=v["email"],
        birth_date=v["birth_date"],
        consent_data_processing=bool(v["consent_data_processing"]),
        consent_newsletters=bool(v["consent_newsletters"]),
        tier=v["tier"],
        segments=v["segments"],
        card_type=v["card_type"],
        points_balance=v["points_balance"],
        network=v["network"],
        wallet_minor=v["wallet_balance"],
        card_state=v["card_state"],
        lifetime_spend_minor=v["lifetime_spend"],
    )
    return member, []


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def export_row(member: ExportedMember, currency: str) -> list[object]:
    """A stored member as the members file writes it (EXPORT_COLUMNS); the wallet in `currency` (0 without one)."""
    return [
        member.card_number,
        member.kind,
        member.name or "",
        member.phone or "",
        member.email or "",
        member.birth_date.isoformat() if member.birth_date else "",
        _yes(member.consent_data_processing),
        _yes(member.consent_newsletters),
        member.tier,
        member.segments,
        member.card_type,
        member.points_balance,
        format_minor(member.wallet_minor, currency),
        member.card_state,
        format_minor(member.lifetime_spend_minor, currency),
    ]
