"""The `coalition` command: the demo network, verify, and the administrator's commands, on an SQLite file."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest
from typer.testing import CliRunner

from coalition.adapters.cli.main import app
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.support import client

COUNTED = (
    "networks",
    "partners",
    "outlets",
    "terminals",
    "cashiers",
    "members",
    "cards",
    "identifiers",
    "purchases",
    "ledger_transactions",
    "postings",
    "idempotency_keys",
)


@pytest.fixture()
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'demo.db'}"


def run(*args: str):
    result = CliRunner().invoke(app, list(args))
    return result


def demo_json(url: str) -> dict[str, Any]:
    result = run("demo", "--json", "--database-url", url)
    assert result.exit_code == 0, result.output
    info: dict[str, Any] = json.loads(result.stdout)
    return info


def counts(url: str) -> dict[str, int]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        return {table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in COUNTED}


def test_demo_json_prints_what_a_newcomer_needs(url):
    info = demo_json(url)
    assert {"url", "terminals", "cashiers", "members"} <= set(info)
    assert info["url"].startswith("http")
    assert info["terminals"] and all({"outlet", "key"} <= set(t) for t in info["terminals"])
    assert info["cashiers"] and all({"outlet", "login", "password"} <= set(c) for c in info["cashiers"])
    assert info["members"] and all(
        {"identifier", "points_balance", "lifetime_spend"} <= set(m) for m in info["members"]
    )
    assert info["terminals"][0]["outlet"] == "Corner Shop till"
    assert all(isinstance(m["points_balance"], int) for m in info["members"])
    spends = [Decimal(m["lifetime_spend"]) for m in info["members"]]
    assert any(spend < 5000 for spend in spends)
    assert any(spend >= 10000 for spend in spends)
    # Balances are 3 % / 5 % / 7 % of the checks by tier, as the small-shop program says.
    by_card = {m["identifier"]: m for m in info["members"]}
    assert by_card["1000-0001"]["lifetime_spend"] == "3500.00"
    assert by_card["1000-0001"]["points_balance"] == 36 + 69
    # the member's page: the demo sends no e-mail, so two members have a published PIN
    assert info["member_page"] == f"{info['url']}/me"
    assert (by_card["1000-0001"]["pin"], by_card["1000-0002"]["pin"], by_card["1000-0004"]["pin"]) == (
        "2580",
        "1357",
        None,
    )


@pytest.mark.anyio
async def test_the_demo_answers_the_cashiers_flow_with_the_first_terminal(url):
    info = await anyio.to_thread.run_sync(demo_json, url)
    key = info["terminals"][0]["key"]
    member = next(m for m in info["members"] if Decimal(m["lifetime_spend"]) < 5000 and m["points_balance"] > 0)
    headers = {"Authorization": f"Bearer {key}"}
    services = build_services(Settings(database_url=url, operator_token=None, public_url=info["url"]))
    async with client(services) as http:
        found = await http.get(f"/v1/members/{member['identifier']}", headers=headers)
        assert found.status_code == 200, found.text
        assert found.json()["points_balance"] == member["points_balance"]
        assert found.json()["tier"] == {
            "from_lifetime_spend": "0.00",
            "accrual": "3 %",
            "fixed_points_per_check": 0,
            "redeem_cap": "15 %",
            "min_check_for_redeem": "1500.00",
        }
        quote = await http.post(
            "/v1/purchases/quote", json={"customer": member["identifier"], "amount": "2000.00"}, headers=headers
        )
        assert quote.json()["max_redeemable_points"] == min(300, member["points_balance"])
        redeem = quote.json()["max_redeemable_points"]
        bought = await http.post(
            "/v1/purchases",
            json={"customer": member["identifier"], "amount": "2000.00", "redeem_points": redeem, "receipt": "curl-1"},
            headers={**headers, "Idempotency-Key": "curl-1"},
        )
        assert bought.status_code == 201, bought.text
        assert bought.json()["amount_due"] == f"{2000 - redeem}.00"
        assert bought.json()["points_balance"] == member["points_balance"] - redeem + (2000 - redeem) * 3 // 100
        # The printed admin key is the network's: the administrator's API answers it.
        listed = await http.get("/v1/admin/network", headers={"Authorization": f"Bearer {info['admin_key']}"})
        assert listed.status_code == 200, listed.text
    await services.close()
    verified = await anyio.to_thread.run_sync(run, "verify", "--database-url", url)
    assert verified.exit_code == 0, verified.output


def test_running_the_demo_twice_duplicates_nothing(url):
    first = demo_json(url)
    after_first = counts(url)
    assert after_first["networks"] == 1
    assert after_first["members"] == len(first["members"])
    second = demo_json(url)
    assert second == first
    assert counts(url) == after_first
    plain = run("demo", "--database-url", url)
    assert plain.exit_code == 0, plain.output
    assert "already loaded" in plain.stdout
    assert counts(url) == after_first


def test_verify_passes_on_the_demo_and_fails_on_a_corrupted_balance(url):
    demo_json(url)
    clean = run("verify", "--database-url", url)
    assert clean.exit_code == 0, clean.output
    assert clean.stdout.count("ok") >= 9
    assert "FAIL" not in clean.stdout
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        connection.execute("UPDATE member_balances SET balance = balance - 5 WHERE balance > 0")
    broken = run("verify", "--database-url", url)
    assert broken.exit_code == 1, broken.output
    assert "FAIL" in broken.stdout
    assert "member-balances-equal-postings" in broken.stdout


def test_migrate_creates_the_schema(url):
    result = run("migrate", "--database-url", url)
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout
    assert counts(url)["networks"] == 0
    assert run("verify", "--database-url", url).exit_code == 0


def test_verify_on_a_database_behind_the_code_says_to_migrate_first(url):
    from alembic.script import ScriptDirectory

    from coalition.adapters.storage import migrate

    head = ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()
    assert head is not None
    previous = ScriptDirectory.from_config(migrate.alembic_config(url)).get_revision(head).down_revision
    assert isinstance(previous, str)
    migrate.upgrade(url, previous)  # one migration behind this code
    behind = run("verify", "--database-url", url)
    said = " ".join(behind.output.split())
    assert behind.exit_code == 2, behind.output
    assert f"at revision {previous}, this code's is {head}: run `coalition migrate` first" in said
    assert run("migrate", "--database-url", url).exit_code == 0
    assert run("verify", "--database-url", url).exit_code == 0


def test_network_commands_build_a_network(url):
    assert run("migrate", "--database-url", url).exit_code == 0
    created = run("network", "create", "corner", "Corner", "--min-check", "1500", "--database-url", url)
    assert created.exit_code == 0, created.output
    network = json.loads(created.stdout)
    assert network["code"] == "corner"
    assert network["admin_key"].startswith("adm_")
    assert network["program"]["min_check_for_redeem"] == "1500.00"

    partner = run("network", "partner", "corner", "Corner Shop", "--database-url", url)
    assert partner.exit_code == 0, partner.output
    partner_id = json.loads(partner.stdout)["id"]
    bad_zone = run(
        "network", "outlet", "corner", str(partner_id), "Till", "--timezone", "Nowhere/City", "--database-url", url
    )
    assert bad_zone.exit_code == 2
    assert "timezone" in bad_zone.output
    outlet = run(
        "network", "outlet", "corner", str(partner_id), "Till", "--timezone", "Europe/Moscow", "--database-url", url
    )
    assert outlet.exit_code == 0, outlet.output
    outlet_id = json.loads(outlet.stdout)["id"]
    terminal = run("network", "terminal", "corner", str(outlet_id), "POS", "--database-url", url)
    assert terminal.exit_code == 0, terminal.output
    assert json.loads(terminal.stdout)["key"].startswith("term_")
    cashier = CliRunner().invoke(
        app,
        ["network", "cashier", "corner", str(outlet_id), "anna", "Anna", "--database-url", url],
        input="secret-1\nsecret-1\n",
    )
    assert cashier.exit_code == 0, cashier.output
    shown = run("network", "show", "corner", "--database-url", url)
    assert shown.exit_code == 0, shown.output
    listing = json.loads(shown.stdout)
    assert [c["login"] for c in listing["cashiers"]] == ["anna"]
    assert [o["timezone"] for o in listing["outlets"]] == ["Europe/Moscow"]
    unknown = run("network", "partner", "nowhere", "X", "--database-url", url)
    assert unknown.exit_code == 2


def test_statement_command_prints_the_running_balance(url):
    info = demo_json(url)
    member = info["members"][0]
    result = run("statement", "demo", member["identifier"], "--database-url", url)
    assert result.exit_code == 0, result.output
    assert f"balance {member['points_balance']}" in result.stdout


def test_expire_command_reports_what_it_swept(url):
    demo_json(url)  # the demo's program keeps points forever: nothing to sweep
    result = run("expire", "demo", "--database-url", url)
    assert result.exit_code == 0, result.output
    assert "0 expired points of 0 members posted to breakage" in result.stdout
    assert "0.00 returned to the granting partners (kept)" in result.stdout
    unknown = run("expire", "no-such-network", "--database-url", url)
    assert unknown.exit_code == 2
    assert "no network 'no-such-network'" in unknown.output


def test_limits_commands_show_and_change_a_networks_limits(url):
    demo_json(url)
    shown = run("limits", "show", "demo", "--database-url", url)
    assert shown.exit_code == 0, shown.output
    assert "100000000.00" in shown.stdout and "1000000000" in shown.stdout
    changed = run("limits", "set", "demo", "--max-amount", "50000.00", "--max-lines", "20", "--database-url", url)
    assert changed.exit_code == 0, changed.output
    assert "50000.00" in changed.stdout and "20" in changed.stdout
    assert "100000" in run("limits", "show", "demo", "--database-url", url).stdout  # the quantity stays
    refused = run("limits", "set", "demo", "--max-lines", "501", "--database-url", url)
    assert refused.exit_code == 2
    assert "max_lines_per_purchase" in refused.output
    digits = run("limits", "set", "demo", "--max-amount", "٥٠", "--database-url", url)
    assert digits.exit_code == 2 and "max_amount" in digits.output
