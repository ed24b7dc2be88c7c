"""`coalition audit`: the audit log on the command line, and what the command line changes is audited as its own."""

from __future__ import annotations

import csv
import getpass
import io
import json

from tests.cli.test_cli import demo_json, run, url

__all__ = ["url"]  # the fixture


def test_a_cli_change_is_audited_and_the_log_prints_as_a_table_and_as_csv(url: str) -> None:
    demo_json(url)
    partner = run("network", "partner", "demo", "Night Market", "--database-url", url)
    assert partner.exit_code == 0, partner.output
    partner_id = json.loads(partner.stdout)["id"]

    shown = run("audit", "demo", "--database-url", url)
    assert shown.exit_code == 0, shown.output
    assert "partner" in shown.stdout and "cli" in shown.stdout  # a narrow terminal wraps the columns

    exported = run("audit", "demo", "--csv", "--since", "2000-01-01T00:00Z", "--database-url", url)
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    mine = [row for row in rows if row["action"] == "partner.create" and row["object_id"] == str(partner_id)]
    assert len(mine) == 1
    assert mine[0]["object_id"] == str(partner_id) and mine[0]["address"] == "local"
    assert mine[0]["actor_name"] == getpass.getuser()
    assert json.loads(mine[0]["after"]) == {"name": "Night Market"}
    assert mine[0]["actor_kind"] == "cli"
    assert {row["actor_kind"] for row in rows} == {"cli"}  # `coalition demo` too is the operator's doing

    later = run("audit", "demo", "--csv", "--since", "2100-01-01T00:00Z", "--database-url", url)
    assert later.stdout.splitlines()[1:] == []
    assert run("audit", "demo", "--since", "yesterday", "--database-url", url).exit_code == 2
    assert run("audit", "nowhere", "--database-url", url).exit_code == 2
