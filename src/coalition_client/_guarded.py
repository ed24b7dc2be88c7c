"""Admin edits the server guards with an ETag (docs/api.md "Conventions"): each takes an optional `if_match`, the
ETag of the version the edit was made on (`etag` reads it at the edit's own path), sent as If-Match. When another
administrator changed the resource since, the server refuses the edit with a 412 and the client raises
PreconditionFailed; nothing is overwritten. Without `if_match` the edit is made as before (last write wins).

    labels = admin.etag(routes.MEMBER_LABELS, path={"identifier": "7001"})
    admin.label_member("7001", MemberLabels(tier="gold"), if_match=labels)

A lost answer retried with the same If-Match may come back 412 when the first try went through: read the resource
again to see whether it holds the edit. Mixed into `Client` and `AsyncClient`, whose `call` and `send` they use."""

from __future__ import annotations

from typing import Any

import httpx

from coalition_client import admin_models as admin
from coalition_client import models as m
from coalition_client import routes as r
from coalition_client._core import AsyncCalls, Calls, read

Json = dict[str, Any]


def _etag(route: r.Route[Any], response: httpx.Response) -> str:
    read(route, response)  # a refusal raises its typed error
    tag = response.headers.get("ETag")
    if not tag:
        raise ValueError(f"{route.method} {route.path} answered no ETag: it guards no edit")
    return str(tag)


class GuardedEdits(Calls):
    def send(
        self,
        route: r.Route[Any],
        body: Any = None,
        *,
        path: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        if_match: str | None = None,
    ) -> httpx.Response:
        raise NotImplementedError  # the client's own

    def etag(self, read_route: r.Route[Any], *, path: dict[str, Any] | None = None) -> str:
        """The ETag a GET of an edit's path answers now (routes.MEMBER_LABELS, WALLET_LIMITS, PERMISSIONS, …): the
        version to send back as an edit's `if_match`."""
        return _etag(read_route, self.send(read_route, path=path))

    def label_member(self, identifier: str, body: admin.MemberLabels, *, if_match: str | None = None) -> Json:
        return self.call(r.LABEL_MEMBER, body, path={"identifier": identifier}, if_match=if_match)

    def set_wallet_limits(self, member_id: int, body: admin.WalletLimits, *, if_match: str | None = None) -> m.Wallet:
        return self.call(r.SET_WALLET_LIMITS, body, path={"member_id": member_id}, if_match=if_match)

    def put_draft_rule_set(self, document: Json, *, if_match: str | None = None) -> Json:
        return self.call(r.PUT_DRAFT_RULE_SET, document, if_match=if_match)

    def change_device(self, device_id: int, changes: Json, *, if_match: str | None = None) -> Json:
        """Only the fields given change; a field given as None is set to null."""
        return self.call(r.CHANGE_DEVICE, changes, path={"device_id": device_id}, if_match=if_match)

    def set_cashier_password(
        self, cashier_id: int, password: str, *, if_match: str | None = None
    ) -> admin.PasswordChanged:
        body = admin.Password(password=password)
        return self.call(r.SET_CASHIER_PASSWORD, body, path={"cashier_id": cashier_id}, if_match=if_match)

    def set_cashier_active(
        self, cashier_id: int, active: bool, *, if_match: str | None = None
    ) -> admin.CashierActiveAnswer:
        """False blocks the cashier at once: no sign-in, no purchase naming them."""
        body = admin.CashierActive(active=active)
        return self.call(r.SET_CASHIER_ACTIVE, body, path={"cashier_id": cashier_id}, if_match=if_match)

    def set_permissions(self, body: admin.Permissions, *, if_match: str | None = None) -> admin.PermissionsAnswer:
        return self.call(r.SET_PERMISSIONS, body, if_match=if_match)

    def delete_webhook(self, subscription_id: int, *, if_match: str | None = None) -> Json:
        return self.call(r.DELETE_WEBHOOK, path={"subscription_id": subscription_id}, if_match=if_match)


class AsyncGuardedEdits(AsyncCalls):
    async def send(
        self,
        route: r.Route[Any],
        body: Any = None,
        *,
        path: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        if_match: str | None = None,
    ) -> httpx.Response:
        raise NotImplementedError  # the client's own

    async def etag(self, read_route: r.Route[Any], *, path: dict[str, Any] | None = None) -> str:
        """The ETag a GET of an edit's path answers now: the version to send back as an edit's `if_match`."""
        return _etag(read_route, await self.send(read_route, path=path))

    async def label_member(self, identifier: str, body: admin.MemberLabels, *, if_match: str | None = None) -> Json:
        return await self.call(r.LABEL_MEMBER, body, path={"identifier": identifier}, if_match=if_match)

    async def set_wallet_limits(
        self, member_id: int, body: admin.WalletLimits, *, if_match: str | None = None
    ) -> m.Wallet:
        return await self.call(r.SET_WALLET_LIMITS, body, path={"member_id": member_id}, if_match=if_match)

    async def put_draft_rule_set(self, document: Json, *, if_match: str | None = None) -> Json:
        return await self.call(r.PUT_DRAFT_RULE_SET, document, if_match=if_match)

    async def change_device(self, device_id: int, changes: Json, *, if_match: str | None = None) -> Json:
        """Only the fields given change; a field given as None is set to null."""
        return await self.call(r.CHANGE_DEVICE, changes, path={"device_id": device_id}, if_match=if_match)

    async def set_cashier_password(
        self, cashier_id: int, password: str, *, if_match: str | None = None
    ) -> admin.PasswordChanged:
        body = admin.Password(password=password)
        return await self.call(r.SET_CASHIER_PASSWORD, body, path={"cashier_id": cashier_id}, if_match=if_match)

    async def set_cashier_active(
        self, cashier_id: int, active: bool, *, if_match: str | None = None
    ) -> admin.CashierActiveAnswer:
        """False blocks the cashier at once: no sign-in, no purchase naming them."""
        body = admin.CashierActive(active=active)
        return await self.call(r.SET_CASHIER_ACTIVE, body, path={"cashier_id": cashier_id}, if_match=if_match)

    async def set_permissions(self, body: admin.Permissions, *, if_match: str | None = None) -> admin.PermissionsAnswer:
        return await self.call(r.SET_PERMISSIONS, body, if_match=if_match)

    async def delete_webhook(self, subscription_id: int, *, if_match: str | None = None) -> Json:
        return await self.call(r.DELETE_WEBHOOK, path={"subscription_id": subscription_id}, if_match=if_match)
