"""Gift cards (certificates): money sold on a card with a number, spent in part or whole at any outlet allowed, and
what becomes of the rest when the card expires (issue 14, point 2; the ledger of /work/wt/MONEY.md).

A card is its own ledger account (`gift_card`, in `money:<currency>`), whose balance never goes below zero. Selling
a card for A at partner P (P took the cash): P's PREPAID −A, the card +A. An administrator's card (a promotion) is
funded by the node's PREPAID account. Redeeming G at an outlet of partner Q: the card −G, Q's PREPAID +G. When the
card expires with R left, R leaves the card by the network's gift-card breakage policy (`domain.breakage`'s shape):
`kept` — all of it to the node's PREPAID_BREAKAGE; `returned` — all of it back to the selling partner's PREPAID;
`shared` — the seller gets `share_bp` of R rounded down to the minor unit, the node keeps the rest. An
administrator's card has no seller: its breakage is the node's whatever the policy.

Numbers: generated ones are 19 digits, 18 of them from the OS's randomness (10^18 ≈ 2^60: not guessable) and a Luhn
check digit last, so a mistyped digit is caught before any lookup counts against the till. An administrator may give
numbers of their own (pre-printed stock): 6 to 32 letters and digits; spaces and hyphens are ignored.

PINs are optional, 4 to 8 digits, stored only as argon2id hashes (the application hashes them). Five wrong PINs in a
row stop PIN checks of the card for 15 minutes.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from coalition.domain.breakage import BreakagePolicy
from coalition.domain.errors import CardNotActive, InvalidInput, NotFound, TooManyAttempts
from coalition.domain.ledger import Posting, Transaction, TransactionKind, require_valid, transfer
from coalition.domain.money import format_minor

GENERATED_DIGITS = 19
MIN_NUMBER_LENGTH = 6
MAX_NUMBER_LENGTH = 32
PIN_LENGTHS = range(4, 9)
MAX_PIN_ATTEMPTS = 5
PIN_LOCK = timedelta(minutes=15)
DEFAULT_VALID_DAYS = 365
MAX_VALID_DAYS = 3660
_NUMBER = re.compile(r"[A-Z0-9]+")
_SEPARATORS = re.compile(r"[\s-]+")


class GiftCardStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"  # by the administrator: nothing may be spent until it is unblocked
    EXPIRED = "expired"  # its validity ended; what was left went to breakage
    SPENT = "spent"  # nothing left


@dataclass(frozen=True, slots=True)
class GiftCard:
    id: int
    network_id: int
    number: str
    account_id: int
    currency: str
    initial_minor: int
    balance_minor: int
    status: GiftCardStatus
    valid_from: datetime
    valid_until: datetime  # exclusive
    seller_partner_id: int | None  # None: the administrator issued it (funded by the node)
    seller_outlet_id: int | None
    pin_hash: str | None
    failed_pin_attempts: int = 0
    pin_locked_until: datetime | None = None

    @property
    def has_pin(self) -> bool:
        return self.pin_hash is not None


# --- numbers and PINs -------------------------------------------------------------------------------------------


def luhn_digit(digits: str) -> str:
    """The Luhn check digit of a string of digits (the one card schemes use)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:  # every second digit from the right, counting the check digit to come as the first
            value *= 2
            value -= 9 if value > 9 else 0
        total += value
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and len(number) >= 2 and luhn_digit(number[:-1]) == number[-1]


def generate_number() -> str:
    """A fresh number: 18 random digits (the OS's randomness) and their Luhn check digit."""
    body = "".join(secrets.choice("0123456789") for _ in range(GENERATED_DIGITS - 1))
    return body + luhn_digit(body)


def normalize_number(text: object, *, field: str = "number") -> str:
    """A card number as typed or given: spaces and hyphens dropped, letters upper-cased, 6 to 32 letters and digits."""
    if not isinstance(text, str):
        raise InvalidInput("a gift card number is text", field=field)
    number = _SEPARATORS.sub("", text).upper()
    if not MIN_NUMBER_LENGTH <= len(number) <= MAX_NUMBER_LENGTH or not _NUMBER.fullmatch(number):
        raise InvalidInput(
            f"a gift card number has {MIN_NUMBER_LENGTH} to {MAX_NUMBER_LENGTH} letters and digits", field=field
        )
    return number


def not_found(number: str, *, field: str = "number") -> NotFound:
    """The refusal for a number no card of this network has; a generated-looking number with a wrong check digit
    says it was probably mistyped."""
    if len(number) == GENERATED_DIGITS and number.isdigit() and not luhn_valid(number):
        return NotFound(f"gift card {number}: the check digit does not match, the number is mistyped", field=field)
    return NotFound(f"this network has no gift card {number}", field=field)


def parse_pin(text: object, *, field: str = "pin") -> str:
    if not isinstance(text, str) or not text.strip().isascii() or not text.strip().isdigit():
        raise InvalidInput(f"a gift card PIN is {PIN_LENGTHS.start} to {PIN_LENGTHS.stop - 1} digits", field=field)
    pin = text.strip()
    if len(pin) not in PIN_LENGTHS:
        raise InvalidInput(f"a gift card PIN is {PIN_LENGTHS.start} to {PIN_LENGTHS.stop - 1} digits", field=field)
    return pin


def require_pin_check_allowed(card: GiftCard, now: datetime, *, field: str = "pin") -> None:
    """Refuses while the card's PIN checks are stopped after too many wrong PINs (429 with the wait)."""
    if card.pin_locked_until is not None and now < card.pin_locked_until:
        wait = max(1, int((card.pin_locked_until - now).total_seconds()))
        raise TooManyAttempts(
            f"{MAX_PIN_ATTEMPTS} wrong PINs for gift card {card.number}: PIN checks are stopped until "
            f"{card.pin_locked_until.isoformat()}",
            field=field,
            retry_after_seconds=wait,
        )


@dataclass(frozen=True, slots=True)
class PinAttempts:
    """The card's count of wrong PINs after one more, and until when its PIN checks stop (None: they do not)."""

    failed: int
    locked_until: datetime | None

    @property
    def left(self) -> int:
        return MAX_PIN_ATTEMPTS - self.failed if self.locked_until is None else 0


def after_wrong_pin(card: GiftCard, now: datetime) -> PinAttempts:
    """One more wrong PIN: the fifth in a row stops PIN checks for PIN_LOCK and starts the count afresh."""
    return counted_wrong_pin(card.failed_pin_attempts + 1, now)


def counted_wrong_pin(failed: int, now: datetime) -> PinAttempts:
    """A PIN found wrong, `failed` counting it: the fifth stops PIN checks for PIN_LOCK and starts the count afresh."""
    if failed >= MAX_PIN_ATTEMPTS:
        return PinAttempts(0, now + PIN_LOCK)
    return PinAttempts(failed, None)


def reserve_pin_check(card: GiftCard, now: datetime, *, field: str = "pin") -> int:
    """The card's count with one more check in it: a check counts as wrong until argon2 proves it right, so checks
    at once cannot try more than MAX_PIN_ATTEMPTS PINs. While that many are counted (wrong, or still being checked)
    the next is refused for a second (429) — without stopping the card: only a wrong PIN does that."""
    require_pin_check_allowed(card, now, field=field)
    if card.failed_pin_attempts >= MAX_PIN_ATTEMPTS:
        raise TooManyAttempts(
            f"{MAX_PIN_ATTEMPTS} PIN checks of gift card {card.number} are under way or wrong: try again in a second",
            field=field,
            retry_after_seconds=1,
        )
    return card.failed_pin_attempts + 1


def wrong_pin(card: GiftCard, attempts: PinAttempts, *, field: str = "pin") -> InvalidInput | TooManyAttempts:
    """The refusal of a wrong PIN, saying how many tries are left (or that checks are stopped now)."""
    if attempts.locked_until is not None:
        return TooManyAttempts(
            f"wrong PIN for gift card {card.number}, the {MAX_PIN_ATTEMPTS}th in a row: PIN checks are stopped until "
            f"{attempts.locked_until.isoformat()}",
            field=field,
            retry_after_seconds=int(PIN_LOCK.total_seconds()),
        )
    return InvalidInput(f"wrong PIN for gift card {card.number}: {attempts.left} attempt(s) left", field=field)


# --- validity and amounts ---------------------------------------------------------------------------------------


def parse_valid_days(days: object, *, field: str = "valid_days") -> int:
    if days is None:
        return DEFAULT_VALID_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_VALID_DAYS:
        raise InvalidInput(f"a gift card is valid 1 to {MAX_VALID_DAYS} days", field=field)
    return days


def require_amount(amount_minor: int, max_amount_minor: int, currency: str, *, field: str = "amount") -> None:
    """A card's amount: more than zero, at most the network's purchase amount limit."""
    if amount_minor <= 0:
        raise InvalidInput("a gift card's amount is more than zero", field=field)
    if amount_minor > max_amount_minor:
        limit = format_minor(max_amount_minor, currency)
        raise InvalidInput(f"a gift card's amount is at most {limit} {currency} here", field=field)


def require_usable(card: GiftCard, network_id: int, now: datetime, *, field: str = "number") -> None:
    """May money be taken from the card now? Refusals name the card's field: another network's card, blocked,
    expired, not yet valid, spent."""
    if card.network_id != network_id:
        raise NotFound(f"this network has no gift card {card.number}", field=field)
    if card.status is GiftCardStatus.BLOCKED:
        raise CardNotActive(f"gift card {card.number} is blocked", field=field)
    if card.status is GiftCardStatus.EXPIRED or now >= card.valid_until:
        raise CardNotActive(f"gift card {card.number} expired at {card.valid_until.isoformat()}", field=field)
    if now < card.valid_from:
        raise CardNotActive(f"gift card {card.number} is valid from {card.valid_from.isoformat()}", field=field)
    if card.status is GiftCardStatus.SPENT or card.balance_minor <= 0:
        raise CardNotActive(f"gift card {card.number} is spent: nothing is left on it", field=field)


# --- ledger plans -----------------------------------------------------------------------------------------------


def sale_transaction(
    seller_prepaid_account: int, card_account: int, asset: str, amount_minor: int, memo: str
) -> Transaction:
    """A card sold for A (or issued by the administrator, `seller_prepaid_account` then the node's): the seller's
    PREPAID −A, the card +A."""
    postings = transfer(seller_prepaid_account, card_account, asset, amount_minor)
    return require_valid(Transaction(TransactionKind.GIFT_CARD_SALE, postings, memo=memo))


def redemption_postings(
    card: GiftCard,
    amount_minor: int,
    accepting_prepaid_account: int,
    asset: str,
    network_id: int,
    now: datetime,
    *,
    number_field: str = "number",
    amount_field: str = "amount",
) -> tuple[Posting, ...]:
    """G taken from the card as payment at an outlet of partner Q: the card −G, Q's PREPAID +G. These postings go
    into the purchase's transaction (the tender wiring); storage then debits the card with a guard
    (`balance_minor >= G`), so a concurrent spend never takes it below zero."""
    require_usable(card, network_id, now, field=number_field)
    if amount_minor <= 0:
        raise InvalidInput("the amount taken from a gift card is more than zero", field=amount_field)
    if amount_minor > card.balance_minor:
        raise InvalidInput(
            f"gift card {card.number} holds {card.balance_minor} minor units of {card.currency}, less than "
            f"{amount_minor}: insufficient funds",
            field=amount_field,
        )
    return transfer(card.account_id, accepting_prepaid_account, asset, amount_minor)


def redemption_transaction(
    card: GiftCard,
    amount_minor: int,
    accepting_prepaid_account: int,
    asset: str,
    network_id: int,
    now: datetime,
    memo: str,
    *,
    number_field: str = "number",
    amount_field: str = "amount",
) -> Transaction:
    """The redemption on its own, as a purchase transaction of two postings (what a purchase adds them to)."""
    postings = redemption_postings(
        card,
        amount_minor,
        accepting_prepaid_account,
        asset,
        network_id,
        now,
        number_field=number_field,
        amount_field=amount_field,
    )
    return require_valid(Transaction(TransactionKind.PURCHASE, postings, memo=memo))


@dataclass(frozen=True, slots=True)
class ExpirySplit:
    kept_minor: int  # the node's PREPAID_BREAKAGE
    returned_minor: int  # the selling partner's PREPAID


def expiry_split(card: GiftCard, policy: BreakagePolicy) -> ExpirySplit:
    """What is left on an expiring card, split by the network's policy. Rounding (`shared`): the seller's share is
    rounded down to the minor unit (`share_of_minor_floor`, once per card); the remainder is the node's. A card the
    administrator issued has no seller: all of it is the node's."""
    left = card.balance_minor
    returned = 0 if card.seller_partner_id is None else policy.returned_minor(left)
    return ExpirySplit(left - returned, returned)


def expiry_transaction(
    card: GiftCard,
    policy: BreakagePolicy,
    node_breakage_account: int,
    seller_prepaid_account: int | None,
    asset: str,
    memo: str,
) -> Transaction | None:
    """The card's remaining balance R posted away at expiry: the card −R, the node's PREPAID_BREAKAGE +kept, the
    seller's PREPAID +returned. None when nothing is left."""
    if card.balance_minor <= 0:
        return None
    split = expiry_split(card, policy)
    postings = [Posting(card.account_id, asset, -card.balance_minor)]
    if split.kept_minor:
        postings.append(Posting(node_breakage_account, asset, split.kept_minor))
    if split.returned_minor:
        if seller_prepaid_account is None:
            raise ValueError("a card with a seller needs the seller's PREPAID account")
        postings.append(Posting(seller_prepaid_account, asset, split.returned_minor))
    return require_valid(Transaction(TransactionKind.GIFT_CARD_EXPIRY, tuple(postings), memo=memo))
