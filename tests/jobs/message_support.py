"""What the customer-message tests share: services with a real SMTP server and the SMS file gateway, a clock, a
member with contacts, and a round of the outbox."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from coalition.adapters.jobs.outbox_loop import HttpxPoster, http_client
from coalition.settings import Settings
from coalition.wiring import Services
from tests.support import auth, new_key

START = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # 13:00 in Moscow: outside quiet hours
ALL_ON = {"thank_you": ["email", "sms"], "welcome": ["email", "sms"], "gift_granted": ["email", "sms"]}


def message_settings(settings: Settings, smtp_port: int, sms_file: Path) -> Settings:
    return replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        mail_from="loyalty@shop.example",
        sms_file=str(sms_file),
    )


async def rows(services: Services, sql: str) -> list[dict[str, Any]]:
    async with services.engine.connect() as connection:
        return [dict(row) for row in (await connection.execute(text(sql))).mappings()]


async def enrol_member(
    http: Any,
    key: str,
    card: str,
    *,
    email: str | None = "anna@example.com",
    phone: str | None = "+79001234567",
    name: str = "Anna",
) -> int:
    profile: dict[str, Any] = {"name": name, "consent_data_processing": True}
    if email:
        profile["email"] = email
    if phone:
        profile["phone"] = phone
    body = {"kind": "personal", "card_number": card, "profile": profile}
    response = await http.post("/v1/members", json=body, headers=auth(key, new_key()))
    assert response.status_code == 201, response.text
    return int(response.json()["member"]["id"])


async def rounds(services: Services, worker: str = "w1", times: int = 3) -> int:
    """Run the outbox a few rounds; how many messages were claimed in all."""
    claimed = 0
    async with http_client(5.0) as http:
        outbox = services.outbox(HttpxPoster(http))
        for _ in range(times):
            claimed += await outbox.run_once(worker)
    return claimed


def sms_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
