"""`coalition gift-cards expire`: the sweep from the command line, with what it posted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from typer.testing import CliRunner

from coalition.adapters.cli.main import app
from coalition.application.gift_cards import GiftCardRequest
from coalition.settings import Settings
from coalition.wiring import build_services


class _Clock:
    def now(self) -> datetime:
        return datetime.now(UTC) - timedelta(days=10)  # the card was issued ten days ago, valid for two


@pytest.fixture()
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'demo.db'}"


def test_the_expire_command_posts_an_expired_cards_balance_to_breakage(url: str) -> None:
    assert CliRunner().invoke(app, ["demo", "--json", "--database-url", url]).exit_code == 0

    async def issue(number: str) -> None:
        services = build_services(
            Settings(database_url=url, operator_token=None, public_url="http://127.0.0.1:8000"), clock=_Clock()
        )
        try:
            network = await services.admin.network("demo")
            await services.gift_cards.issue(network, GiftCardRequest("123.45", valid_days=2, number=number))
        finally:
            await services.close()

    anyio.run(issue, "CLI-0001")
    daily = CliRunner().invoke(app, ["expire", "demo", "--database-url", url])  # the daily job expires them too
    assert daily.exit_code == 0, daily.output
    assert "1 gift card(s) expired (kept)" in daily.stdout
    anyio.run(issue, "CLI-0002")
    swept = CliRunner().invoke(app, ["gift-cards", "expire", "demo", "--database-url", url])
    assert swept.exit_code == 0, swept.output
    assert "1 gift card(s) expired: 123.45" in swept.stdout and "0.00" in swept.stdout and "(kept)" in swept.stdout
    again = CliRunner().invoke(app, ["gift-cards", "expire", "demo", "--database-url", url])
    assert "0 gift card(s) expired" in again.stdout
    unknown = CliRunner().invoke(app, ["gift-cards", "expire", "no-such-network", "--database-url", url])
    assert unknown.exit_code == 2 and "no network 'no-such-network'" in unknown.output


def _json(url: str, *args: str) -> dict[str, object]:
    import json

    result = CliRunner().invoke(app, [*args, "--database-url", url])
    assert result.exit_code == 0, result.output
    found: dict[str, object] = json.loads(result.stdout)
    return found


def test_issue_show_block_unblock_and_the_breakage_policy_answer_json(url: str) -> None:
    assert CliRunner().invoke(app, ["demo", "--json", "--database-url", url]).exit_code == 0
    issued = _json(url, "gift-cards", "issue", "demo", "250.00", "--pin", "4321", "--valid-days", "30")
    number = str(issued["number"])
    assert len(number) == 19 and issued["balance"] == "250.00" and issued["has_pin"] is True
    assert issued["status"] == "active" and issued["sold_at_outlet_id"] is None and "pin" not in issued
    spaced = " ".join(number[i : i + 4] for i in range(0, 19, 4))
    assert _json(url, "gift-cards", "show", "demo", spaced)["number"] == number
    assert _json(url, "gift-cards", "block", "demo", number)["status"] == "blocked"
    assert _json(url, "gift-cards", "block", "demo", number)["status"] == "blocked"  # again: as it is
    assert _json(url, "gift-cards", "unblock", "demo", number)["status"] == "active"
    assert _json(url, "gift-cards", "breakage", "demo") == {"policy": "kept", "share_bp": None}
    assert _json(url, "gift-cards", "breakage", "demo", "shared", "--share-bp", "2500") == {
        "policy": "shared",
        "share_bp": 2500,
    }
    assert _json(url, "gift-cards", "breakage", "demo")["policy"] == "shared"
    # refusals name the field and change nothing (exit 2)
    bad = CliRunner().invoke(app, ["gift-cards", "issue", "demo", "0", "--database-url", url])
    assert bad.exit_code == 2 and "amount" in bad.output
    unknown = CliRunner().invoke(app, ["gift-cards", "show", "demo", "NOPE-0000-01", "--database-url", url])
    assert unknown.exit_code == 2 and "no gift card NOPE000001" in unknown.output
    policy = CliRunner().invoke(app, ["gift-cards", "breakage", "demo", "given", "--database-url", url])
    assert policy.exit_code == 2 and "policy" in policy.output
    assert _json(url, "gift-cards", "breakage", "demo")["policy"] == "shared"
