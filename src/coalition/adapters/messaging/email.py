"""Customer e-mail through the SMTP adapter: one message per send, its Message-ID derived from the outbox id so that a
repeat after a crash between sending and recording carries the same id (mail clients and servers drop duplicates)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from coalition.adapters.mail.smtp import SmtpMailer
from coalition.application.messages import DeliveryOutcome, OutgoingMessage


def message_id(message: OutgoingMessage, domain: str) -> str:
    return f"<coalition-message-{message.id}@{domain}>"


class EmailGateway:
    def __init__(self, mailer: SmtpMailer, domain: str = "coalition.localhost") -> None:
        self.mailer, self.domain = mailer, domain

    def email(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.mailer.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Message-ID"] = message_id(message, self.domain)
        email["Content-Language"] = message.language
        if message.unsubscribe_url:
            email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email.set_content(message.body)
        return email

    async def send(self, message: OutgoingMessage) -> DeliveryOutcome:
        try:
            await self.mailer.send_email(self.email(message))
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            code = codes[0] if codes else None
            if code is not None and 400 <= code < 500:  # a full mailbox, greylisting: later
                return DeliveryOutcome.retry(f"recipient refused for now: {error.recipients}", code)
            return DeliveryOutcome.failed(f"recipient refused: {error.recipients}", code)
        except (smtplib.SMTPConnectError, smtplib.SMTPHeloError, smtplib.SMTPAuthenticationError) as error:
            # the server, not this message, is at fault: an outage or its configuration
            return DeliveryOutcome.retry(f"{error.smtp_code} {error.smtp_error!r}", error.smtp_code)
        except smtplib.SMTPResponseException as error:  # the server answered this message with a code
            reason = f"{error.smtp_code} {error.smtp_error!r}"
            if 400 <= error.smtp_code < 500:
                return DeliveryOutcome.retry(reason, error.smtp_code)
            return DeliveryOutcome.failed(reason, error.smtp_code)
        except (OSError, smtplib.SMTPException) as error:  # refused connection, timeout, a dropped link: an outage
            return DeliveryOutcome.retry(f"{type(error).__name__}: {error}")
        return DeliveryOutcome.delivered(250)
