"""The clients' calls for keys (a terminal's and the network admin's: rotation, expiry, the previous key's end), console
users, partners' e-mail, a device shown or revoked, and the rule sets' context, schema, explanation, simulation and
program editor. Mixed into `Client` and `AsyncClient`, whose `call` they use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coalition_client import message_models as msg
from coalition_client import routes as r
from coalition_client._core import AsyncCalls, Calls

Json = dict[str, Any]


class KeyAndRuleCalls(Calls):
    def rotate_terminal_key(
        self, terminal_id: int, body: msg.KeyRotation, *, idempotency_key: str | None = None
    ) -> Json:
        """A new key for the terminal, shown once; the previous one keeps working for `grace_seconds`."""
        path = {"terminal_id": terminal_id}
        return self.call(r.ROTATE_TERMINAL_KEY, body, path=path, idempotency_key=idempotency_key)

    def set_terminal_key_expiry(
        self, terminal_id: int, expires_at: datetime | None, *, if_match: str | None = None
    ) -> Json:
        """When the terminal's key stops working (None: never)."""
        body = {"expires_at": None if expires_at is None else expires_at.isoformat()}
        return self.call(r.SET_TERMINAL_KEY_EXPIRY, body, path={"terminal_id": terminal_id}, if_match=if_match)

    def end_previous_terminal_keys(self, terminal_id: int) -> Json:
        """End the grace of the terminal's previous keys now."""
        return self.call(r.END_PREVIOUS_TERMINAL_KEYS, path={"terminal_id": terminal_id})

    def rotate_admin_key(self, network: str, body: msg.KeyRotation, *, idempotency_key: str | None = None) -> Json:
        """A new admin key for the network (by its code), shown once (as `admin_key`); the previous one keeps
        working for `grace_seconds`."""
        return self.call(r.ROTATE_ADMIN_KEY, body, path={"network": network}, idempotency_key=idempotency_key)

    def set_admin_key_expiry(self, network: str, expires_at: datetime | None, *, if_match: str | None = None) -> Json:
        body = {"expires_at": None if expires_at is None else expires_at.isoformat()}
        return self.call(r.SET_ADMIN_KEY_EXPIRY, body, path={"network": network}, if_match=if_match)

    def create_console_user(self, body: msg.ConsoleUser, *, idempotency_key: str | None = None) -> Json:
        return self.call(r.CREATE_CONSOLE_USER, body, idempotency_key=idempotency_key)

    def set_partner_email(self, partner_id: int, body: msg.PartnerEmail, *, if_match: str | None = None) -> Json:
        """Where (and in which language) the partner's statements are sent."""
        return self.call(r.SET_PARTNER_EMAIL, body, path={"partner_id": partner_id}, if_match=if_match)

    def device(self, device_id: int) -> Json:
        return self.call(r.DEVICE, path={"device_id": device_id})

    def revoke_device(self, device_id: int, *, idempotency_key: str | None = None) -> Json:
        return self.call(r.REVOKE_DEVICE, path={"device_id": device_id}, idempotency_key=idempotency_key)

    def rule_set_context(self) -> Json:
        """What a rule may read, and the functions it may call (docs/rules.md)."""
        return self.call(r.RULE_SET_CONTEXT)

    def rule_set_schema(self) -> Json:
        """The rule set's JSON Schema."""
        return self.call(r.RULE_SET_SCHEMA)

    def explain_rule_set(self, purchase: Json) -> Json:
        """A hypothetical purchase through the draft (or `version`): every rule and why it applied or not."""
        return self.call(r.EXPLAIN_RULE_SET, purchase)

    def simulate_rule_set(self, start: datetime, end: datetime, *, version: int | None = None) -> Json:
        """The stored purchases of [start, end) priced with the draft (or `version`); nothing is written."""
        body: Json = {"from": start.isoformat(), "to": end.isoformat()}
        if version is not None:
            body["version"] = version
        return self.call(r.SIMULATE_RULE_SET, body)

    def put_draft_program(self, fields: dict[str, str], *, if_match: str | None = None) -> Json:
        """Save the draft the program editor's fields describe (docs/program-editor.md)."""
        return self.call(r.PUT_DRAFT_PROGRAM, fields, if_match=if_match)


class AsyncKeyAndRuleCalls(AsyncCalls):
    async def rotate_terminal_key(
        self, terminal_id: int, body: msg.KeyRotation, *, idempotency_key: str | None = None
    ) -> Json:
        """A new key for the terminal, shown once; the previous one keeps working for `grace_seconds`."""
        path = {"terminal_id": terminal_id}
        return await self.call(r.ROTATE_TERMINAL_KEY, body, path=path, idempotency_key=idempotency_key)

    async def set_terminal_key_expiry(
        self, terminal_id: int, expires_at: datetime | None, *, if_match: str | None = None
    ) -> Json:
        """When the terminal's key stops working (None: never)."""
        body = {"expires_at": None if expires_at is None else expires_at.isoformat()}
        return await self.call(r.SET_TERMINAL_KEY_EXPIRY, body, path={"terminal_id": terminal_id}, if_match=if_match)

    async def end_previous_terminal_keys(self, terminal_id: int) -> Json:
        """End the grace of the terminal's previous keys now."""
        return await self.call(r.END_PREVIOUS_TERMINAL_KEYS, path={"terminal_id": terminal_id})

    async def rotate_admin_key(
        self, network: str, body: msg.KeyRotation, *, idempotency_key: str | None = None
    ) -> Json:
        """A new admin key for the network (by its code), shown once (as `admin_key`); the previous one keeps
        working for `grace_seconds`."""
        return await self.call(r.ROTATE_ADMIN_KEY, body, path={"network": network}, idempotency_key=idempotency_key)

    async def set_admin_key_expiry(
        self, network: str, expires_at: datetime | None, *, if_match: str | None = None
    ) -> Json:
        body = {"expires_at": None if expires_at is None else expires_at.isoformat()}
        return await self.call(r.SET_ADMIN_KEY_EXPIRY, body, path={"network": network}, if_match=if_match)

    async def create_console_user(self, body: msg.ConsoleUser, *, idempotency_key: str | None = None) -> Json:
        return await self.call(r.CREATE_CONSOLE_USER, body, idempotency_key=idempotency_key)

    async def set_partner_email(self, partner_id: int, body: msg.PartnerEmail, *, if_match: str | None = None) -> Json:
        """Where (and in which language) the partner's statements are sent."""
        return await self.call(r.SET_PARTNER_EMAIL, body, path={"partner_id": partner_id}, if_match=if_match)

    async def device(self, device_id: int) -> Json:
        return await self.call(r.DEVICE, path={"device_id": device_id})

    async def revoke_device(self, device_id: int, *, idempotency_key: str | None = None) -> Json:
        return await self.call(r.REVOKE_DEVICE, path={"device_id": device_id}, idempotency_key=idempotency_key)

    async def rule_set_context(self) -> Json:
        """What a rule may read, and the functions it may call (docs/rules.md)."""
        return await self.call(r.RULE_SET_CONTEXT)

    async def rule_set_schema(self) -> Json:
        """The rule set's JSON Schema."""
        return await self.call(r.RULE_SET_SCHEMA)

    async def explain_rule_set(self, purchase: Json) -> Json:
        """A hypothetical purchase through the draft (or `version`): every rule and why it applied or not."""
        return await self.call(r.EXPLAIN_RULE_SET, purchase)

    async def simulate_rule_set(self, start: datetime, end: datetime, *, version: int | None = None) -> Json:
        """The stored purchases of [start, end) priced with the draft (or `version`); nothing is written."""
        body: Json = {"from": start.isoformat(), "to": end.isoformat()}
        if version is not None:
            body["version"] = version
        return await self.call(r.SIMULATE_RULE_SET, body)

    async def put_draft_program(self, fields: dict[str, str], *, if_match: str | None = None) -> Json:
        """Save the draft the program editor's fields describe (docs/program-editor.md)."""
        return await self.call(r.PUT_DRAFT_PROGRAM, fields, if_match=if_match)
