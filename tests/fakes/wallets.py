"""The fake POS unit of work's wallets (issue 14): the `WalletsPort` in memory, with the floor the SQL CHECK keeps."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from coalition.application.ports import EVERY_LINE, LineWindow, PaidTender, PayingWallet, WalletLine
from coalition.domain.errors import InsufficientFunds
from coalition.domain.ledger import OwnerKind
from coalition.domain.wallets import Wallet, WalletStatus


class FakeWallets:
    """Mixed into FakeUnitOfWork: wallets, PREPAID accounts and wallet postings kept on the state."""

    s: Any

    def _wallets(self) -> dict[int, Wallet]:
        if not hasattr(self.s, "wallets"):
            self.s.wallets = {}
            self.s.prepaid_accounts = {}
        wallets: dict[int, Wallet] = self.s.wallets
        return wallets

    async def wallet(self, member_id: int, currency: str) -> Wallet | None:
        return next((w for w in self._wallets().values() if (w.member_id, w.currency) == (member_id, currency)), None)

    async def wallet_of_account(self, account_id: int) -> Wallet | None:
        return self._wallets().get(account_id)

    async def open_wallet(self, network_id: int, member_id: int, currency: str, now: datetime) -> Wallet:
        found = await self.wallet(member_id, currency)
        if found is None:
            found = Wallet(self.s.new_id(), member_id, currency, 0)
            self._wallets()[found.account_id] = found
        return found

    async def wallet_spent_since(self, account_id: int, since: datetime) -> int:
        return sum(
            -p.amount
            for posted in self.s.transactions.values()
            if posted.recorded_at >= since and posted.transaction.kind.value == "purchase"
            for p in posted.transaction.postings
            if p.account_id == account_id and p.amount < 0
        )

    async def prepaid_account(self, network_id: int, owner: OwnerKind, owner_id: int, currency: str) -> int:
        self._wallets()
        accounts: dict[tuple[int, str, int, str], int] = self.s.prepaid_accounts
        return accounts.setdefault((network_id, owner.value, owner_id, currency), self.s.new_id())

    async def add_to_wallet(self, account_id: int, amount_minor: int) -> int:
        wallet = self._wallets()[account_id]
        if wallet.balance_minor + amount_minor + wallet.credit_limit_minor < 0:
            raise InsufficientFunds("the wallet cannot pay this much", field="tenders")
        self._wallets()[account_id] = replace(wallet, balance_minor=wallet.balance_minor + amount_minor)
        return wallet.balance_minor + amount_minor

    async def set_wallet_limits(self, account_id: int, credit_limit_minor: int, daily_minor: int | None) -> None:
        wallet = self._wallets()[account_id]
        self._wallets()[account_id] = replace(
            wallet, credit_limit_minor=credit_limit_minor, daily_spend_limit_minor=daily_minor
        )

    async def set_wallet_status(self, account_id: int, status: WalletStatus) -> None:
        self._wallets()[account_id] = replace(self._wallets()[account_id], status=status)

    async def wallet_history(self, account_id: int, limit: int, window: LineWindow = EVERY_LINE) -> list[WalletLine]:
        lines: list[WalletLine] = []
        running = 0
        for tx_id, posted in sorted(self.s.transactions.items()):
            amount = sum(p.amount for p in posted.transaction.postings if p.account_id == account_id)
            if not any(p.account_id == account_id for p in posted.transaction.postings):
                continue
            running += amount
            if not window.admits(tx_id, posted.recorded_at):
                continue
            lines.append(
                WalletLine(tx_id, posted.transaction.kind.value, posted.occurred_at, posted.recorded_at, None, amount,
                           running, posted.transaction.memo)
            )  # fmt: skip
        return lines[-limit:]

    async def paid_tenders(self, tx_id: int) -> list[PaidTender]:
        posted = self.s.transactions.get(tx_id)
        if posted is None:
            return []
        wallets = self._wallets()
        cards = {card.account_id for card in getattr(self.s, "gift_cards", {}).values()}
        return [
            PaidTender(p.account_id, "member_wallet" if p.account_id in wallets else "gift_card", -p.amount)
            for p in posted.transaction.postings
            if (p.account_id in wallets or p.account_id in cards) and p.amount < 0
        ]

    async def wallet_for_payment(self, member_id: int, currency: str, since: datetime) -> PayingWallet:
        wallet = await self.wallet(member_id, currency)
        spent = 0
        if wallet is not None and wallet.daily_spend_limit_minor is not None:
            spent = await self.wallet_spent_since(wallet.account_id, since)
        return PayingWallet(wallet, spent)

    async def partner_prepaid_account(self, network_id: int, partner_id: int, currency: str) -> int | None:
        self._wallets()
        accounts: dict[tuple[int, str, int, str], int] = self.s.prepaid_accounts
        return accounts.get((network_id, OwnerKind.PARTNER.value, partner_id, currency))
