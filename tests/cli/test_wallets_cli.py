"""`coalition wallets …` on the demo network: a member's wallet with its history, limits set and removed, the
liability, closing, and refusals that name the field and change nothing (exit 2)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import anyio

from coalition.settings import Settings
from coalition.wiring import build_services
from tests.cli.test_cli import demo_json, run, url
from tests.support import auth, client, new_key

__all__ = ["url"]  # the fixture

CARD = "1000-0001"


async def _top_up_and_pay(url: str, keys: dict[str, str]) -> None:
    """100.00 onto Irina's wallet at the ticket office, 30.00 of a 50.00 check paid from it at the café."""
    services = build_services(Settings(database_url=url, operator_token=None, public_url="http://127.0.0.1:8000"))
    try:
        async with client(services) as http:
            topped = await http.post(
                "/v1/wallets/top-ups",
                json={"customer": CARD, "amount": "100.00"},
                headers=auth(keys["Ticket office"], new_key()),
            )
            assert topped.status_code == 201, topped.text
            body = {
                "customer": CARD,
                "amount": "50.00",
                "receipt": "W-1",
                "tenders": [{"kind": "wallet", "amount": "30.00"}],
            }
            paid = await http.post("/v1/purchases", json=body, headers=auth(keys["Café counter"], new_key()))
            assert paid.status_code == 201, paid.text
    finally:
        await services.close()


def _json(*args: str) -> Any:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_show_limits_liability_and_close(url: str) -> None:
    info = demo_json(url)
    keys = {terminal["outlet"]: terminal["key"] for terminal in info["terminals"]}
    db = ("--database-url", url)
    empty = _json("wallets", "show", "demo", CARD, *db)
    assert (empty["wallet"], empty["history"]) == (None, [])
    assert _json("wallets", "liability", "demo", *db) == []

    anyio.run(_top_up_and_pay, url, keys)
    shown = _json("wallets", "show", "demo", CARD, *db)
    assert (shown["balance"], shown["available"], shown["credit_limit"], shown["status"]) == (
        "70.00", "70.00", "0.00", "open"
    )  # fmt: skip
    assert [(line["kind"], line["outlet"], line["amount"], line["balance_after"]) for line in shown["history"]] == [
        ("top_up", "Ticket office", "100.00", "100.00"),
        ("purchase", "Café counter", "-30.00", "70.00"),
    ]

    limited = _json("wallets", "limits", "demo", CARD, "--credit-limit", "20.00", "--daily-limit", "50.00", *db)
    assert (limited["credit_limit"], limited["daily_spend_limit"]) == ("20.00", "50.00")
    today = _json("wallets", "show", "demo", f"id:{shown['member']}", *db)
    assert (today["available"], today["daily_left"]) == ("20.00", "20.00")  # 50.00 a day, 30.00 paid today
    assert _json("wallets", "limits", "demo", CARD, "--daily-limit", "none", *db)["daily_spend_limit"] is None

    assert _json("wallets", "liability", "demo", *db) == [
        {
            "currency": info.get("currency", "RUB"),
            "wallets": 1,
            "closed": 0,
            "owed_to_members": "70.00",
            "credit_in_use": "0.00",
            "net_liability": "70.00",
            "credit_extended": "20.00",
        }
    ]

    bad = run("wallets", "limits", "demo", CARD, "--credit-limit", "abc", *db)
    assert bad.exit_code == 2 and "credit_limit" in bad.output
    nobody = run("wallets", "show", "demo", "9999-9999", *db)
    assert nobody.exit_code == 2 and "member" in nobody.output
    assert _json("wallets", "show", "demo", CARD, *db)["credit_limit"] == "20.00"  # the refusal changed nothing

    closed = _json("wallets", "close", "demo", CARD, *db)
    assert (closed["status"], closed["available"]) == ("closed", "0.00")
    assert _json("wallets", "liability", "demo", *db)[0]["closed"] == 1
    audit = run("audit", "demo", "--csv", "--since", "2000-01-01T00:00Z", *db)
    actions = [row["action"] for row in csv.DictReader(io.StringIO(audit.stdout)) if row["actor_kind"] == "cli"]
    assert actions.count("wallet.limits") == 2 and actions.count("wallet.close") == 1, audit.stdout
