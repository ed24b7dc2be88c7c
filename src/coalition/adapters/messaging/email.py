"""Customer e-mail through the SMTP adapter: one message per send, its Message-ID derived from the outbox id so that a
repeat after a crash between sending and recording carries the same id (mail clients and servers drop duplicates).

Connections are kept between sends (up to `KEEP_CONNECTIONS`, each idle at most `IDLE_S`): a message on a kept
connection costs one SMTP transaction, not a connection and a greeting. A kept connection the server has closed
meanwhile is replaced once, at once; any error closes the connection it happened on."""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.policy import compat32

from coalition.adapters.mail.smtp import TIMEOUT_S, SmtpMailer
from coalition.application.messages import DeliveryOutcome, OutgoingMessage

_UNFOLDED = compat32.clone(max_line_length=None)  # a long List-Unsubscribe stays on its line (no leading space)
KEEP_CONNECTIONS = 16  # also the sends at once: smtplib blocks, so each runs in a thread of the gateway's own
IDLE_S = 20.0


def message_id(message: OutgoingMessage, domain: str) -> str:
    return f"<coalition-message-{message.id}@{domain}>"


class EmailGateway:
    def __init__(self, mailer: SmtpMailer, domain: str = "coalition.localhost") -> None:
        self.mailer, self.domain = mailer, domain
        self._idle: list[tuple[float, smtplib.SMTP]] = []
        self._lock = threading.Lock()
        self._threads = ThreadPoolExecutor(KEEP_CONNECTIONS, thread_name_prefix="smtp")

    def _take(self) -> smtplib.SMTP | None:
        with self._lock:
            while self._idle:
                since, client = self._idle.pop()
                if time.monotonic() - since < IDLE_S:
                    return client
                _close(client)
        return None

    def _keep(self, client: smtplib.SMTP) -> None:
        with self._lock:
            if len(self._idle) < KEEP_CONNECTIONS:
                self._idle.append((time.monotonic(), client))
                return
        _close(client)

    def _connect(self) -> smtplib.SMTP:
        return smtplib.SMTP(self.mailer.host, self.mailer.port, timeout=TIMEOUT_S)

    def _send(self, email: Message) -> None:
        client = self._take()
        try:
            if client is None:
                client = self._connect()
                client.send_message(email)
            else:
                try:
                    client.send_message(email)
                except smtplib.SMTPServerDisconnected:  # a kept connection the server closed meanwhile
                    _close(client)
                    client = self._connect()
                    client.send_message(email)
        except BaseException:
            if client is not None:
                _close(client)
            raise
        self._keep(client)

    def email(self, message: OutgoingMessage) -> Message:
        """The e-mail, built with the compat32 classes: the default policy's header objects cost ~2.5 ms of CPU a
        message, more than all the rest of its delivery together."""
        email = MIMEText(message.body, "plain", "utf-8", policy=_UNFOLDED)
        email["From"] = self.mailer.sender
        email["To"] = message.to
        email["Subject"] = (
            Header(message.subject, "utf-8").encode() if not message.subject.isascii() else message.subject
        )
        email["Message-ID"] = message_id(message, self.domain)
        email["Content-Language"] = message.language
        if message.unsubscribe_url:
            email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        return email

    async def send(self, message: OutgoingMessage) -> DeliveryOutcome:
        try:
            email = self.email(message)
            await asyncio.get_running_loop().run_in_executor(self._threads, self._send, email)
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


def _close(client: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        client.close()
