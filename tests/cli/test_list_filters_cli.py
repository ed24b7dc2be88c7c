"""The list filters in the CLI (issue 17, point 5; docs/api.md "Filters by time, outlet and member"): `devices list
--outlet`, `webhooks deliveries --since/--until`, `schedules runs --since/--until`. Rows in and out of each filter;
a time without its offset is refused naming the option (exit 2), a window that ends before it starts naming
`until`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from coalition.adapters.cli.common import console
from tests.cli.test_cli import demo_json, run, url

__all__ = ["url"]  # the fixture
PAST, FUTURE = "2000-01-01T00:00:00Z", "2100-01-01T00:00:00+03:00"


def _json(*args: str) -> Any:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _refused(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 2, result.output
    return str(result.output)


def test_devices_list_by_outlet(url: str) -> None:
    demo_json(url)
    db = ("--database-url", url)
    every = _json("devices", "list", "demo", "--json", *db)
    assert len(every) >= 2
    one = every[1]
    assert [d["id"] for d in _json("devices", "list", "demo", "--outlet", str(one["outlet_id"]), "--json", *db)] == [
        one["id"]
    ]
    assert _json("devices", "list", "demo", "--outlet", "999999999", "--json", *db) == []
    assert "--outlet" in _refused("devices", "list", "demo", "--outlet", "0", *db)


def test_webhook_deliveries_by_time(url: str) -> None:
    demo_json(url)
    db = ("--database-url", url)
    hook = str(_json("webhooks", "add", "demo", "https://erp.example/hooks", "--event", "purchase.recorded", *db)["id"])
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        for day in (1, 2, 3):
            connection.execute(
                "INSERT INTO outbox_messages (network_id, channel, event_kind, event_id, target, payload, status, "
                "attempts, next_attempt_at, created_at) SELECT network_id, 'webhook', 'purchase.recorded', ?, ?, "
                "'{}', 'delivered', 1, ?, ? FROM webhook_subscriptions WHERE id = ?",
                (
                    f"purchase:{day}",
                    hook,
                    f"2026-12-0{day} 10:00:00.000000",
                    f"2026-12-0{day} 10:00:00.000000",
                    int(hook),
                ),
            )

    def days(*window: str) -> list[str]:
        found = _json("webhooks", "deliveries", "demo", hook, *window, "--json", *db)
        return [d["event_id"] for d in found]

    assert days() == ["purchase:3", "purchase:2", "purchase:1"]
    assert days("--since", "2026-12-02T10:00:00Z") == ["purchase:3", "purchase:2"]
    assert days("--since", "2026-12-02T10:00:00Z", "--until", "2026-12-03T13:00:00+03:00") == ["purchase:2"]
    assert days("--since", FUTURE) == []
    assert "error (since)" in _refused("webhooks", "deliveries", "demo", hook, "--since", "2026-12-02T10:00", *db)
    window = ("--since", "2026-12-03T00:00Z", "--until", "2026-12-02T00:00Z")
    assert "until" in _refused("webhooks", "deliveries", "demo", hook, *window, *db)


def test_schedule_runs_by_time(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "_width", 200)  # a wide terminal: each cell on one line
    demo_json(url)
    db = ("--database-url", url)
    assert run("birthdays", "demo", "--date", "2026-12-06", *db).exit_code == 0  # started now

    def jobs(*window: str) -> str:
        result = run("schedules", "runs", "demo", *window, *db)
        assert result.exit_code == 0, result.output
        return str(result.output)

    assert "birthdays" in jobs("--since", PAST) and "birthdays" in jobs("--until", FUTURE)
    assert "birthdays" not in jobs("--since", FUTURE) and "birthdays" not in jobs("--until", PAST)
    assert "error (until)" in _refused("schedules", "runs", "demo", "--until", "tomorrow", *db)
    assert "until" in _refused("schedules", "runs", "demo", "--since", FUTURE, "--until", PAST, *db)


def test_campaigns_list_by_time(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "_width", 200)
    demo_json(url)
    db = ("--database-url", url)
    body = tmp_path / "offer.txt"
    body.write_text("{{ member_name }}, double points!", encoding="utf-8")
    create = ("messages", "campaigns", "create", "demo", "--name", "Offer", "--channel", "email", "--subject", "Hi")
    assert run(*create, "--body-file", str(body), *db).exit_code == 0  # created now

    def names(*window: str) -> str:
        result = run("messages", "campaigns", "list", "demo", *window, *db)
        assert result.exit_code == 0, result.output
        return str(result.output)

    assert "Offer" in names("--since", PAST) and "Offer" in names("--since", PAST, "--until", FUTURE)
    assert "Offer" not in names("--since", FUTURE) and "Offer" not in names("--until", PAST)
    assert "error (since)" in _refused("messages", "campaigns", "list", "demo", "--since", "2026-12-01", *db)
    assert "until" in _refused("messages", "campaigns", "list", "demo", "--since", FUTURE, "--until", PAST, *db)
