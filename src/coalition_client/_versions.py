"""The clients' reads of the state each admin edit changes, at the edit's own path (docs/api.md "Conventions": the
ETag of such a read is what the edit's If-Match names): a member's labels and wallet limits, a cashier's block and
password state (never the password), a partner's e-mail, a job's schedule, the keys' expiries, the program editor's
fields and a network's plan (the operator token). Mixed into `Client` and `AsyncClient`, whose `call` they use."""

from __future__ import annotations

from coalition_client import admin_models as admin
from coalition_client import models as m
from coalition_client import routes as r
from coalition_client._core import AsyncCalls, Calls


class VersionCalls(Calls):
    def member_labels(self, identifier: str) -> admin.MemberLabelsState:
        """A member's tier and segments (what `label_member` sets)."""
        return self.call(r.MEMBER_LABELS, path={"identifier": identifier})

    def wallet_limits(self, member_id: int) -> m.Wallet:
        """A member's wallet in the network's currency, with its limits (what `set_wallet_limits` sets)."""
        return self.call(r.WALLET_LIMITS, path={"member_id": member_id})

    def cashier_active(self, cashier_id: int) -> admin.CashierActiveAnswer:
        return self.call(r.CASHIER_ACTIVE, path={"cashier_id": cashier_id})

    def cashier_password_state(self, cashier_id: int) -> admin.CashierPasswordState:
        """The cashier's login, whether active, and when the password was last set (never the password)."""
        return self.call(r.CASHIER_PASSWORD_STATE, path={"cashier_id": cashier_id})

    def partner_email(self, partner_id: int) -> admin.PartnerEmailState:
        return self.call(r.PARTNER_EMAIL, path={"partner_id": partner_id})

    def schedule(self, job: str) -> admin.Schedule:
        return self.call(r.SCHEDULE, path={"job": job})

    def admin_key_expiry(self, network: str) -> admin.AdminKeyExpiry:
        return self.call(r.ADMIN_KEY_EXPIRY, path={"network": network})

    def terminal_key_expiry(self, terminal_id: int) -> admin.TerminalKeyExpiry:
        return self.call(r.TERMINAL_KEY_EXPIRY, path={"terminal_id": terminal_id})

    def draft_program(self) -> admin.ProgramFields:
        """The program editor's fields: the draft's, else the version in force's, else the example."""
        return self.call(r.DRAFT_PROGRAM)

    def network_plan(self, network_id: int) -> admin.NetworkPlan:
        """A network's plan, customers and trial (the operator token)."""
        return self.call(r.NETWORK_PLAN, path={"network_id": network_id})


class AsyncVersionCalls(AsyncCalls):
    async def member_labels(self, identifier: str) -> admin.MemberLabelsState:
        """A member's tier and segments (what `label_member` sets)."""
        return await self.call(r.MEMBER_LABELS, path={"identifier": identifier})

    async def wallet_limits(self, member_id: int) -> m.Wallet:
        """A member's wallet in the network's currency, with its limits (what `set_wallet_limits` sets)."""
        return await self.call(r.WALLET_LIMITS, path={"member_id": member_id})

    async def cashier_active(self, cashier_id: int) -> admin.CashierActiveAnswer:
        return await self.call(r.CASHIER_ACTIVE, path={"cashier_id": cashier_id})

    async def cashier_password_state(self, cashier_id: int) -> admin.CashierPasswordState:
        """The cashier's login, whether active, and when the password was last set (never the password)."""
        return await self.call(r.CASHIER_PASSWORD_STATE, path={"cashier_id": cashier_id})

    async def partner_email(self, partner_id: int) -> admin.PartnerEmailState:
        return await self.call(r.PARTNER_EMAIL, path={"partner_id": partner_id})

    async def schedule(self, job: str) -> admin.Schedule:
        return await self.call(r.SCHEDULE, path={"job": job})

    async def admin_key_expiry(self, network: str) -> admin.AdminKeyExpiry:
        return await self.call(r.ADMIN_KEY_EXPIRY, path={"network": network})

    async def terminal_key_expiry(self, terminal_id: int) -> admin.TerminalKeyExpiry:
        return await self.call(r.TERMINAL_KEY_EXPIRY, path={"terminal_id": terminal_id})

    async def draft_program(self) -> admin.ProgramFields:
        """The program editor's fields: the draft's, else the version in force's, else the example."""
        return await self.call(r.DRAFT_PROGRAM)

    async def network_plan(self, network_id: int) -> admin.NetworkPlan:
        """A network's plan, customers and trial (the operator token)."""
        return await self.call(r.NETWORK_PLAN, path={"network_id": network_id})
