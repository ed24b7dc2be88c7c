"""`coalition messages campaigns list|create|preview|schedule|cancel` on the demo: the audience counted, a campaign
created from a file (a template error refused with its line), previewed for a member, refused a time in the past,
scheduled, listed and cancelled."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from coalition.adapters.cli.common import console
from coalition.adapters.cli.main import app
from coalition.settings import Settings
from coalition.wiring import build_services


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), terminal_width=200)
    return result.exit_code, result.output


def _campaign_email_on(url: str) -> int:
    async def work() -> int:
        services = build_services(Settings(database_url=url, operator_token=None, public_url="http://127.0.0.1"))
        try:
            async with services.engine.connect() as connection:
                network_id = (
                    await connection.execute(text("SELECT id FROM networks WHERE code = 'demo'"))
                ).scalar_one()
                personal = (
                    await connection.execute(
                        text("SELECT count(*) FROM members WHERE network_id = :n AND kind = 'personal'"),
                        {"n": network_id},
                    )
                ).scalar_one()
            await services.customer_messages.set(network_id, {"enabled": {"campaign": ["email"]}})
            return int(personal)
        finally:
            await services.close()

    return asyncio.run(work())


def test_campaigns_counted_created_previewed_scheduled_and_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "_width", 200)
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    db = ("--database-url", url)
    assert _run("demo", *db)[0] == 0
    personal = _campaign_email_on(url)
    body = tmp_path / "offer.txt"
    body.write_text("{{ member_name }}, double points!\n{{ gift_name }}", encoding="utf-8")
    create = ("messages", "campaigns", "create", "demo", "--name", "Offer", "--channel", "email", "--subject", "Hi")
    code, output = _run(*create, "--body-file", str(body), "--audience-only", "--spend-from", "0", *db)
    assert code == 0 and f"audience: {personal}" in output, output
    code, output = _run(*create, "--body-file", str(body), "--tier", "gold", *db)
    assert code == 2 and "error (segment.tier)" in output, output
    code, output = _run(*create, "--body-file", str(body), *db)
    assert code == 2 and "error (body)" in output and "line 2" in output, output
    body.write_text("{{ member_name }}, double points!", encoding="utf-8")
    code, output = _run(*create, "--body-file", str(body), *db)
    assert code == 0 and "campaign 1: draft" in output, output
    code, output = _run("messages", "campaigns", "preview", "demo", "1", "--member", "1", *db)
    assert code == 0 and ", double points!" in output and "Subject: Hi" in output, output
    past = ("messages", "campaigns", "schedule", "demo", "1", "--at")
    code, output = _run(*past, "2020-01-01T10:00:00+03:00", *db)
    assert code == 2 and "error (scheduled_at)" in output, output
    code, output = _run(*past, "2099-01-01T10:00:00+03:00", *db)
    assert code == 0 and "scheduled" in output, output
    code, output = _run("messages", "campaigns", "list", "demo", *db)
    assert code == 0 and "Offer" in output and "scheduled" in output, output
    code, output = _run("messages", "campaigns", "cancel", "demo", "1", *db)
    assert code == 0 and "cancelled" in output, output
    code, output = _run("messages", "campaigns", "cancel", "demo", "1", *db)
    assert code == 2 and "error (status)" in output, output
