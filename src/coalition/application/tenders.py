"""A purchase's tenders from the request, and the funds they name read for `decide` (issue 14): only when the
request has tenders, so a purchase without them reads nothing more."""

from __future__ import annotations

from datetime import datetime

from coalition.application.commands import TenderInput, zone_named
from coalition.application.ports import PayingWallet, PosUnitOfWork, TerminalContext
from coalition.domain.errors import InvalidInput
from coalition.domain.money import parse_amount_minor
from coalition.domain.tenders import MAX_TENDERS, Funds, TenderKind, TenderRequest


def parse_tenders(tenders: tuple[TenderInput, ...], currency: str, max_amount_minor: int) -> tuple[TenderRequest, ...]:
    """Each tender's kind and amount (positive, at most the network's amount limit), naming `tenders[i].<field>`."""
    if len(tenders) > MAX_TENDERS:
        raise InvalidInput(f"a purchase has at most {MAX_TENDERS} tenders", field="tenders")
    parsed = []
    for index, tender in enumerate(tenders):
        try:
            kind = TenderKind(tender.kind)
        except ValueError:
            names = ", ".join(kind.value for kind in TenderKind)
            raise InvalidInput(
                f"'{tender.kind}' is not a tender: use {names}", field=f"tenders[{index}].kind"
            ) from None
        amount = None
        if tender.amount is not None:
            amount = parse_amount_minor(tender.amount, currency, field=f"tenders[{index}].amount")
            if amount <= 0 or amount > max_amount_minor:
                raise InvalidInput(
                    "a tender's amount is greater than zero and at most the purchase amount limit",
                    field=f"tenders[{index}].amount",
                )
        if kind is TenderKind.GIFT_CARD and not (tender.number or "").strip():
            raise InvalidInput("a gift card tender names the card's number", field=f"tenders[{index}].number")
        parsed.append(TenderRequest(kind, amount, tender.number, tender.pin))
    return tuple(parsed)


def start_of_local_day(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(zone_named(timezone)).replace(hour=0, minute=0, second=0, microsecond=0)


def wallet_day(tenders: tuple[TenderRequest, ...], ctx: TerminalContext, now: datetime) -> datetime | None:
    """When a tender pays from the member's wallet: the start of the outlet's day, since which a daily limit counts
    what the wallet paid (read with the member: `peek_member_points_paying`); None when no tender does."""
    if any(tender.kind is TenderKind.WALLET for tender in tenders):
        return start_of_local_day(now, ctx.timezone)
    return None


async def load_funds(
    uow: PosUnitOfWork,
    ctx: TerminalContext,
    member_id: int,
    currency: str,
    tenders: tuple[TenderRequest, ...],
    now: datetime,
    paying: PayingWallet | None = None,
) -> tuple[Funds, ...]:
    """The funds the tenders name (the member's wallet; gift cards plug in here); nothing when there are no
    tenders. `paying`: the wallet as the member's read returned it; without it (a quote, a batch) the wallet is read
    here. A daily limit counts what the wallet paid since the outlet's midnight (by the server's time)."""
    if not tenders:
        return ()
    funds: list[Funds] = []
    since = wallet_day(tenders, ctx, now)
    if since is not None:
        if paying is None:
            paying = await uow.wallet_for_payment(member_id, currency, since)
        funds.extend(paying.funds())
    return tuple(funds)
