"""`coalition rules`: import a draft, check it, publish it, export it, on an SQLite file with the demo network."""

from __future__ import annotations

import yaml

from tests.cli.test_cli import demo_json, run, url  # noqa: F401 — `url` is a fixture

GOOD = """
rules:
  - code: base
    effects: [{accrue_percent: {percent: "3"}}]
  - code: morning
    window: {until: "12:00"}
    effects: [{discount: {percent: "5"}}]
"""
TIE = """
rules:
  - {code: a, stacking: exclusive, group: g, effects: [{discount: {percent: "5"}}]}
  - {code: b, stacking: exclusive, group: g, effects: [{discount: {percent: "7"}}]}
"""


def test_import_check_publish_export_and_history(url, tmp_path):  # noqa: F811
    demo_json(url)
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(GOOD)
    imported = run("rules", "import", "demo", str(rules_file), "--database-url", url)
    assert imported.exit_code == 0, imported.output
    assert "2 rules, 0 error(s)" in imported.output
    assert run("rules", "check", "demo", "--database-url", url).exit_code == 0
    published = run("rules", "publish", "demo", "--database-url", url)
    assert published.exit_code == 0, published.output
    assert "published version 1" in published.output
    exported = run("rules", "export", "demo", "--database-url", url)
    assert exported.exit_code == 0, exported.output
    assert [rule["code"] for rule in yaml.safe_load(exported.stdout)["rules"]] == ["base", "morning"]
    history = run("rules", "history", "demo", "--database-url", url)
    assert '"in_force": 1' in history.stdout

    purchase = tmp_path / "purchase.yaml"
    purchase.write_text("version: 1\namount: '1000.00'\nat: '2026-11-25T13:00:00+00:00'\n")
    explained = run("rules", "explain", "demo", str(purchase), "--database-url", url)
    assert explained.exit_code == 0, explained.output
    assert "due 1000.00, points to earn 30" in explained.output
    assert "outside its time window" in explained.output


def test_conflicts_are_shown_and_block_publishing(url, tmp_path):  # noqa: F811
    demo_json(url)
    rules_file = tmp_path / "tie.yaml"
    rules_file.write_text(TIE)
    imported = run("rules", "import", "demo", str(rules_file), "--database-url", url)
    assert imported.exit_code == 1
    assert "exclusive-tie" in imported.output
    refused = run("rules", "publish", "demo", "--database-url", url)
    assert refused.exit_code == 2
    assert "conflict" in refused.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - {code: x, condition: 'member.', effects: [{discount: {percent: '5'}}]}\n")
    broken = run("rules", "import", "demo", str(bad), "--database-url", url)
    assert broken.exit_code == 2
    assert "rules[0].condition" in broken.output


def test_import_refuses_a_condition_over_its_budget_and_a_document_nested_too_deeply(url, tmp_path):  # noqa: F811
    """Issue 12, holes 1 and 10: refused with exit 2 naming the field, quickly, and the draft is left as it was."""
    demo_json(url)
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    assert run("rules", "import", "demo", str(good), "--database-url", url).exit_code == 0
    digits = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
    condition = "true"
    for level in range(5):
        condition = f"{digits}.all(v{level}, v{level} >= 0 && {condition})"
    costly = tmp_path / "costly.yaml"
    costly.write_text(yaml.safe_dump({"rules": [{"code": "freeze", "condition": condition, "effects": GOOD_EFFECT}]}))
    refused = run("rules", "import", "demo", str(costly), "--database-url", url)
    assert refused.exit_code == 2
    assert "error (rules[0].condition): comprehensions (all, exists, exists_one, map, filter) nest at most 3" in (
        " ".join(refused.output.split())
    )
    for name, text in [
        ("deep.yaml", "rules: " + "[" * 100_000 + "]" * 100_000),
        ("deep.json", '{"rules": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        ("self.yaml", "rules: &r [*r]"),
    ]:
        deep = tmp_path / name
        deep.write_text(text)
        answer = run("rules", "import", "demo", str(deep), "--database-url", url)
        assert answer.exit_code == 2, (name, answer.output)
        assert "error (file): a rule set document" in answer.output, (name, answer.output)
    exported = run("rules", "export", "demo", "--database-url", url)
    assert [rule["code"] for rule in yaml.safe_load(exported.stdout)["rules"]] == ["base", "morning"]


GOOD_EFFECT = [{"discount": {"percent": "5"}}]


def test_explain_shows_each_rules_points_summed_over_its_effects(url, tmp_path):  # noqa: F811
    """A rule earning by two effects (10 fixed + 5 % of 540.00 = 27) shows 37 beside it, not one grant's 10 or 27."""
    demo_json(url)
    rules_file = tmp_path / "two.yaml"
    rules_file.write_text(
        "rules:\n  - code: double\n    effects: [{accrue_fixed: {points: 10}}, {accrue_percent: {percent: '5'}}]\n"
    )
    assert run("rules", "import", "demo", str(rules_file), "--database-url", url).exit_code == 0
    purchase = tmp_path / "purchase.yaml"
    purchase.write_text("amount: '540.00'\n")
    explained = run("rules", "explain", "demo", str(purchase), "--database-url", url)
    assert explained.exit_code == 0, explained.output
    [row] = [line for line in explained.output.splitlines() if "double" in line]
    assert [cell.strip() for cell in row.split("│")[1:4]] == ["double", "yes", "37"], row
    assert "points to earn 37" in explained.output


def test_schema_prints_the_json_schema_and_import_refuses_an_unknown_key_naming_it(url, tmp_path):  # noqa: F811
    """Issue 13: a typo (`expiri`) was silently dropped; the schema an editor checks against says the same."""
    import json

    from coalition.domain.rules.shapes import rule_set_schema

    printed = run("rules", "schema")
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout) == rule_set_schema()

    demo_json(url)
    typo = tmp_path / "typo.yaml"
    typo.write_text("rules:\n  - code: base\n    effects: [{accrue_percent: {percent: '3', expiri: {days: 30}}}]\n")
    refused = run("rules", "import", "demo", str(typo), "--database-url", url)
    assert refused.exit_code == 2, refused.output
    assert "error (rules[0].effects[0].accrue_percent.expiri): an unknown field (a typo?)" in " ".join(
        refused.output.split()
    )
