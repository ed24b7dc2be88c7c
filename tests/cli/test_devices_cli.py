"""`coalition devices …` on the demo network (issue 15): a device added with its key printed once, listed, shown, its
prices and hours replaced, revoked; refusals name the field and change nothing (exit 2); every change audited."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from tests.cli.test_cli import demo_json, run, url

__all__ = ["url"]  # the fixture


def _json(*args: str) -> Any:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_add_list_show_prices_hours_and_revoke(url: str, tmp_path: Path) -> None:
    demo_json(url)
    db = ("--database-url", url)
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"slots": {"A1": {"name": "Water 0.5 l", "price": "60.00"}}}), encoding="utf-8")
    added = _json(
        "devices", "add", "demo", "Water vending", "--partner", "Aqua Park", "--kind", "vending",
        "--timezone", "Europe/Moscow", "--price-list", f"@{prices}", "--hours", '{"sat": [["10:00", "20:00"]]}', *db,
    )  # fmt: skip
    assert added["key"].startswith("dev_") and added["partner"]["name"] == "Aqua Park"
    assert added["price_list"]["slots"]["A1"]["price"] == "60.00"
    device = str(added["id"])

    listed = run("devices", "list", "demo", *db)
    assert listed.exit_code == 0 and "Water" in listed.stdout and "silent" in listed.stdout
    listed_ids = [d["id"] for d in _json("devices", "list", "demo", "--json", *db)]
    assert added["id"] in listed_ids and len(listed_ids) == 6  # the demo's five devices and this one
    shown = _json("devices", "show", "demo", device, *db)
    assert "key" not in shown and shown["opening_hours"] == {"sat": [["10:00", "20:00"]]}

    changed = _json("devices", "prices", "demo", device, '{"per_use": "40.00"}', *db)
    assert changed["price_list"]["per_use"] == "40.00" and changed["price_list"]["slots"] == {}
    assert _json("devices", "hours", "demo", device, "always", *db)["opening_hours"] is None

    before = _json("devices", "show", "demo", device, *db)
    for args, field in (
        (("prices", "demo", device, '{"per_use": "0"}'), "price_list.per_use"),
        (("prices", "demo", device, "not json"), "price_list"),
        (("prices", "demo", device, '{"per_minute": "1.00", "max_minutes": 30}', "--kind", "vending"),
         "price_list.per_use"),
        (("hours", "demo", device, '{"mon": [["22:00", "06:00"]]}'), "opening_hours.mon[0][1]"),
        (("show", "demo", "999999"), "device_id"),
        (("add", "demo", "X", "--partner", "Nobody", "--kind", "arcade"), "partner_id"),
        (("add", "demo", "X", "--partner", "Aqua Park", "--kind", "pinball"), "kind"),
    ):  # fmt: skip
        refused = run("devices", *args, *db)
        assert refused.exit_code == 2 and field in refused.output, (args, refused.output)
    assert _json("devices", "show", "demo", device, *db) == before

    revoked = _json("devices", "revoke", "demo", device, *db)
    assert revoked["active"] is False and revoked["terminal"]["active"] is False
    audit = run("audit", "demo", "--csv", "--since", "2000-01-01T00:00Z", *db)
    actions = [row["action"] for row in csv.DictReader(io.StringIO(audit.stdout)) if row["actor_kind"] == "cli"]
    counts = (actions.count("device.create"), actions.count("device.update"), actions.count("device.revoke"))
    assert counts == (6, 2, 1)  # `coalition demo` registered its five devices too
