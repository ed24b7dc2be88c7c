"""What every command of the point of sale shares: its inputs, its result, idempotency and the member lookup.

Kept apart from `pos` so that the purchase pipeline (`application.purchases`) and the point of sale's other commands
build on it without importing each other.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from coalition.application.ports import MemberHistory, MemberRef, PosUnitOfWork, StoredResponse, TerminalContext
from coalition.application.pos_results import CommandResult as CommandResult  # shared by every command
from coalition.domain.cards import require_usable
from coalition.domain.errors import IdempotencyKeyReused, InvalidInput, MemberNotFound
from coalition.domain.identifiers import lookup_candidates
from coalition.domain.records import fast_init
from coalition.domain.rules.engine import CompiledRuleSet

MAX_IDEMPOTENCY_KEY_LENGTH = 200
MAX_RECEIPT_LENGTH = 100


class DuplicateKey(Exception):
    """Raised by storage when a unique key is taken; `what` names it (idempotency, receipt, identifier, card)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


@dataclass(frozen=True, slots=True)
class ItemInput:
    sku: str
    quantity: str | int
    unit_price: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TenderInput:
    """A tender as the request names it: its kind, and optionally an amount (decimal string), a gift card's number
    and PIN."""

    kind: str
    amount: str | None = None
    number: str | None = None
    pin: str | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class PurchaseInput:
    customer: str
    amount: str | None = None
    items: tuple[ItemInput, ...] = ()
    redeem_points: int | None = None
    receipt: str | None = None
    cashier: str | None = None
    occurred_at: datetime | None = None
    coupons: tuple[str, ...] = ()
    tenders: tuple[TenderInput, ...] = ()
    gift_cards_sold: tuple[GiftCardSaleInput, ...] = ()  # cards sold with the goods: outside the check, no points


@dataclass(frozen=True, slots=True)
class GiftCardSaleInput:
    """A gift card sold as a line of a purchase: its amount (decimal string), optional PIN and validity."""

    amount: str
    pin: str | None = None
    valid_days: int | None = None


def fingerprint(operation: str, payload: bytes) -> str:
    """Identity of a request for idempotency: the operation (method, path) and its exact body."""
    return hashlib.sha256(operation.encode() + b"\0" + payload).hexdigest()


def key_hash(secret: str) -> str:
    """API keys are long random strings, so a fast hash is enough to store them without keeping them."""
    return hashlib.sha256(secret.encode()).hexdigest()


def replay(stored: StoredResponse, request_hash: str) -> CommandResult:
    if stored.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used for a different request; use a new key per attempt",
            field="Idempotency-Key",
        )
    return CommandResult(stored.status_code, stored.body, replayed=True)


def customer_candidates(identifier: str, field_name: str = "customer", region: str | None = None) -> tuple[str, ...]:
    """The stored forms an identifier typed or scanned could match; a phone read as a number of `region` (the
    network's country: TerminalContext.phone_region, ProgramContext.phone_region) when it has no country code."""
    try:
        return lookup_candidates(identifier, region)
    except InvalidInput as error:
        raise InvalidInput(error.detail, field=field_name) from None


def member_not_found(identifier: str, field_name: str = "customer") -> MemberNotFound:
    return MemberNotFound(f"no member of this network has the identifier '{identifier}'", field=field_name)


def require_usable_card(member: MemberRef) -> None:
    if member.card_state is not None and member.card_number is not None:
        require_usable(member.card_state, member.card_number)


@functools.lru_cache(maxsize=256)
def zone_named(name: str) -> ZoneInfo:
    return ZoneInfo(name)


async def member_history(
    uow: PosUnitOfWork, rules: CompiledRuleSet | None, ctx: TerminalContext, member: MemberRef, now: datetime
) -> MemberHistory | None:
    """One more read, only when the rule set in force uses visits, period spends, the birthday or the kind."""
    if rules is None or not rules.needs_member_history:
        return None
    local = now.astimezone(zone_named(ctx.timezone))
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    previous_month_start = (month_start - timedelta(days=1)).replace(day=1)
    return await uow.member_history(member.member_id, member.card_id, month_start, previous_month_start)
