"""The gateways the settings name (docs/messages.md, "Configuration"): e-mail when SMTP is set, SMS over HTTP when a
gateway URL is set, else to a file when one is named; a channel without a gateway is off."""

from __future__ import annotations

from coalition.adapters.mail.smtp import SmtpMailer
from coalition.adapters.messaging.email import EmailGateway
from coalition.adapters.messaging.sms_file import FileSmsGateway
from coalition.adapters.messaging.sms_http import HttpSmsGateway
from coalition.application.messages import MessageGateway
from coalition.domain.messages import Channel
from coalition.settings import Settings


def message_gateways(settings: Settings) -> dict[Channel, MessageGateway]:
    gateways: dict[Channel, MessageGateway] = {}
    if settings.smtp_host:
        mailer = SmtpMailer(settings.smtp_host, settings.smtp_port, settings.mail_from)
        domain = settings.mail_from.rpartition("@")[2] or "coalition.localhost"
        gateways[Channel.EMAIL] = EmailGateway(mailer, domain)
    if settings.sms_gateway_url:
        gateways[Channel.SMS] = HttpSmsGateway(
            settings.sms_gateway_url, settings.sms_gateway_token, settings.sms_gateway_timeout_seconds
        )
    elif settings.sms_file:
        gateways[Channel.SMS] = FileSmsGateway(settings.sms_file)
    return gateways
