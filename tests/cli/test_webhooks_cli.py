"""`coalition webhooks …` on the demo network (issue 16): a URL added with its secret printed once, listed, paused,
resumed, its secret rotated, its deliveries listed, a failed delivery sent again, deleted after a confirmation; a
refusal names the field (exit 2); every change audited."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from typer.testing import CliRunner

from coalition.adapters.cli.main import app
from tests.cli.test_cli import demo_json, run, url

__all__ = ["url"]  # the fixture


def _json(*args: str) -> Any:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_add_list_pause_resume_rotate_and_deliveries(url: str) -> None:
    demo_json(url)
    db = ("--database-url", url)
    added = _json(
        "webhooks", "add", "demo", "https://erp.example/hooks", "--event", "purchase.recorded",
        "--event", "member.enrolled", "--contact-email", "dev@erp.example", *db,
    )  # fmt: skip
    assert added["secret"].startswith("whsec_") and added["event_kinds"] == ["purchase.recorded", "member.enrolled"]
    hook = str(added["id"])
    listed = run("webhooks", "list", "demo", *db)
    assert listed.exit_code == 0 and "erp.example" in listed.stdout and "whsec_" not in listed.stdout
    assert [h["id"] for h in _json("webhooks", "list", "demo", "--json", *db)] == [added["id"]]
    assert _json("webhooks", "pause", "demo", hook, *db)["status"] == "paused"
    assert _json("webhooks", "resume", "demo", hook, *db)["status"] == "active"
    rotated = _json("webhooks", "rotate", "demo", hook, *db)
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != added["secret"]
    assert _json("webhooks", "deliveries", "demo", hook, "--json", *db) == []

    refused = run("webhooks", "add", "demo", "ftp://erp.example/x", "--event", "purchase.recorded", *db)
    assert refused.exit_code == 2 and "(url)" in refused.output
    unknown = run("webhooks", "add", "demo", "https://erp.example/x", "--event", "purchase.exploded", *db)
    assert unknown.exit_code == 2 and "event_kinds[0]" in unknown.output
    missing = run("webhooks", "pause", "demo", "999", *db)
    assert missing.exit_code == 2 and "subscription_id" in missing.output
    audit = run("audit", "demo", "--action", "webhook.", "--csv", *db)
    assert audit.exit_code == 0, audit.output
    for action in ("webhook.create", "webhook.pause", "webhook.resume", "webhook.rotate_secret"):
        assert f",{action}," in audit.stdout


def test_resend_and_delete(url: str) -> None:
    demo_json(url)
    db = ("--database-url", url)
    added = _json("webhooks", "add", "demo", "https://erp.example/hooks", "--event", "purchase.recorded", *db)
    hook = str(added["id"])
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:  # a message that failed, to send again
        message = connection.execute(
            "INSERT INTO outbox_messages (network_id, channel, event_kind, event_id, target, payload, status, "
            "attempts, next_attempt_at, created_at) SELECT network_id, 'webhook', 'purchase.recorded', 'purchase:1', "
            "?, '{}', 'failed', 7, '2026-12-01 10:00:00', '2026-12-01 10:00:00' FROM webhook_subscriptions "
            "WHERE id = ? RETURNING id",
            (hook, int(hook)),
        ).fetchone()[0]
    again = _json("webhooks", "resend", "demo", hook, str(message), *db)
    assert (again["id"], again["status"], again["attempts"]) == (message, "pending", 0)
    refused = run("webhooks", "resend", "demo", hook, str(message), *db)  # pending now: nothing to send again
    assert refused.exit_code == 2 and "message_id" in refused.output
    unknown = run("webhooks", "resend", "demo", hook, "999", *db)
    assert unknown.exit_code == 2 and "message_id" in unknown.output

    kept = CliRunner().invoke(app, ["webhooks", "delete", "demo", hook, *db], input="n\n")
    assert kept.exit_code == 1 and [h["id"] for h in _json("webhooks", "list", "demo", "--json", *db)] == [added["id"]]
    gone = run("webhooks", "delete", "demo", hook, "--yes", *db)
    assert gone.exit_code == 0 and "deleted" in gone.stdout
    assert _json("webhooks", "list", "demo", "--json", *db) == []
    audit = run("audit", "demo", "--action", "webhook.", "--csv", *db)
    assert ",webhook.resend," in audit.stdout and ",webhook.delete," in audit.stdout
