"""Wallets: a member's prepaid money per currency, its limits, and the partners' PREPAID accounts (issue 14)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from coalition.application.pos_ports.lines import EVERY_LINE, LineWindow
from coalition.domain.ledger import OwnerKind
from coalition.domain.tenders import Funds
from coalition.domain.wallets import Wallet, WalletStatus


@dataclass(frozen=True, slots=True)
class PayingWallet:
    """A member's wallet as a purchase reads it to pay from it: the wallet (None: the member has none of the
    currency) and what purchases took from it since the outlet's midnight (0 unless it has a daily limit)."""

    wallet: Wallet | None
    spent_today_minor: int = 0

    def funds(self) -> tuple[Funds, ...]:
        return () if self.wallet is None else (self.wallet.funds(self.spent_today_minor),)


@dataclass(frozen=True, slots=True)
class WalletLine:
    """One movement of a wallet: its transaction, where, how much (+ in, − out) and the balance after it."""

    tx_id: int
    kind: str
    occurred_at: datetime
    recorded_at: datetime
    outlet_name: str | None
    amount_minor: int
    balance_after_minor: int
    memo: str


@dataclass(frozen=True, slots=True)
class PaidTender:
    """Money a purchase's transaction took from a member's wallet or a gift card (for its refunds)."""

    account_id: int
    purpose: str
    amount_minor: int


class WalletsPort(Protocol):
    async def wallet(self, member_id: int, currency: str) -> Wallet | None: ...
    async def wallet_of_account(self, account_id: int) -> Wallet | None: ...
    async def open_wallet(self, network_id: int, member_id: int, currency: str, now: datetime) -> Wallet:
        """The member's wallet of this currency, created (empty, open, no credit) if they have none."""
        ...

    async def wallet_spent_since(self, account_id: int, since: datetime) -> int:
        """What purchases took from the wallet since `since` (by the server's time), net of nothing."""
        ...

    async def prepaid_account(self, network_id: int, owner: OwnerKind, owner_id: int, currency: str) -> int:
        """A partner's (or the node's) PREPAID account of this currency, created on first use."""
        ...

    async def partner_prepaid_account(self, network_id: int, partner_id: int, currency: str) -> int | None:
        """A partner's PREPAID account of this currency, read only (None: it has none): what the purchase path
        caches, so a cached id is never one of an uncommitted transaction."""
        ...

    async def wallet_for_payment(self, member_id: int, currency: str, since: datetime) -> PayingWallet:
        """In one read, for a payment from a wallet when the member was read without it (a quote, a batch): the
        member's wallet and, under a daily limit, what purchases took from it since `since`."""
        ...

    async def add_to_wallet(self, account_id: int, amount_minor: int) -> int:
        """Change the balance by `amount_minor` (guarded by the floor's CHECK); the balance after."""
        ...

    async def set_wallet_limits(self, account_id: int, credit_limit_minor: int, daily_minor: int | None) -> None: ...
    async def set_wallet_status(self, account_id: int, status: WalletStatus) -> None: ...
    async def wallet_history(self, account_id: int, limit: int, window: LineWindow = EVERY_LINE) -> list[WalletLine]:
        """The newest `limit` movements in the window, oldest first, each with the balance after it."""
        ...

    async def paid_tenders(self, tx_id: int) -> list[PaidTender]: ...
