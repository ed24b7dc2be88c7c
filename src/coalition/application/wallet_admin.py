"""The administrator's side of wallets (issue 14): a member's credit limit and daily spending limit, and closing a
wallet (it then neither pays nor takes refunds). Each change is audited in its own unit of work."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from coalition.application.audit import entry
from coalition.application.commands import customer_candidates, member_not_found
from coalition.application.ports import PosUnitOfWork
from coalition.application.pos import PosService
from coalition.application.tenders import start_of_local_day
from coalition.application.wallet_reports import WalletOverview, read_wallet
from coalition.application.wallets_pos import WalletView
from coalition.domain.errors import MemberNotFound
from coalition.domain.money import parse_amount_minor
from coalition.domain.wallets import WalletStatus, checked_credit_limit, checked_daily_limit, wallet_currency

UNCHANGED = object()
HISTORY_LINES = 50  # the console's member page shows the latest movements


class WalletAdmin:
    def __init__(self, pos: PosService) -> None:
        self.pos = pos

    async def set_limits(
        self,
        network_id: int,
        network_currency: str,
        member_id: int,
        *,
        currency: str | None = None,
        credit_limit: str | None = None,
        daily_spend_limit: str | object | None = UNCHANGED,
    ) -> dict[str, Any]:
        """Set the limits given (a daily limit of null removes it); the wallet is opened if the member has none."""
        wanted = wallet_currency(currency, network_currency)
        async with self.pos.unit_of_work() as uow:
            await self._require_member(uow, network_id, member_id)
            pc = await self.pos.program_context(uow, network_id)
            ceiling = pc.limits.max_amount_minor
            wallet = await uow.open_wallet(network_id, member_id, wanted, self.pos.clock.now())
            credit = wallet.credit_limit_minor
            if credit_limit is not None:
                parsed = parse_amount_minor(credit_limit, wanted, field="credit_limit")
                credit = checked_credit_limit(parsed, ceiling, wallet.balance_minor, wanted)
            daily = wallet.daily_spend_limit_minor
            if daily_spend_limit is not UNCHANGED:
                text = daily_spend_limit if isinstance(daily_spend_limit, str) else None
                parsed_daily = None if text is None else parse_amount_minor(text, wanted, field="daily_spend_limit")
                daily = checked_daily_limit(parsed_daily, ceiling, wanted)
            await uow.set_wallet_limits(wallet.account_id, credit, daily)
            after = replace(wallet, credit_limit_minor=credit, daily_spend_limit_minor=daily)
            view = WalletView.of(member_id, wanted, after, 0)
            await uow.audit(
                entry(
                    network_id,
                    "wallet.limits",
                    "member",
                    member_id,
                    before={"credit_limit_minor": wallet.credit_limit_minor, "daily": wallet.daily_spend_limit_minor},
                    after={"credit_limit_minor": credit, "daily": daily},
                )
            )
            return view.json()

    async def limits(self, network_id: int, network_currency: str, member_id: int) -> dict[str, Any]:
        """The member's wallet as PUT /v1/admin/members/{member_id}/wallet answers it (an empty one: none yet)."""
        async with self.pos.unit_of_work() as uow:
            await self._require_member(uow, network_id, member_id)
            wallet = await uow.wallet(member_id, network_currency)
        return WalletView.of(member_id, network_currency, wallet, 0).json()

    async def overview(
        self, network_id: int, network_currency: str, member_id: int, timezone: str, limit: int = HISTORY_LINES
    ) -> WalletOverview | None:
        """The member's wallet and its latest movements (None: they never had one); today is the reader's day."""
        async with self.pos.unit_of_work() as uow:
            await self._require_member(uow, network_id, member_id)
            day_start = start_of_local_day(self.pos.clock.now(), timezone)
            return await read_wallet(uow, member_id, network_currency, day_start, limit)

    async def member_of(self, network_id: int, identifier: str) -> int:
        """The member an identifier names (card, phone, …; `id:<n>` names the member's id), for the CLI."""
        text = identifier.strip()
        if text.lower().startswith("id:") and text[3:].strip().isdigit():
            return int(text[3:].strip())
        async with self.pos.unit_of_work() as uow:
            region = (await self.pos.program_context(uow, network_id)).phone_region
            member = await uow.find_member(network_id, customer_candidates(text, "member", region), lock=False)
        if member is None:
            raise member_not_found(text, "member")
        return member.member_id

    async def close(
        self, network_id: int, network_currency: str, member_id: int, currency: str | None
    ) -> dict[str, Any]:
        wanted = wallet_currency(currency, network_currency)
        async with self.pos.unit_of_work() as uow:
            await self._require_member(uow, network_id, member_id)
            wallet = await uow.open_wallet(network_id, member_id, wanted, self.pos.clock.now())
            await uow.set_wallet_status(wallet.account_id, WalletStatus.CLOSED)
            await uow.audit(
                entry(network_id, "wallet.close", "member", member_id, before={"status": wallet.status.value},
                      after={"status": WalletStatus.CLOSED.value})
            )  # fmt: skip
            return WalletView.of(member_id, wanted, replace(wallet, status=WalletStatus.CLOSED), 0).json()

    @staticmethod
    async def _require_member(uow: PosUnitOfWork, network_id: int, member_id: int) -> None:
        if await uow.member_in_network(network_id, member_id) is None:
            raise MemberNotFound(f"this network has no member {member_id}", field="member_id")
