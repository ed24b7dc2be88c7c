"""Wallets over HTTP (issue 14): the till tops a member's wallet up and reads its balance and history (terminal key);
the administrator sets a member's credit and daily limits and closes a wallet (admin key). Paying with a wallet is a
tender of POST /v1/purchases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictStr

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import (
    NetworkAdmin,
    PathId,
    PosWriteOf,
    Svc,
    Terminal,
    answer,
    terminal_doc,
    till_write,
)
from coalition.adapters.http.list_routes import Since, Until
from coalition.adapters.http.pagination import PAGE_RESPONSES, PageRequest, announce, older_page, paging_of
from coalition.adapters.http.schemas import Amount, Body
from coalition.application import wallets_pos
from coalition.application.ports import LineWindow
from coalition.application.wallet_admin import UNCHANGED, WalletAdmin
from coalition.domain.money import parse_amount_minor

router = APIRouter(prefix="/v1", tags=["Wallets"], route_class=CheckedRoute)
admin_router = APIRouter(prefix="/v1/admin", tags=["Admin"], route_class=CheckedRoute)

Currency = Annotated[StrictStr | None, Field(default=None, min_length=3, max_length=3, examples=["EUR"])]


class TopUpBody(Body):
    customer: StrictStr = Field(min_length=1, max_length=256, description="any identifier of the member")
    amount: Amount = Field(description="the money taken at this outlet, put on the wallet")
    currency: Currency = None
    cashier: StrictStr | None = Field(default=None, max_length=100, description="the cashier's login")

    def to_input(self) -> wallets_pos.TopUpInput:
        return wallets_pos.TopUpInput(self.customer, self.amount, self.currency, self.cashier)


class WalletLimitsBody(Body):
    currency: Currency = None
    credit_limit: Amount | None = Field(default=None, description="the wallet may go down to −this; 0: no credit")
    daily_spend_limit: Amount | None = Field(default=None, description="at most this much a day; null: no limit")


class CloseWalletBody(Body):
    currency: Currency = None


class WalletAnswer(BaseModel):
    member: int
    currency: str
    balance: str = Field(description="negative: the member owes it (within the credit limit)")
    credit_limit: str
    available: str = Field(description="what the wallet can pay now: down to −credit limit, within today's limit")
    daily_spend_limit: str | None
    daily_left: str | None
    status: str = Field(description="open or closed")


class ToppedUpAnswer(WalletAnswer):
    topped_up: str
    transaction: int
    recorded_at: str

    def result(self) -> wallets_pos.ToppedUp:
        """The typed top-up of a stored answer (the web terminal's receipt): the inverse of `ToppedUp.json()`."""
        c = self.currency

        def minor(amount: str | None) -> int | None:
            return None if amount is None else parse_amount_minor(amount, c)

        view = wallets_pos.WalletView(
            self.member,
            c,
            parse_amount_minor(self.balance, c),
            parse_amount_minor(self.credit_limit, c),
            parse_amount_minor(self.available, c),
            minor(self.daily_spend_limit),
            minor(self.daily_left),
            self.status,
        )
        topped = parse_amount_minor(self.topped_up, c)
        return wallets_pos.ToppedUp(view, topped, self.transaction, datetime.fromisoformat(self.recorded_at))


class WalletLineAnswer(BaseModel):
    transaction: int
    kind: str = Field(description="top_up, purchase, refund")
    occurred_at: str
    recorded_at: str
    outlet: str | None
    amount: str = Field(description="+ into the wallet, − out of it")
    balance_after: str
    memo: str


class WalletHistoryAnswer(BaseModel):
    member: int
    currency: str
    lines: list[WalletLineAnswer]
    next_cursor: str | None = Field(default=None, description="the older page's `cursor`; null on the oldest page")


@till_write(router, "/wallets/top-ups", ToppedUpAnswer, "Top a member's wallet up with money taken at this outlet", 201)
async def top_up(body: TopUpBody, w: PosWriteOf) -> JSONResponse:
    """Where the permissions matrix allows `top_up` on `wallet:<currency>`; the outlet's partner owes the money to
    the node until the wallet is spent."""
    return answer(await wallets_pos.top_up(w.svc.pos, w.ctx, body.to_input(), w.key, w.fingerprint))


@router.get(
    "/members/{identifier}/wallet",
    response_model=WalletAnswer,
    summary="A member's wallet: balance, credit limit, what it can pay now and today",
    openapi_extra=terminal_doc(),
)
async def wallet(
    identifier: str, svc: Svc, ctx: Terminal, currency: Annotated[str | None, Query(max_length=3)] = None
) -> WalletAnswer:
    """Budgeted with the member lookups of this terminal (README "Rate limits")."""
    view = await svc.member_lookups.budgeted(ctx, lambda: wallets_pos.balance(svc.pos, ctx, identifier, currency))
    return WalletAnswer(**view.json())


@router.get(
    "/members/{identifier}/wallet/history",
    response_model=WalletHistoryAnswer,
    summary="A member's wallet movements with the balance after each, newest pages first, each oldest first",
    openapi_extra=terminal_doc(),
    responses=PAGE_RESPONSES,
)
async def wallet_history(
    request: Request,
    response: Response,
    identifier: str,
    svc: Svc,
    ctx: Terminal,
    page: Annotated[PageRequest, Depends(paging_of(100))],
    currency: Annotated[str | None, Query(max_length=3)] = None,
    since: Since = None,
    until: Until = None,
) -> WalletHistoryAnswer:
    """The first page holds the newest `limit` movements, oldest first; `next_cursor` reads the ones before them.
    `since`/`until` narrow it by recorded time; the balances still count every movement."""
    window = LineWindow(page.after, since, until)
    found = await svc.member_lookups.budgeted(
        ctx, lambda: wallets_pos.history(svc.pos, ctx, identifier, currency, page.limit + 1, window)
    )
    found["lines"], cursor = older_page(found["lines"], page, lambda line: line["transaction"])
    return WalletHistoryAnswer(**found, next_cursor=announce(request, response, cursor))


@admin_router.get(
    "/members/{member_id}/wallet",
    response_model=WalletAnswer,
    summary="A member's wallet in the network's currency: balance, credit limit, daily spending limit",
)
async def wallet_limits(member_id: PathId, svc: Svc, admin: NetworkAdmin) -> WalletAnswer:
    return WalletAnswer(**await WalletAdmin(svc.pos).limits(admin.id, admin.currency, member_id))


@admin_router.put(
    "/members/{member_id}/wallet",
    response_model=WalletAnswer,
    summary="Set a member's wallet credit limit and daily spending limit (the fields given)",
)
async def set_wallet_limits(member_id: PathId, body: WalletLimitsBody, svc: Svc, admin: NetworkAdmin) -> WalletAnswer:
    given = body.model_fields_set
    view = await WalletAdmin(svc.pos).set_limits(
        admin.id,
        admin.currency,
        member_id,
        currency=body.currency,
        credit_limit=body.credit_limit,
        daily_spend_limit=body.daily_spend_limit if "daily_spend_limit" in given else UNCHANGED,
    )
    return WalletAnswer(**view)


@admin_router.post(
    "/members/{member_id}/wallet/close",
    response_model=WalletAnswer,
    summary="Close a member's wallet: it pays no more and takes no refunds",
)
async def close_wallet(
    member_id: PathId, svc: Svc, admin: NetworkAdmin, body: CloseWalletBody | None = None
) -> WalletAnswer:
    currency = body.currency if body is not None else None
    return WalletAnswer(**await WalletAdmin(svc.pos).close(admin.id, admin.currency, member_id, currency))
