"""The message gateways against real servers: e-mail to the aiosmtpd test server, SMS to a local HTTP server on a
free port (200, 500, 400, 429, a timeout, nobody listening), SMS to a file."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from coalition.adapters.mail.smtp import SmtpMailer
from coalition.adapters.messaging.email import EmailGateway
from coalition.adapters.messaging.sms_file import FileSmsGateway
from coalition.adapters.messaging.sms_http import HttpSmsGateway
from coalition.application.messages import Delivery, OutgoingMessage
from coalition.domain.messages import Channel, MessageKind
from tests.mail_support import Inbox, free_port, smtp

pytestmark = pytest.mark.anyio
__all__ = ["smtp"]  # the fixture, imported for pytest to find


def message(channel: Channel, to: str, id_: str = "m-1") -> OutgoingMessage:
    return OutgoingMessage(
        id=id_,
        network_id=7,
        member_id=42,
        kind=MessageKind.THANK_YOU,
        channel=channel,
        to=to,
        subject="Спасибо за покупку" if channel is Channel.EMAIL else "",
        body="Спасибо, Анна! Ваш баланс: 1250 баллов.",
        language="ru",
        unsubscribe_url="https://loyalty.example/unsubscribe/t" if channel is Channel.EMAIL else None,
    )


async def test_an_email_arrives_with_a_message_id_stable_across_attempts(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    gateway = EmailGateway(SmtpMailer("127.0.0.1", port, "shop@example.com"), domain="loyalty.example")
    first = await gateway.send(message(Channel.EMAIL, "anna@example.com"))
    again = await gateway.send(message(Channel.EMAIL, "anna@example.com"))
    assert first.status is Delivery.DELIVERED and again.status is Delivery.DELIVERED
    received = inbox.to("anna@example.com")
    assert len(received) == 2
    assert received[0]["Message-ID"] == received[1]["Message-ID"] == "<coalition-message-m-1@loyalty.example>"
    assert received[0]["Subject"] == "Спасибо за покупку"
    assert received[0]["List-Unsubscribe"] == "<https://loyalty.example/unsubscribe/t>"
    assert "Ваш баланс: 1250" in received[0].get_content()


async def test_an_email_while_the_smtp_server_is_down_is_retried_later() -> None:
    gateway = EmailGateway(SmtpMailer("127.0.0.1", free_port(), "shop@example.com"))
    outcome = await gateway.send(message(Channel.EMAIL, "anna@example.com"))
    assert outcome.status is Delivery.RETRY and "ConnectionRefused" in outcome.reason


class Gateway(BaseHTTPRequestHandler):
    """Answers each POST with the status the test set; `delay_s` holds the answer back (a timeout)."""

    status = 200
    delay_s = 0.0
    received: ClassVar[list[tuple[dict[str, str], dict[str, Any]]]] = []  # a fresh list per fixture

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((dict(self.headers), body))
        time.sleep(type(self).delay_s)
        payload = b'{"ok": true}' if self.status < 300 else b'{"error": "nope"}'
        try:
            self.send_response(type(self).status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client gave up (the timeout test)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture()
def gateway_server() -> Iterator[tuple[type[Gateway], str]]:
    handler = type("OneGateway", (Gateway,), {"received": [], "status": 200, "delay_s": 0.0})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{server.server_address[1]}/sms"
    finally:
        server.shutdown()
        server.server_close()


async def test_an_sms_is_posted_as_documented_with_the_bearer_token(gateway_server: tuple[type[Gateway], str]) -> None:
    handler, url = gateway_server
    outcome = await HttpSmsGateway(url, "s3cret").send(message(Channel.SMS, "+79001234567"))
    assert outcome.status is Delivery.DELIVERED and outcome.response_status == 200
    ((headers, body),) = handler.received
    assert headers["Authorization"] == "Bearer s3cret" and headers["Idempotency-Key"] == "m-1"
    assert body == {
        "id": "m-1",
        "to": "+79001234567",
        "text": "Спасибо, Анна! Ваш баланс: 1250 баллов.",
        "kind": "thank_you",
        "language": "ru",
        "network_id": 7,
        "member_id": 42,
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (500, Delivery.RETRY),
        (503, Delivery.RETRY),
        (429, Delivery.RETRY),
        (400, Delivery.FAILED),
        (404, Delivery.FAILED),
    ],
)
async def test_the_gateways_answer_decides_retry_or_failure(
    gateway_server: tuple[type[Gateway], str], status: int, expected: Delivery
) -> None:
    handler, url = gateway_server
    handler.status = status
    outcome = await HttpSmsGateway(url, "s3cret").send(message(Channel.SMS, "+79001234567"))
    assert outcome.status is expected and outcome.response_status == status
    assert str(status) in outcome.reason


async def test_a_gateway_that_does_not_answer_in_time_or_is_not_there_is_retried(
    gateway_server: tuple[type[Gateway], str],
) -> None:
    handler, url = gateway_server
    handler.delay_s = 1.0
    slow = await HttpSmsGateway(url, None, timeout_s=0.2).send(message(Channel.SMS, "+79001234567"))
    assert slow.status is Delivery.RETRY and "did not answer" in slow.reason
    gone = await HttpSmsGateway(f"http://127.0.0.1:{free_port()}/sms", None).send(message(Channel.SMS, "+7900"))
    assert gone.status is Delivery.RETRY


async def test_the_file_adapter_appends_one_json_line_per_message(tmp_path: Path) -> None:
    path = tmp_path / "sms.jsonl"
    gateway = FileSmsGateway(path)
    for number in range(3):
        outcome = await gateway.send(message(Channel.SMS, "+79001234567", id_=f"m-{number}"))
        assert outcome.status is Delivery.DELIVERED
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == ["m-0", "m-1", "m-2"]
    assert lines[0]["text"] == "Спасибо, Анна! Ваш баланс: 1250 баллов." and "written_at" in lines[0]
    missing = await FileSmsGateway(tmp_path / "no" / "such" / "dir.jsonl").send(message(Channel.SMS, "+7900"))
    assert missing.status is Delivery.RETRY


def test_the_settings_choose_the_gateways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from coalition.adapters.messaging.setup import message_gateways
    from coalition.settings import Settings

    monkeypatch.setenv("COALITION_SMS_FILE", str(tmp_path / "sms.jsonl"))
    monkeypatch.setenv("COALITION_SMTP_HOST", "127.0.0.1")
    chosen = message_gateways(Settings.from_env())
    assert isinstance(chosen[Channel.EMAIL], EmailGateway) and isinstance(chosen[Channel.SMS], FileSmsGateway)
    monkeypatch.setenv("COALITION_SMS_GATEWAY_URL", "https://sms.example/send")
    assert isinstance(message_gateways(Settings.from_env())[Channel.SMS], HttpSmsGateway)
    monkeypatch.setenv("COALITION_SMS_GATEWAY_URL", "ftp://sms.example/send")
    with pytest.raises(ValueError, match="COALITION_SMS_GATEWAY_URL"):
        Settings.from_env()
    monkeypatch.delenv("COALITION_SMS_GATEWAY_URL")
    monkeypatch.setenv("COALITION_MESSAGE_QUIET_HOURS", "late")
    with pytest.raises(ValueError, match="HH:MM"):
        Settings.from_env()
