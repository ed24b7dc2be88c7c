"""The clients' calls for the audit trail (a page at a time, or as CSV), campaigns, messages to members (settings and
templates) and webhook deliveries sent again. Mixed into `Client` and `AsyncClient`, whose `call` and `_download`
they use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coalition_client import admin_models as admin
from coalition_client import message_models as msg
from coalition_client import routes as r
from coalition_client._core import AsyncCalls, Calls
from coalition_client._files import Destination
from coalition_client.wire import to_json

Json = dict[str, Any]


def _audit_query(
    since: datetime | None,
    until: datetime | None,
    actor: str | None,
    action: str | None,
    object_type: str | None,
    object_id: str | None,
) -> dict[str, Any]:
    return {
        "since": None if since is None else since.isoformat(),
        "until": None if until is None else until.isoformat(),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
    }


class MessageCalls(Calls):
    def _download(
        self, route: r.Route[Any], destination: Destination, path: dict[str, Any], query: dict[str, Any]
    ) -> admin.Download:
        raise NotImplementedError  # the client's own

    def audit(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> msg.AuditPage:
        """A page of the audit trail, newest first; `action` may be a prefix such as `terminal.`."""
        query = _audit_query(since, until, actor, action, object_type, object_id) | {"limit": limit, "cursor": cursor}
        return self.call(r.AUDIT, query=query)

    def export_audit(
        self,
        destination: Destination,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
    ) -> admin.Download:
        """The audit trail's entries as CSV, streamed to `destination`."""
        query = _audit_query(since, until, actor, action, object_type, object_id)
        return self._download(r.AUDIT_CSV, destination, {}, query)

    def campaigns(
        self, *, since: str | None = None, until: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> msg.CampaignList:
        """A page, newest first; `since`/`until`: created in that window (ISO 8601 with the offset)."""
        return self.call(r.CAMPAIGNS, query={"since": since, "until": until, "limit": limit, "cursor": cursor})

    def campaign(self, campaign_id: int) -> msg.CampaignAnswer:
        return self.call(r.CAMPAIGN, path={"campaign_id": campaign_id})

    def create_campaign(self, body: msg.Campaign, *, idempotency_key: str | None = None) -> msg.CampaignAnswer:
        return self.call(r.CREATE_CAMPAIGN, body, idempotency_key=idempotency_key)

    def campaign_audience(self, segment: msg.Segment) -> msg.Audience:
        """How many members a segment reaches now (nothing is written)."""
        return self.call(r.CAMPAIGN_AUDIENCE, segment)

    def preview_campaign(self, campaign_id: int, body: msg.CampaignPreview | None = None) -> msg.Preview:
        return self.call(r.PREVIEW_CAMPAIGN, body or msg.CampaignPreview(), path={"campaign_id": campaign_id})

    def schedule_campaign(
        self, campaign_id: int, scheduled_at: datetime, *, idempotency_key: str | None = None
    ) -> msg.CampaignAnswer:
        body = msg.CampaignSchedule(scheduled_at=scheduled_at)
        path = {"campaign_id": campaign_id}
        return self.call(r.SCHEDULE_CAMPAIGN, body, path=path, idempotency_key=idempotency_key)

    def cancel_campaign(self, campaign_id: int, *, idempotency_key: str | None = None) -> msg.CampaignAnswer:
        return self.call(r.CANCEL_CAMPAIGN, path={"campaign_id": campaign_id}, idempotency_key=idempotency_key)

    def message_settings(self) -> msg.MessageSettingsAnswer:
        return self.call(r.MESSAGE_SETTINGS)

    def set_message_settings(
        self, body: msg.MessageSettings, *, clear: tuple[str, ...] = (), if_match: str | None = None
    ) -> msg.MessageSettingsAnswer:
        """Change the fields given; `clear` names those to turn off (sent as null: quiet_start, quiet_end,
        balance_threshold)."""
        return self.call(r.SET_MESSAGE_SETTINGS, to_json(body) | dict.fromkeys(clear), if_match=if_match)

    def message_templates(self, *, limit: int | None = None, cursor: str | None = None) -> Json:
        return self.call(r.MESSAGE_TEMPLATES, query={"limit": limit, "cursor": cursor})

    def message_template(self, kind: str, channel: str, language: str) -> Json:
        return self.call(r.MESSAGE_TEMPLATE, path={"kind": kind, "channel": channel, "language": language})

    def set_message_template(
        self, kind: str, channel: str, language: str, body: msg.Template, *, if_match: str | None = None
    ) -> Json:
        path = {"kind": kind, "channel": channel, "language": language}
        return self.call(r.SET_MESSAGE_TEMPLATE, body, path=path, if_match=if_match)

    def reset_message_template(self, kind: str, channel: str, language: str, *, if_match: str | None = None) -> Json:
        """Back to the built-in template."""
        return self.call(
            r.RESET_MESSAGE_TEMPLATE, path={"kind": kind, "channel": channel, "language": language}, if_match=if_match
        )

    def preview_message_template(
        self, kind: str, channel: str, language: str, body: msg.TemplatePreview | None = None
    ) -> Json:
        path = {"kind": kind, "channel": channel, "language": language}
        return self.call(r.PREVIEW_MESSAGE_TEMPLATE, body or msg.TemplatePreview(), path=path)

    def resend_delivery(
        self, subscription_id: int, message_id: int, *, idempotency_key: str | None = None
    ) -> msg.Delivery:
        """Queue a webhook delivery again."""
        path = {"subscription_id": subscription_id, "message_id": message_id}
        return self.call(r.RESEND_DELIVERY, path=path, idempotency_key=idempotency_key)


class AsyncMessageCalls(AsyncCalls):
    async def _download(
        self, route: r.Route[Any], destination: Destination, path: dict[str, Any], query: dict[str, Any]
    ) -> admin.Download:
        raise NotImplementedError  # the client's own

    async def audit(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> msg.AuditPage:
        """A page of the audit trail, newest first; `action` may be a prefix such as `terminal.`."""
        query = _audit_query(since, until, actor, action, object_type, object_id) | {"limit": limit, "cursor": cursor}
        return await self.call(r.AUDIT, query=query)

    async def export_audit(
        self,
        destination: Destination,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
    ) -> admin.Download:
        """The audit trail's entries as CSV, streamed to `destination`."""
        query = _audit_query(since, until, actor, action, object_type, object_id)
        return await self._download(r.AUDIT_CSV, destination, {}, query)

    async def campaigns(
        self, *, since: str | None = None, until: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> msg.CampaignList:
        """A page, newest first; `since`/`until`: created in that window (ISO 8601 with the offset)."""
        return await self.call(r.CAMPAIGNS, query={"since": since, "until": until, "limit": limit, "cursor": cursor})

    async def campaign(self, campaign_id: int) -> msg.CampaignAnswer:
        return await self.call(r.CAMPAIGN, path={"campaign_id": campaign_id})

    async def create_campaign(self, body: msg.Campaign, *, idempotency_key: str | None = None) -> msg.CampaignAnswer:
        return await self.call(r.CREATE_CAMPAIGN, body, idempotency_key=idempotency_key)

    async def campaign_audience(self, segment: msg.Segment) -> msg.Audience:
        """How many members a segment reaches now (nothing is written)."""
        return await self.call(r.CAMPAIGN_AUDIENCE, segment)

    async def preview_campaign(self, campaign_id: int, body: msg.CampaignPreview | None = None) -> msg.Preview:
        return await self.call(r.PREVIEW_CAMPAIGN, body or msg.CampaignPreview(), path={"campaign_id": campaign_id})

    async def schedule_campaign(
        self, campaign_id: int, scheduled_at: datetime, *, idempotency_key: str | None = None
    ) -> msg.CampaignAnswer:
        body = msg.CampaignSchedule(scheduled_at=scheduled_at)
        path = {"campaign_id": campaign_id}
        return await self.call(r.SCHEDULE_CAMPAIGN, body, path=path, idempotency_key=idempotency_key)

    async def cancel_campaign(self, campaign_id: int, *, idempotency_key: str | None = None) -> msg.CampaignAnswer:
        return await self.call(r.CANCEL_CAMPAIGN, path={"campaign_id": campaign_id}, idempotency_key=idempotency_key)

    async def message_settings(self) -> msg.MessageSettingsAnswer:
        return await self.call(r.MESSAGE_SETTINGS)

    async def set_message_settings(
        self, body: msg.MessageSettings, *, clear: tuple[str, ...] = (), if_match: str | None = None
    ) -> msg.MessageSettingsAnswer:
        """Change the fields given; `clear` names those to turn off (sent as null: quiet_start, quiet_end,
        balance_threshold)."""
        return await self.call(r.SET_MESSAGE_SETTINGS, to_json(body) | dict.fromkeys(clear), if_match=if_match)

    async def message_templates(self, *, limit: int | None = None, cursor: str | None = None) -> Json:
        return await self.call(r.MESSAGE_TEMPLATES, query={"limit": limit, "cursor": cursor})

    async def message_template(self, kind: str, channel: str, language: str) -> Json:
        return await self.call(r.MESSAGE_TEMPLATE, path={"kind": kind, "channel": channel, "language": language})

    async def set_message_template(
        self, kind: str, channel: str, language: str, body: msg.Template, *, if_match: str | None = None
    ) -> Json:
        path = {"kind": kind, "channel": channel, "language": language}
        return await self.call(r.SET_MESSAGE_TEMPLATE, body, path=path, if_match=if_match)

    async def reset_message_template(
        self, kind: str, channel: str, language: str, *, if_match: str | None = None
    ) -> Json:
        """Back to the built-in template."""
        return await self.call(
            r.RESET_MESSAGE_TEMPLATE, path={"kind": kind, "channel": channel, "language": language}, if_match=if_match
        )

    async def preview_message_template(
        self, kind: str, channel: str, language: str, body: msg.TemplatePreview | None = None
    ) -> Json:
        path = {"kind": kind, "channel": channel, "language": language}
        return await self.call(r.PREVIEW_MESSAGE_TEMPLATE, body or msg.TemplatePreview(), path=path)

    async def resend_delivery(
        self, subscription_id: int, message_id: int, *, idempotency_key: str | None = None
    ) -> msg.Delivery:
        """Queue a webhook delivery again."""
        path = {"subscription_id": subscription_id, "message_id": message_id}
        return await self.call(r.RESEND_DELIVERY, path=path, idempotency_key=idempotency_key)
