"""Money on the card at the terminal (issue 14): the member's wallet as the customer's screen shows it, the sale's
wallet tender as its forms carry it, the quote's tenders and what is left to collect at the till, and a wallet's
refusal in the cashier's words. No routes: terminal.py (the sale), terminal_wallet.py (top-ups, the wallet's
choice) and terminal_gift_cards.py (the gift card's choice) use it, so it imports none of them.

The sale's forms carry the wallet's choice in one hidden field, `wallet`: empty (no wallet), `all` (as much as the
wallet can pay of what is left) or an amount as the API writes it (`60.00`), read from what the cashier typed by the
page that offers the choice. The purchase sends it as the API's tender, so the server checks it again at the confirm.
A gift card travels beside it in three: `gift_card` (its number), `gift_card_pin` (typed by the customer on the
collect screen; carried to the confirm, never stored or fingerprinted) and `gift_card_amount` (`all` or an amount).
The card is the sale's first tender (a card expires, a wallet does not), the wallet the second.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.datastructures import FormData

from coalition.adapters.web import formatting
from coalition.adapters.web.sessions import services_of
from coalition.adapters.web.templating import error_text, gettext, language_of
from coalition.application import wallets_pos
from coalition.application.commands import TenderInput
from coalition.application.ports import TerminalContext
from coalition.application.purchases.results import QuoteResult
from coalition.domain import errors
from coalition.domain.tenders import TenderKind

WALLET_ALL = "all"


async def wallet_facts(request: Request, ctx: TerminalContext, customer: str) -> dict[str, Any]:
    """The member's wallet of the network's currency: an empty one when they have none yet (the same read as
    GET /v1/members/{identifier}/wallet; the screen's own lookup of the member was budgeted already)."""
    view = await wallets_pos.balance(services_of(request).pos, ctx, customer, None)
    return {
        "currency": view.currency,
        "balance_minor": view.balance_minor,
        "credit_limit_minor": view.credit_limit_minor,
        "available_minor": view.available_minor,
        "daily_limit_minor": view.daily_spend_limit_minor,
        "daily_left_minor": view.daily_left_minor,
        "closed": view.status != "open",
    }


GIFT_CARD_FIELDS = ("gift_card", "gift_card_pin", "gift_card_amount")


def gift_card_of(form: FormData) -> dict[str, str] | None:
    """The sale's gift card as its forms carry it (None: no card)."""
    card = {name: str(form.get(name, "")).strip() for name in GIFT_CARD_FIELDS}
    return card if card["gift_card"] else None


def tenders_of(choice: str, card: dict[str, str] | None = None) -> tuple[TenderInput, ...]:
    """The API's tenders of a sale's `wallet` field and gift card (anything else than `all` is an amount, which the
    service checks as it checks the API's: a bad one is refused naming `tenders[i].amount`)."""
    tenders: list[TenderInput] = []
    if card:
        amount = card["gift_card_amount"]
        pin = card["gift_card_pin"] or None
        tenders.append(
            TenderInput(
                TenderKind.GIFT_CARD.value, None if amount in ("", WALLET_ALL) else amount, card["gift_card"], pin
            )
        )
    if choice:
        tenders.append(TenderInput(TenderKind.WALLET.value, None if choice == WALLET_ALL else choice))
    return tuple(tenders)


def tender_facts(quoted: QuoteResult, choice: str, card: dict[str, str] | None = None) -> dict[str, Any]:
    """What the quote says the tenders pay, and what is left to collect at the till (all of it without tenders)."""
    tenders = quoted.tenders or ()
    paid = [{"kind": tender.kind, "amount_minor": tender.amount_minor} for tender in tenders]
    wallet_minor = sum(tender.amount_minor for tender in tenders if tender.kind == TenderKind.WALLET.value)
    card_minor = sum(tender.amount_minor for tender in tenders if tender.kind == TenderKind.GIFT_CARD.value)
    collect = quoted.to_collect_minor if quoted.tenders is not None else quoted.amount_due_minor
    return {
        "wallet": choice,
        "tenders": paid,
        "wallet_minor": wallet_minor,
        "gift_card": card or {},
        "gift_card_minor": card_minor,
        "to_collect_minor": collect,
    }


def wallet_refusal(request: Request, error: errors.DomainError, wallet: dict[str, Any], due_minor: int) -> str:
    """Why the wallet cannot pay this, in the cashier's words, with the figure they need."""

    def money(amount_minor: int) -> str:
        return formatting.money(amount_minor, wallet["currency"], language_of(request))

    if isinstance(error, errors.InsufficientFunds):
        if wallet["closed"]:
            return gettext(request, "The customer's wallet is closed; it cannot pay.")
        if wallet["available_minor"] <= 0:
            return gettext(request, "The wallet has no money to pay with.")
        return gettext(request, "The wallet can pay at most %(amount)s now.", amount=money(wallet["available_minor"]))
    if isinstance(error, errors.InvalidInput) and (error.field or "").startswith("tenders"):
        return gettext(request, "The wallet can pay at most what is left to pay: %(amount)s.", amount=money(due_minor))
    return error_text(request, error.detail)


def card_refused(form: FormData, error: errors.DomainError) -> bool:
    """Was it the sale's gift card (its first tender) that was refused?"""
    return gift_card_of(form) is not None and (error.field or "").startswith("tenders[0]")


def gift_card_refusal(request: Request, error: errors.DomainError) -> str:
    """Why the gift card cannot pay this, in the cashier's words."""
    if isinstance(error, errors.TooManyAttempts):
        return gettext(request, "Too many wrong PINs: this card's PIN cannot be checked for a while.")
    return error_text(request, error.detail)
