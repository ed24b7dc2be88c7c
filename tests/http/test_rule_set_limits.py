"""Issue 12 through the rules API on both engines: a condition over its cost budget (hole 1) and a document nested
too deeply or too large (hole 10) are refused with a 422 problem naming the field, and the stored draft is kept."""

from __future__ import annotations

import json

import pytest
import yaml

from coalition.domain.rules.parsing import parse_rule_set, rule_set_to_data
from tests.support import assert_problem, auth, buy, client, enrol, make_network

pytestmark = pytest.mark.anyio

URL = "/v1/admin/rule-sets"
DIGITS = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
GOOD = {"rules": [{"code": "base", "effects": [{"accrue_percent": {"percent": "3"}}]}]}
YAML = {"Content-Type": "application/yaml"}


def _freezing() -> str:
    body = "true"
    for level in range(5):
        body = f"{DIGITS}.all(v{level}, v{level} >= 0 && {body})"
    return body


def _with(condition: str) -> dict[str, object]:
    rules = [
        {"code": f"r{n}", "condition": "basket.total_minor > 0", "effects": [{"discount": {"percent": "1"}}]}
        for n in range(3)
    ]
    rules.append({"code": "costly", "condition": condition, "effects": [{"discount": {"percent": "5"}}]})
    return {"rules": rules}


async def test_a_condition_over_its_budget_is_refused_naming_the_rule_as_json_or_yaml(services):
    net = await make_network(services)
    admin = auth(net.admin_key)
    async with client(services) as http:
        assert (await http.put(f"{URL}/draft", json=GOOD, headers=admin)).status_code == 200
        for condition, words in [
            (_freezing(), "nest at most 3 deep"),
            ("basket.lines.exists(a, basket.lines.exists(b, a.sku == b.sku))", "steps on the largest basket"),
            ("basket.tags.map(t, t).size() > 0", "steps on the largest basket"),
            ('basket.skus.exists(s, s.matches("^(a+)+$"))', "matches() is not allowed"),
        ]:
            as_json = await http.put(f"{URL}/draft", json=_with(condition), headers=admin)
            assert words in assert_problem(as_json, 422, "invalid-input", "rules[3].condition")["detail"]
            as_yaml = await http.put(f"{URL}/draft", content=yaml.safe_dump(_with(condition)), headers=admin | YAML)
            assert words in assert_problem(as_yaml, 422, "invalid-input", "rules[3].condition")["detail"]
        many = {
            "rules": [
                _with(f'basket.lines.exists(l, l.sku == "{n}")')["rules"][3] | {"code": f"c{n}"} for n in range(70)
            ]
        }
        together = await http.put(f"{URL}/draft", json=many, headers=admin)
        assert "largest basket together" in assert_problem(together, 422, "invalid-input", "rules")["detail"]
        draft = await http.get(f"{URL}/draft", headers=admin)
        assert (draft.json()["version"], [r["code"] for r in draft.json()["rules"]]) == (1, ["base"])


def _deep_json(levels: int) -> str:
    return '{"rules": ' + "[" * levels + "]" * levels + "}"


async def test_a_deeply_nested_or_oversized_document_is_a_422_naming_the_body_never_a_500(services):
    net = await make_network(services)
    admin = auth(net.admin_key)
    json_body = {"Content-Type": "application/json"}
    async with client(services) as http:
        assert (await http.put(f"{URL}/draft", json=GOOD, headers=admin)).status_code == 200
        refusals = [
            # past Python's recursion limit: json and PyYAML used to raise RecursionError, a 500
            (_deep_json(100_000), json_body, "nests at most 32 levels deep"),
            ("rules: " + "[" * 100_000 + "]" * 100_000, YAML, "nests at most 32 levels deep"),
            ("rules:\n" + "".join("  " * n + "- \n" for n in range(1, 900)), YAML, "nests at most 32 levels deep"),
            # under it, but deeper than any rule set
            (_deep_json(40), json_body, "nests at most 32 levels deep"),
            ("rules: " + "[" * 40 + "]" * 40, YAML, "nests at most 32 levels deep"),
            # a few anchors standing for millions of values, and a document containing itself
            (_alias_bomb(), YAML, "holds at most 200,000 values"),
            ("rules: &r [*r]", YAML, "cannot contain itself"),
            # too long to read at all
            (json.dumps({"rules": [], "note": "x" * 1_000_000}), json_body, "at most 1,000,000 characters"),
            (yaml.safe_dump({"rules": [], "note": "x" * 1_000_000}), YAML, "at most 1,000,000 characters"),
        ]
        for body, headers, words in refusals:
            for path, method in ((f"{URL}/draft", "PUT"), (f"{URL}/explain", "POST")):
                answer = await http.request(method, path, content=body, headers=admin | headers)
                problem = assert_problem(answer, 422, "invalid-input", "body")
                assert words in problem["detail"], (body[:60], path, problem)
        # a document as deep as a rule set gets, and flat lists of many values, are read as before
        deep_rule = {
            "code": "deep",
            "effects": [
                {"accrue_percent": {"percent": "3", "multipliers": [{"lines": {"skus": ["A"]}, "factor": "2"}]}}
            ],
        }
        # (the long list in a field of a rule: an unknown key such as `note` is refused since issue 13)
        many = {"window": {"weekdays": [1 + n % 7 for n in range(100_000)]}}
        fine = await http.put(f"{URL}/draft", json={"rules": [deep_rule | many]}, headers=admin)
        assert fine.status_code == 200, fine.text
        draft = await http.get(f"{URL}/draft", headers=admin)
        assert [r["code"] for r in draft.json()["rules"]] == ["deep"]


def _alias_bomb() -> str:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, 9)]
    return "\n".join(lines) + "\nrules: []\n"


async def test_explain_takes_no_larger_purchase_than_a_till_may_send(services):
    net = await make_network(services)
    admin = auth(net.admin_key)
    async with client(services) as http:
        await http.put(f"{URL}/draft", json=GOOD, headers=admin)
        line = {"sku": "A", "unit_price": "1.00"}
        cases = [
            ({"items": [line] * 501}, "items", "a basket has at most 500 lines"),
            ({"items": [line | {"tags": [f"t{n}" for n in range(21)]}]}, "items[0].tags", "at most 20 tags"),
            ({"amount": "1.00", "member": {"segments": [f"s{n}" for n in range(21)]}}, "member.segments", "segments"),
            ({"amount": "1.00", "coupons": [f"C{n}" for n in range(21)]}, "coupons", "at most 20 coupons"),
        ]
        for body, field, words in cases:
            problem = assert_problem(await http.post(f"{URL}/explain", json=body, headers=admin), 422, "invalid-input")
            assert (problem["field"], words in problem["detail"]) == (field, True), problem
        largest = {"items": [line | {"tags": [f"t{n}" for n in range(20)]}] * 500}
        assert (await http.post(f"{URL}/explain", json=largest, headers=admin)).status_code == 200


async def test_a_set_published_before_the_budget_still_prices_purchases_and_its_next_draft_fits_the_budget(services):
    """Nothing accepted before is refused at a till: a published set over today's budget keeps working."""
    net = await make_network(services)
    costly = {"code": "dear", "condition": "basket.lines.filter(l, l.total_minor > 0).size() > 0"}
    published = {"rules": [costly | {"effects": [{"accrue_fixed": {"points": 7}}]}]}
    async with client(services) as http:
        refused = await http.put(f"{URL}/draft", json=published, headers=auth(net.admin_key))
        assert (
            "steps on the largest basket"
            in assert_problem(refused, 422, "invalid-input", "rules[0].condition")["detail"]
        )
        async with services.rules.unit_of_work() as uow:  # as a server before the budget stored and published it
            now = services.rules.clock.now()
            body = json.dumps(rule_set_to_data(parse_rule_set(published, "RUB", budgeted=False), "RUB"))
            version = await uow.save_draft(net.ref.id, body, now)
            assert await uow.publish_draft(net.ref.id, version, now, now)
        await enrol(http, net.shop_key, "CARD-1")
        bought = await buy(http, net.shop_key, "CARD-1", "100.00")
        assert bought.status_code == 201, bought.text
        assert bought.json()["applied_rules"] == ["dear"]
