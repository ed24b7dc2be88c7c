"""A real SMTP server for tests (aiosmtpd on a free port of 127.0.0.1) that keeps every message it receives."""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]

    def last_code_for(self, address: str) -> str:
        """The 6-digit code in the subject of the newest message to `address` (the member page's sign-in)."""
        for message in reversed(self.to(address)):
            found = re.search(r"\b(\d{6})\b", str(message["Subject"]))
            if found:
                return found.group(1)
        raise AssertionError(f"no code was mailed to {address}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture()
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()
