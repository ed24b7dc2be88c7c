"""Sends e-mail through an SMTP server (the standard library's client, in a worker thread)."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage

from coalition.application.settlement import OutgoingMail

TIMEOUT_S = 30.0


class SmtpMailer:
    def __init__(self, host: str, port: int, sender: str) -> None:
        self.host, self.port, self.sender = host, port, sender

    async def send(self, mail: OutgoingMail) -> None:
        await asyncio.to_thread(self._send, self._message(mail))

    async def send_email(self, message: EmailMessage) -> None:
        """A message built by its caller (customer messages set their own Message-ID and headers)."""
        await asyncio.to_thread(self._send, message)

    def _message(self, mail: OutgoingMail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.text)
        for attachment in mail.attachments:
            kind, *parameters = (part.strip() for part in attachment.content_type.split(";"))
            maintype, _, subtype = kind.partition("/")
            params = dict(parameter.partition("=")[::2] for parameter in parameters)  # "text/csv; charset=utf-8"
            message.add_attachment(
                attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename, params=params
            )
        return message

    def _send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_S) as client:
            client.send_message(message)
