"""The rules API on both engines: draft, conflicts, publish now or later, history, export; bad input changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.exc import DBAPIError

from tests.support import assert_problem, auth, client, make_network

pytestmark = pytest.mark.anyio

SMALL_SHOP = {
    "rules": [
        {
            "code": "lifetime-below-10000",
            "condition": "member.lifetime_spend_minor < 1000000",
            "stacking": "exclusive",
            "group": "lifetime",
            "effects": [{"accrue_percent": {"percent": "3"}}, {"set_redemption": {"cap_percent": "15"}}],
        },
        {
            "code": "lifetime-from-10000",
            "condition": "member.lifetime_spend_minor >= 1000000",
            "stacking": "exclusive",
            "group": "lifetime",
            "effects": [{"accrue_percent": {"percent": "5"}}, {"set_redemption": {"cap_percent": "30"}}],
        },
    ]
}
TIE = {
    "rules": [
        {"code": "a", "stacking": "exclusive", "group": "g", "effects": [{"discount": {"percent": "5"}}]},
        {"code": "b", "stacking": "exclusive", "group": "g", "effects": [{"discount": {"percent": "7"}}]},
    ]
}
URL = "/v1/admin/rule-sets"


async def test_draft_publish_history_and_export(services):
    net = await make_network(services)
    admin = auth(net.admin_key)
    async with client(services) as http:
        saved = await http.put(f"{URL}/draft", json=SMALL_SHOP, headers=admin)
        assert saved.status_code == 200, saved.text
        assert (saved.json()["version"], saved.json()["status"], saved.json()["errors"]) == (1, "draft", 0)
        assert [rule["code"] for rule in saved.json()["rules"]] == ["lifetime-below-10000", "lifetime-from-10000"]

        again = (await http.get(f"{URL}/draft", headers=admin)).json()
        assert again["rules"] == saved.json()["rules"]

        published = await http.post(f"{URL}/draft/publish", headers=admin)
        assert published.status_code == 200, published.text
        assert published.json()["status"] == "published"
        history = (await http.get(URL, headers=admin)).json()
        assert history["in_force"] == 1
        assert [(v["version"], v["status"], v["rules"]) for v in history["versions"]] == [(1, "published", 2)]

        # The next edit is version 2; version 1 stays as it was published.
        edited = {"rules": SMALL_SHOP["rules"][:1]}
        assert (await http.put(f"{URL}/draft", json=edited, headers=admin)).json()["version"] == 2
        exported = await http.get(f"{URL}/1", params={"format": "yaml"}, headers=admin)
        assert exported.headers["content-type"].startswith("application/yaml")
        assert len(yaml.safe_load(exported.text)["rules"]) == 2
        assert (await http.get(URL, headers=admin)).json()["in_force"] == 1

        # YAML in, and a publication set for later does not take effect yet.
        yaml_body = yaml.safe_dump(edited)
        saved_yaml = await http.put(
            f"{URL}/draft", content=yaml_body, headers=admin | {"Content-Type": "application/yaml"}
        )
        assert saved_yaml.status_code == 200, saved_yaml.text
        later = services.rules.clock.now() + timedelta(days=1)
        scheduled = await http.post(f"{URL}/draft/publish", json={"effective_from": later.isoformat()}, headers=admin)
        assert scheduled.status_code == 200, scheduled.text
        history = (await http.get(URL, headers=admin)).json()
        assert history["in_force"] == 1
        assert [v["version"] for v in history["versions"] if v["status"] == "published"] == [2, 1]
        in_force_tomorrow = await services.rules.in_force(net.ref, later + timedelta(seconds=1))
        assert in_force_tomorrow is not None and in_force_tomorrow.version == 2


async def test_a_bad_rule_is_refused_naming_the_rule_and_field_and_the_draft_is_kept(services):
    net = await make_network(services)
    admin = auth(net.admin_key)
    async with client(services) as http:
        assert (await http.put(f"{URL}/draft", json=SMALL_SHOP, headers=admin)).status_code == 200
        broken = {"rules": [SMALL_SHOP["rules"][0] | {"condition": "member.lifetime_spend_minor <"}]}
        refused = await http.put(f"{URL}/draft", json=broken, headers=admin)
        body = assert_problem(refused, 422, "invalid-input", "rules[0].condition")
        assert "line 1, column" in body["detail"]
        negative = {"rules": [{"code": "x", "effects": [{"discount": {"percent": "-5"}}]}]}
        assert_problem(
            await http.put(f"{URL}/draft", json=negative, headers=admin),
            422,
            "invalid-input",
            "rules[0].effects[0].discount.percent",
        )
        assert_problem(
            await http.put(f"{URL}/draft", content=b"{not json", headers=admin | {"Content-Type": "application/json"}),
            422,
            "invalid-input",
            "body",
        )
        kept = (await http.get(f"{URL}/draft", headers=admin)).json()
        assert len(kept["rules"]) == 2


async def test_an_unknown_key_is_refused_naming_its_path_in_json_and_yaml(services):
    """Issue 13: `priorty` and `expiri` were silently ignored (the rule kept priority 0 and points never expired)."""
    net = await make_network(services)
    admin = auth(net.admin_key)
    async with client(services) as http:
        assert (await http.put(f"{URL}/draft", json=SMALL_SHOP, headers=admin)).status_code == 200
        typo = {"code": "late", "priorty": 10, "effects": [{"discount": {"percent": "1"}}]}
        third = {"rules": [*SMALL_SHOP["rules"], typo]}
        body = assert_problem(await http.put(f"{URL}/draft", json=third, headers=admin), 422, "invalid-input")
        assert body["field"] == "rules[2].priorty"
        assert body["detail"].startswith("an unknown field (a typo?): the fields here are code, name, trigger,")
        expiri = {"code": "x", "effects": [{"accrue_percent": {"percent": "3", "expiri": {"days": 30}}}]}
        assert_problem(
            await http.put(f"{URL}/draft", json={"rules": [expiri]}, headers=admin),
            422,
            "invalid-input",
            "rules[0].effects[0].accrue_percent.expiri",
        )
        form = {"code": "x", "window": {"form": "08:00"}, "effects": [{"set_tier": {"tier": "a"}}]}
        as_yaml = yaml.safe_dump({"rules": [form]})
        assert_problem(
            await http.put(f"{URL}/draft", content=as_yaml, headers=admin | {"Content-Type": "application/yaml"}),
            422,
            "invalid-input",
            "rules[0].window.form",
        )
        kept = (await http.get(f"{URL}/draft", headers=admin)).json()
        assert [rule["code"] for rule in kept["rules"]] == ["lifetime-below-10000", "lifetime-from-10000"]


async def test_the_json_schema_of_a_rule_set_is_served_to_the_administrator(services):
    from coalition.domain.rules.shapes import rule_set_schema

    net = await make_network(services)
    async with client(services) as http:
        served = await http.get(f"{URL}/schema", headers=auth(net.admin_key))
        assert served.status_code == 200, served.text
        assert served.headers["content-type"].startswith("application/schema+json")
        assert served.json() == rule_set_schema()
        assert served.json()["definitions"]["rule"]["additionalProperties"] is False
        assert_problem(await http.get(f"{URL}/schema"), 401, "unauthorized")
        assert (await http.get(f"{URL}/schema", headers=auth(net.shop_key))).status_code in (401, 403)


async def test_publishing_a_draft_with_errors_is_refused_and_nothing_changes(services):
    net = await make_network(services)
    admin = auth(net.admin_key)
    async with client(services) as http:
        saved = (await http.put(f"{URL}/draft", json=TIE, headers=admin)).json()
        assert saved["errors"] == 1
        assert saved["findings"][0]["kind"] == "exclusive-tie"
        assert saved["findings"][0]["rules"] == ["a", "b"]
        refused = await http.post(f"{URL}/draft/publish", headers=admin)
        body = assert_problem(refused, 409, "conflict", "draft")
        assert "a and b" in body["detail"]
        assert (await http.get(URL, headers=admin)).json() == {
            "in_force": None,
            "versions": [v for v in (await http.get(URL, headers=admin)).json()["versions"] if v["status"] == "draft"],
            "next_cursor": None,
        }
        assert_problem(await http.get(f"{URL}/7", headers=admin), 404, "not-found", "version")
        other = await make_network(services, code="other")
        refused_elsewhere = await http.post(f"{URL}/draft/publish", headers=auth(other.admin_key))
        assert_problem(refused_elsewhere, 404, "not-found", "draft")
        assert (await http.get(URL, headers={})).status_code == 401


async def test_a_published_rule_set_cannot_be_changed_in_the_database(services):
    net = await make_network(services)
    async with client(services) as http:
        await http.put(f"{URL}/draft", json=SMALL_SHOP, headers=auth(net.admin_key))
        await http.post(f"{URL}/draft/publish", headers=auth(net.admin_key))
    with pytest.raises(DBAPIError, match="kept as it was"):
        async with services.engine.begin() as connection:
            await connection.execute(sa.text("UPDATE rule_sets SET body = '{\"rules\": []}'"))
    assert (await services.rules.in_force(net.ref)) is not None


MORNING = {
    "rules": [
        {
            "code": "next-month",
            "effects": [
                {
                    "spend_tier_discount": {
                        "basis": "previous_period",
                        "tiers": [{"from": "10000.00", "percent": "10"}],
                        "floor": "3",
                        "top": "20",
                    }
                }
            ],
        },
        {"code": "morning", "window": {"until": "12:00"}, "effects": [{"discount": {"percent": "5"}}]},
        {
            "code": "points",
            "effects": [{"accrue_percent": {"percent": "5"}}, {"set_redemption": {"cap_percent": "50"}}],
        },
        {"code": "vip", "condition": '"vip" in member.segments', "effects": [{"discount": {"percent": "1"}}]},
    ]
}


async def test_explain_runs_a_hypothetical_purchase_at_the_outlets_local_time(services):
    net = await make_network(services)
    admin = auth(net.admin_key)
    async with client(services) as http:
        assert (await http.put(f"{URL}/draft", json=MORNING, headers=admin)).status_code == 200
        # 08:30 UTC is 11:30 in Moscow, where the shop's till is: the morning discount applies.
        body = {
            "outlet": "Shop till",
            "at": "2026-11-25T08:30:00+00:00",
            "items": [{"sku": "latte", "quantity": 2, "unit_price": "250.00"}],
            "member": {"previous_period_spend": "12000.00"},
            "redeem_points": 100,
        }
        explained = await http.post(f"{URL}/explain", json=body, headers=admin)
        assert explained.status_code == 200, explained.text
        answer = explained.json()
        assert answer["applied"] == ["morning", "next-month", "points"]
        assert answer["discounts_by_rule"] == {"next-month": "50.00", "morning": "25.00"}
        assert (answer["check"], answer["discount"], answer["amount_due"]) == ("500.00", "75.00", "325.00")
        assert answer["max_redeemable_points"] == 212  # 50 % of 425.00
        assert answer["points_to_earn"] == 16  # 5 % of the 325.00 paid in money
        assert {o["rule"]: o["reason"] for o in answer["outcomes"] if not o["applied"]} == {
            "vip": 'its condition is false: "vip" in member.segments'
        }
        afternoon = await http.post(f"{URL}/explain", json=body | {"at": "2026-11-25T09:00:00+00:00"}, headers=admin)
        assert "morning" not in afternoon.json()["applied"]
        assert_problem(
            await http.post(f"{URL}/explain", json=body | {"redeem_points": 300}, headers=admin),
            422,
            "redeem-not-allowed",
            "redeem_points",
        )
        assert_problem(
            await http.post(f"{URL}/explain", json=body | {"member": {"lifetime_spend": "-1"}}, headers=admin),
            422,
            "invalid-input",
            "member.lifetime_spend",
        )
        assert_problem(
            await http.post(f"{URL}/explain", json=body | {"version": 9}, headers=admin), 404, "not-found", "version"
        )


TWO_ACCRUALS = {
    "rules": [
        {
            "code": "double",
            "effects": [
                {"accrue_fixed": {"points": 10}},
                {"accrue_percent": {"percent": "5", "expiry": {"days": 30}}},
            ],
        },
        {"code": "base", "effects": [{"accrue_percent": {"percent": "1"}}]},
    ]
}


async def test_explain_sums_the_points_of_a_rule_with_two_accruals(services):
    """A rule that earns by two effects (10 fixed + 5 % of 540.00 = 27) shows 37, not the last grant alone."""
    net = await make_network(services)
    admin = auth(net.admin_key)
    async with client(services) as http:
        assert (await http.put(f"{URL}/draft", json=TWO_ACCRUALS, headers=admin)).status_code == 200
        explained = await http.post(f"{URL}/explain", json={"amount": "540.00"}, headers=admin)
        assert explained.status_code == 200, explained.text
        answer = explained.json()
        assert answer["points_by_rule"] == {"double": 37, "base": 5}
        assert answer["points_to_earn"] == sum(answer["points_by_rule"].values()) == 42


async def test_the_documented_context_is_served_and_matches_the_docs(services):
    from pathlib import Path

    net = await make_network(services)
    async with client(services) as http:
        served = await http.get(f"{URL}/context", headers=auth(net.admin_key))
    assert served.status_code == 200, served.text
    fields = served.json()["fields"]
    assert {
        "path": "basket.total_minor",
        "type": "int",
        "meaning": "the check before discounts, in minor units (150000 = 1,500.00)",
    } in fields
    assert served.json()["functions"] == ["get", "sum"]
    docs = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text()
    for field in fields:  # every documented name is in the reference, under the same name
        for name in field["path"].replace(",", " / ").split(" / "):
            leaf = name.strip().split(".")[-1]
            assert leaf in docs, leaf
