"""The administrator's message templates (docs/messages.md): every kind × channel × language, the network's own text
where it saved one, else the built-in one; saved only when it renders; previewed with the sample or a member of the
network. The outbox asks `template_for` when it renders a message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from coalition.application.audit import AuditEntry, entry
from coalition.application.ports import Clock
from coalition.domain.errors import InvalidInput, NotFound
from coalition.domain.message_templates import (
    LANGUAGES,
    SAMPLE,
    VARIABLES,
    MessageTemplate,
    default_template,
    render,
    validate,
)
from coalition.domain.messages import Channel, MessageKind

Key = tuple[MessageKind, Channel, str]


@dataclass(frozen=True)
class MemberView:
    """What a message may say of a member."""

    name: str | None
    balance: int


class MessageTemplatesStore(Protocol):
    async def stored_templates(self, network_id: int) -> dict[Key, tuple[MessageTemplate, datetime]]: ...
    async def save_template(
        self, network_id: int, key: Key, template: MessageTemplate, now: datetime, audited: AuditEntry
    ) -> None: ...
    async def delete_template(self, network_id: int, key: Key, audited: AuditEntry) -> bool: ...
    async def network_name(self, network_id: int) -> str: ...
    async def member_view(self, network_id: int, member_id: int) -> MemberView | None:
        """None when the member is not of this network (another network's member is as unknown as a missing one)."""
        ...


def parse_key(kind: str, channel: str, language: str) -> Key:
    """The path's kind, channel and language, each refused by its own name."""
    try:
        parsed_kind = MessageKind(kind)
    except ValueError:
        raise InvalidInput(f"the kind must be one of {', '.join(MessageKind)}", field="kind") from None
    try:
        parsed_channel = Channel(channel)
    except ValueError:
        raise InvalidInput(f"the channel must be one of {', '.join(Channel)}", field="channel") from None
    if language not in LANGUAGES:
        raise InvalidInput(f"the language must be one of {', '.join(LANGUAGES)}", field="language")
    return parsed_kind, parsed_channel, language


def _view(key: Key, template: MessageTemplate, updated_at: datetime | None) -> dict[str, Any]:
    kind, channel, language = key
    return {
        "kind": kind.value,
        "channel": channel.value,
        "language": language,
        "subject": template.subject,
        "body": template.body,
        "customised": updated_at is not None,
        "updated_at": updated_at.isoformat() if updated_at else None,
        "variables": list(VARIABLES[kind]),
    }


class MessageTemplates:
    def __init__(self, store: MessageTemplatesStore, clock: Clock) -> None:
        self.store, self.clock = store, clock

    async def list(self, network_id: int) -> list[dict[str, Any]]:
        stored = await self.store.stored_templates(network_id)
        found = []
        for kind in MessageKind:
            for channel in Channel:
                for language in LANGUAGES:
                    key = (kind, channel, language)
                    template, updated_at = stored.get(key, (default_template(*key), None))
                    found.append(_view(key, template, updated_at))
        return found

    async def template_for(self, network_id: int, key: Key) -> MessageTemplate:
        stored = await self.store.stored_templates(network_id)
        return stored[key][0] if key in stored else default_template(*key)

    async def show(self, network_id: int, key: Key) -> dict[str, Any]:
        stored = await self.store.stored_templates(network_id)
        template, updated_at = stored.get(key, (default_template(*key), None))
        return _view(key, template, updated_at)

    async def set(self, network_id: int, key: Key, subject: str, body: str) -> dict[str, Any]:
        template = MessageTemplate(subject=subject.strip(), body=body.replace("\r\n", "\n"))
        validate(key[0], key[1], template)
        before = await self.show(network_id, key)
        audited = entry(
            network_id,
            "message_template.set",
            "message_template",
            "/".join(str(part) for part in key),
            before={"subject": before["subject"], "body": before["body"]},
            after={"subject": template.subject, "body": template.body},
        )
        await self.store.save_template(network_id, key, template, self.clock.now(), audited)
        return await self.show(network_id, key)

    async def reset(self, network_id: int, key: Key) -> dict[str, Any]:
        """Back to the built-in text."""
        audited = entry(network_id, "message_template.reset", "message_template", "/".join(str(p) for p in key))
        await self.store.delete_template(network_id, key, audited)
        return await self.show(network_id, key)

    async def preview(
        self,
        network_id: int,
        key: Key,
        *,
        member_id: int | None = None,
        subject: str | None = None,
        body: str | None = None,
    ) -> dict[str, Any]:
        """The template (or the text given, checked as at save) rendered for the sample or one member of the network."""
        kind, channel, _ = key
        template = await self.template_for(network_id, key)
        if subject is not None or body is not None:
            template = MessageTemplate(
                subject=(template.subject if subject is None else subject).strip(),
                body=(template.body if body is None else body).replace("\r\n", "\n"),
            )
            validate(kind, channel, template)
        variables = dict(SAMPLE) | {"network_name": await self.store.network_name(network_id)}
        if member_id is not None:
            member = await self.store.member_view(network_id, member_id)
            if member is None:
                raise NotFound("no member with this id in this network", field="member_id")
            variables |= {"member_name": member.name or "", "balance": member.balance}
        rendered = render(kind, channel, template, variables)
        return {
            "kind": kind.value,
            "channel": channel.value,
            "language": key[2],
            "member_id": member_id,
            "subject": rendered.subject,
            "body": rendered.body,
        }
