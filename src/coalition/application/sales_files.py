"""The purchases and refunds files (docs/files.md "Purchases and refunds"): their columns, a row typed into a
`SaleRow`, and what an import of them answers.

A purchases file holds sales made elsewhere (an offline till, the shop's own software); a refunds file the refunds
of purchases already recorded, each naming its purchase by the receipt it was recorded under at the same outlet.
Both name the terminal by its id; the sale's time carries its offset (`2026-12-06T10:15:00+03:00`). The key of a
row is its terminal and receipt: the same receipt twice in one file is refused, naming both rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from coalition.application.file_exchange.columns import Column, TypedRow, text_up_to, whole_number
from coalition.application.file_exchange.table import FileFormat, RowError
from coalition.domain.records import fast_init


class SalesKind(StrEnum):
    PURCHASES = "purchases"
    REFUNDS = "refunds"


_AMOUNT = re.compile(r"[0-9]{1,13}([.][0-9]{1,4})?")


def occurred_at(text: str) -> datetime:
    cleaned = text.strip().replace(" ", "T", 1) if "T" not in text else text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"expected a time with its offset such as 2026-12-06T10:15:00+03:00, not {text!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"the time needs its offset from UTC, such as +03:00 or Z: {text!r}")
    return moment


def amount(text: str) -> str:
    """A decimal amount as the API takes it: `1500.00`, `1500`, `1 500,00` (a decimal comma, spaces apart)."""
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    if not _AMOUNT.fullmatch(cleaned):
        raise ValueError(f"expected an amount such as 1500.00, not {text!r}")
    return cleaned


def points(text: str) -> int:
    value = whole_number(text)
    if value < 0:
        raise ValueError(f"points are zero or more, not {value}")
    return value


def terminal(text: str) -> int:
    value = whole_number(text)
    if value <= 0:
        raise ValueError(f"expected a terminal's id, not {text!r}")
    return value


_COMMON_HEAD: tuple[Column, ...] = (
    Column("receipt", text_up_to(100), True, None, "text, up to 100 characters: the receipt number at the till"),
    Column("occurred_at", occurred_at, True, None, "date and time with offset, 2026-12-06T10:15:00+03:00"),
    Column("terminal", terminal, True, None, "the terminal's id (`coalition network terminals`, the console)"),
)
_COMMON_TAIL: tuple[Column, ...] = (
    Column("cashier", text_up_to(64), False, None, "the cashier's login at that outlet (optional)"),
    Column("network", whole_number, False, None, "the network's id (optional: refused when it is another's)"),
)
PURCHASE_COLUMNS: tuple[Column, ...] = (
    *_COMMON_HEAD,
    Column("customer", text_up_to(64), True, None, "card number or phone of a member of the network"),
    Column("amount", amount, True, None, "the check total, 1500.00 (a decimal comma is taken)"),
    Column("redeem_points", points, False, 0, "points the customer paid with (optional, 0)"),
    *_COMMON_TAIL,
)
REFUND_COLUMNS: tuple[Column, ...] = (
    *_COMMON_HEAD,
    Column("original_receipt", text_up_to(100), True, None, "the refunded purchase's receipt at the same outlet"),
    Column("amount", amount, True, None, "the amount given back, 500.00"),
    *_COMMON_TAIL,
)
COLUMNS = {SalesKind.PURCHASES: PURCHASE_COLUMNS, SalesKind.REFUNDS: REFUND_COLUMNS}


def sale_key(values: dict[str, Any]) -> str | None:
    """A row's key in its file: terminal and receipt."""
    if values.get("receipt") is None or values.get("terminal") is None:
        return None
    return f"terminal {values['terminal']}, receipt {str(values['receipt']).strip()}"


@fast_init  # a file of 100,000 rows builds each row once and changes it twice while checking it
@dataclass(frozen=True, slots=True)
class SaleRow:
    """A checked row: the member (purchases) or the purchase refunded (refunds) found, ready to record."""

    number: int
    receipt: str
    occurred_at: datetime
    terminal_id: int
    amount: str
    cashier: str | None
    amount_minor: int = 0  # the amount as checked
    customer: str = ""  # purchases
    member_id: int = 0  # purchases: the member the customer identifies (lanes are split by it)
    redeem_points: int = 0
    original_receipt: str = ""  # refunds
    purchase_id: str = ""  # refunds: the purchase the original receipt names

    def but(
        self, *, amount_minor: int | None = None, member_id: int | None = None, purchase_id: str | None = None
    ) -> SaleRow:
        """The row with what its checks found: `dataclasses.replace` looks each field up by name, 4 µs a call against
        under 1 µs here, twice a row of a file (tests/application/test_sale_rows.py keeps this list of fields whole)."""
        return SaleRow(
            self.number,
            self.receipt,
            self.occurred_at,
            self.terminal_id,
            self.amount,
            self.cashier,
            self.amount_minor if amount_minor is None else amount_minor,
            self.customer,
            self.member_id if member_id is None else member_id,
            self.redeem_points,
            self.original_receipt,
            self.purchase_id if purchase_id is None else purchase_id,
        )

    def payload(self) -> bytes:
        """The row's identity for its idempotency record: the same row again is a replay, an edited row a misuse."""
        parts = (
            self.receipt,
            self.occurred_at.isoformat(),
            str(self.terminal_id),
            self.customer,
            self.amount,
            str(self.redeem_points),
            self.original_receipt,
            self.cashier or "",
        )
        return "\x1f".join(parts).encode()


def row_of(row: TypedRow) -> SaleRow:
    v = row.values
    return SaleRow(
        number=row.number,
        receipt=str(v["receipt"]).strip(),
        occurred_at=v["occurred_at"],
        terminal_id=int(v["terminal"]),
        amount=str(v["amount"]),
        cashier=v.get("cashier") or None,
        customer=str(v.get("customer") or ""),
        redeem_points=int(v.get("redeem_points") or 0),
        original_receipt=str(v.get("original_receipt") or "").strip(),
    )


class RowStatus(StrEnum):
    RECORDED = "recorded"  # written now
    ALREADY_RECORDED = "already_recorded"  # by an earlier import of the row or by the till itself
    REFUSED = "refused"  # the rules refused it when it was recorded (its error says why)


@dataclass(frozen=True, slots=True)
class SalesImportResult:
    """What an import of a purchases or refunds file answers: counts, sums in minor units and points, every error
    with its row and column, and (partial mode) the rejected rows as a file."""

    network_id: int
    kind: SalesKind
    filename: str
    digest: str
    file_format: FileFormat
    encoding: str
    delimiter: str
    currency: str
    rows_read: int
    recorded: int
    already_recorded: int
    rejected: int
    amount_minor: int  # purchases: the checks recorded now; refunds: the amounts given back now
    points_earned: int  # purchases: earned by the purchases recorded now
    points_redeemed: int  # purchases: paid with points by them
    points_clawed_back: int  # refunds: points taken back
    points_returned: int  # refunds: redeemed points given back
    errors: tuple[RowError, ...] = ()
    replayed: bool = False  # the same file was imported before: nothing written now
    rejects: bytes | None = field(default=None, repr=False)

    def json(self) -> dict[str, Any]:
        return {
            "network_id": self.network_id,
            "kind": self.kind.value,
            "filename": self.filename,
            "digest": self.digest,
            "format": self.file_format.value,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "currency": self.currency,
            "rows_read": self.rows_read,
            "recorded": self.recorded,
            "already_recorded": self.already_recorded,
            "rejected": self.rejected,
            "amount_minor": self.amount_minor,
            "points_earned": self.points_earned,
            "points_redeemed": self.points_redeemed,
            "points_clawed_back": self.points_clawed_back,
            "points_returned": self.points_returned,
            "errors": [error.json() for error in self.errors],
            "replayed": self.replayed,
        }

    @staticmethod
    def from_json(data: dict[str, Any], rejects: bytes | None) -> SalesImportResult:
        return SalesImportResult(
            network_id=int(data["network_id"]),
            kind=SalesKind(data["kind"]),
            filename=str(data["filename"]),
            digest=str(data["digest"]),
            file_format=FileFormat(data["format"]),
            encoding=str(data["encoding"]),
            delimiter=str(data["delimiter"]),
            currency=str(data["currency"]),
            rows_read=int(data["rows_read"]),
            recorded=int(data["recorded"]),
            already_recorded=int(data["already_recorded"]),
            rejected=int(data["rejected"]),
            amount_minor=int(data["amount_minor"]),
            points_earned=int(data["points_earned"]),
            points_redeemed=int(data["points_redeemed"]),
            points_clawed_back=int(data["points_clawed_back"]),
            points_returned=int(data["points_returned"]),
            errors=tuple(RowError(int(e["row"]), str(e["column"]), str(e["reason"])) for e in data["errors"]),
            replayed=True,
            rejects=rejects,
        )
