"""`coalition network partners | outlets | terminals | cashiers` page the network's lists as the admin API does, and
`coalition network country` prints and sets the region phones are read in (issue 17, point 5; issue 18, point 4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli import demo_json, run


@pytest.fixture()
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'demo.db'}"


def _json(*args: str) -> Any:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_list_commands_page_and_filter(url: str) -> None:
    demo_json(url)
    db = ("--database-url", url)
    first = _json("network", "partners", "demo", "--limit", "2", "--json", *db)
    assert [p["name"] for p in first["partners"]] == ["Corner Shop", "Blue Cup Café"] and first["next_cursor"]
    rest = _json("network", "partners", "demo", "--cursor", first["next_cursor"], "--limit", "500", "--json", *db)
    assert rest["partners"][0]["name"] == "Aqua Park" and rest["next_cursor"] is None
    corner = first["partners"][0]["id"]
    outlets = _json("network", "outlets", "demo", "--partner-id", str(corner), "--json", *db)["outlets"]
    assert [o["name"] for o in outlets] == ["Corner Shop till"]
    terminals = _json("network", "terminals", "demo", "--outlet-id", str(outlets[0]["id"]), "--json", *db)
    assert terminals["terminals"] and all("key" not in t for t in terminals["terminals"])
    assert "term_demo_corner_shop" not in json.dumps(terminals)  # the prefix only
    cashiers = _json("network", "cashiers", "demo", "--outlet-id", str(outlets[0]["id"]), "--json", *db)
    assert [c["login"] for c in cashiers["cashiers"]] == ["anna"]

    table = run("network", "cashiers", "demo", "--limit", "1", *db)
    assert table.exit_code == 0 and "anna" in table.stdout and "more: add --cursor c1." in table.output
    assert run("network", "partners", "demo", "--limit", "501", *db).exit_code == 2
    garbled = run("network", "partners", "demo", "--cursor", "garbled", *db)
    assert garbled.exit_code == 2 and "cursor" in garbled.output

    shown = _json("network", "show", "demo", *db)
    assert shown["partners_next"] is None and len(shown["partners"]) == 3


def test_the_country_command_prints_and_sets_it(url: str) -> None:
    demo_json(url)
    db = ("--database-url", url)
    assert _json("network", "country", "demo", *db) == {"country": "RU"}
    assert _json("network", "country", "demo", "kz", *db) == {"country": "KZ"}
    assert _json("network", "country", "demo", *db) == {"country": "KZ"}
    refused = run("network", "country", "demo", "XX", *db)
    assert refused.exit_code == 2 and "country" in refused.output
    assert _json("network", "country", "demo", *db) == {"country": "KZ"}
