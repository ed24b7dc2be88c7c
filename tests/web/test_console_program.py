"""The program editor over HTTP on both engines: the brief's bonus form saved as the draft (its YAML shown, its
conflicts listed), published, and then pricing a purchase at the till; a bad field re-shows the form naming it; a
sample purchase explained and last month priced again."""

from __future__ import annotations

import re

import httpx
import pytest

from coalition.application.program_editor import BRIEF_FORM
from coalition.application.program_form import form_fields
from coalition.wiring import Services
from tests.application.test_program_editor import BRIEF_YAML
from tests.support import auth, client, enrol, make_network, new_key
from tests.web.support import csrf_token, sign_in_console

pytestmark = pytest.mark.anyio
RULES = {"rules": [{"code": "flat", "effects": [{"accrue_percent": {"percent": "2"}}]}]}  # a draft PUT as YAML/JSON


async def _administrator(services: Services, http: httpx.AsyncClient):
    network = await make_network(services)
    await services.web_sessions.add_console_user(network.ref.id, "administrator", None, "admin", "Admin", "admin-pw-1")
    assert (await sign_in_console(http, "shop", "admin", "admin-pw-1")).status_code == 303
    return network


async def test_the_brief_bonus_form_becomes_the_draft_and_is_published(services: Services) -> None:
    async with client(services) as http:
        network = await _administrator(services, http)
        page = await http.get("/console/rules/editor")
        assert page.status_code == 200
        assert 'name="tier2_from" inputmode="decimal" value="10000.00"' in page.text  # the brief's example
        fields = form_fields(BRIEF_FORM, "RUB") | {"csrf_token": csrf_token(page.text)}
        saved = await http.post("/console/rules/editor", data=fields)
        assert saved.status_code == 200
        assert "Draft version 1 saved." in saved.text
        assert (
            "member.lifetime_spend_minor &gt;= 1000000 &amp;&amp; member.lifetime_spend_minor &lt; 5000001"
            in saved.text
        )
        assert "No conflicts found." in saved.text
        draft = (await http.get("/v1/admin/rule-sets/draft", headers=auth(network.admin_key))).json()
        assert [rule["code"] for rule in draft["rules"]] == ["bonus-tier-1", "bonus-tier-2", "bonus-tier-3"]

        token = csrf_token(saved.text)
        explained = await http.post(
            "/console/rules/editor/explain",
            data={"amount": "2000.00", "lifetime_spend": "12000.00", "at": "2026-11-16T10:00", "csrf_token": token},
        )
        assert explained.status_code == 200
        facts = re.sub(r"\s+", " ", explained.text.split('id="sample-explanation"')[1].split("</dl>")[0])
        assert "Points earned</dt><dd>100</dd>" in facts
        assert "Most points redeemable</dt><dd>600</dd>" in facts

        priced = await http.post("/console/rules/editor/simulate", data={"csrf_token": token})
        assert priced.status_code == 200 and 'id="editor-simulation"' in priced.text

        published = await http.post("/console/rules/publish", data={"csrf_token": token})
        assert published.status_code == 303
    async with client(services) as till:
        await enrol(till, network.shop_key, "CARD-1")
        quote = await till.post(
            "/v1/purchases/quote", json={"customer": "CARD-1", "amount": "2000.00"}, headers=auth(network.shop_key)
        )
        assert quote.status_code == 200, quote.text
        assert quote.json()["points_to_earn"] == 60  # a new member: tier 1, 3 % of 2,000.00


async def test_a_bad_field_re_shows_the_form_naming_it(services: Services) -> None:
    async with client(services) as http:
        network = await _administrator(services, http)
        token = csrf_token((await http.get("/console/rules/editor")).text)
        fields = form_fields(BRIEF_FORM, "RUB") | {"tier2_accrual": "150", "csrf_token": token}
        refused = await http.post("/console/rules/editor", data=fields)
        assert refused.status_code == 422
        assert 'id="f-tier2_accrual" name="tier2_accrual" inputmode="decimal" value="150"' in refused.text
        assert 'aria-invalid="true" aria-describedby="f-tier2_accrual-error"' in refused.text
        assert "a percent cannot be above 100" in refused.text
        assert (await http.get("/v1/admin/rule-sets/draft", headers=auth(network.admin_key))).status_code == 404
        russian = await http.post("/console/rules/editor", data=fields, headers={"Accept-Language": "ru"})
        assert "Программа не сохранена" in russian.text


async def test_a_card_only_for_a_first_purchase_of_at_least_400(services: Services) -> None:
    async with client(services) as http:
        network = await _administrator(services, http)
        token = csrf_token((await http.get("/console/rules/editor")).text)
        bad = await http.post(
            "/console/rules/editor/card-minimum", data={"card_min_first_purchase": "4oo", "csrf_token": token}
        )
        assert bad.status_code == 422 and 'id="card-error"' in bad.text
        saved = await http.post(
            "/console/rules/editor/card-minimum", data={"card_min_first_purchase": "400.00", "csrf_token": token}
        )
        assert saved.status_code == 200
        assert "Cards are now issued from a first purchase of 400.00." in saved.text
        assert 'name="card_min_first_purchase" inputmode="decimal" value="400.00"' in saved.text
    services.pos.forget_programs()
    async with client(services) as till:
        body = {"kind": "anonymous", "card_number": "CARD-400"}
        for first_purchase in (None, "399.99"):
            sent = body | ({"first_purchase": first_purchase} if first_purchase else {})
            refused = await till.post("/v1/members", json=sent, headers=auth(network.shop_key, new_key()))
            assert refused.status_code == 422, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["field"] == "first_purchase"
            assert "only with a first purchase of at least 400.00" in refused.json()["detail"]
        issued = await till.post(
            "/v1/members", json=body | {"first_purchase": "400.00"}, headers=auth(network.shop_key, new_key())
        )
        assert issued.status_code == 201, issued.text
        no_card = {"kind": "personal", "profile": {"phone": "+79001234567", "consent_data_processing": True}}
        assert (
            await till.post("/v1/members", json=no_card, headers=auth(network.shop_key, new_key()))
        ).status_code == 201


async def test_the_api_saves_the_draft_from_the_editors_fields_and_names_a_bad_one(services: Services) -> None:
    network = await make_network(services)
    fields = form_fields(BRIEF_FORM, "RUB")
    async with client(services) as http:
        saved = await http.put("/v1/admin/rule-sets/draft/program", json=fields, headers=auth(network.admin_key))
        assert saved.status_code == 200, saved.text
        assert saved.json()["yaml"] == BRIEF_YAML
        assert [rule["code"] for rule in saved.json()["rules"]] == ["bonus-tier-1", "bonus-tier-2", "bonus-tier-3"]
        assert saved.json()["errors"] == 0
        for body, field in (
            (fields | {"tier2_cap": "30.001"}, "tier2_cap"),
            (fields | {"tier_2_cap": "30"}, "tier_2_cap"),
            (fields | {"weekday": "0", "weekday_percent": "5"}, "weekday"),
        ):
            refused = await http.put("/v1/admin/rule-sets/draft/program", json=body, headers=auth(network.admin_key))
            assert refused.status_code == 422, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["field"] == field
        wrong_type = await http.put(
            "/v1/admin/rule-sets/draft/program", json={"tier1_accrual": 3}, headers=auth(network.admin_key)
        )
        assert wrong_type.status_code == 422


def _start(html: str) -> str:
    note = html.split('id="editor-start"')[1].split("</p>")[0]
    return re.sub(r"\s+", " ", note.split(">", 1)[1]).strip()


async def test_the_editor_opens_with_the_form_it_wrote_and_says_when_yaml_replaced_it(services: Services) -> None:
    async with client(services) as http:
        network = await _administrator(services, http)
        page = await http.get("/console/rules/editor")
        assert _start(page.text) == (
            "No program has been published yet, by this form or as YAML: the form starts from the example program."
        )
        own = form_fields(BRIEF_FORM, "RUB") | {"tier1_accrual": "4", "tier2_cap": "35", "welcome_points": "100"}
        saved = await http.post("/console/rules/editor", data=own | {"csrf_token": csrf_token(page.text)})
        assert saved.status_code == 200 and "Draft version 1 saved." in saved.text

        reopened = await http.get("/console/rules/editor")  # the draft's form, not the example
        assert _start(reopened.text) == "The form shows the draft (version 1) saved from it."
        assert 'name="tier1_accrual" inputmode="decimal" value="4"' in reopened.text
        assert 'name="tier2_cap" inputmode="decimal" value="35"' in reopened.text
        assert 'name="welcome_points" inputmode="numeric" value="100"' in reopened.text

        token = csrf_token(reopened.text)
        assert (await http.post("/console/rules/publish", data={"csrf_token": token})).status_code == 303
        published = await http.get("/console/rules/editor")  # no draft: the program in force, as the form wrote it
        assert _start(published.text) == "The form shows the program in force (version 1)."
        assert 'name="tier1_accrual" inputmode="decimal" value="4"' in published.text

        yaml_draft = await http.put("/v1/admin/rule-sets/draft", json=RULES, headers=auth(network.admin_key))
        assert yaml_draft.status_code == 200, yaml_draft.text
        after_yaml = await http.get("/console/rules/editor")
        assert _start(after_yaml.text) == (
            "The draft (version 2) was written as YAML, which the form cannot show: the form shows the program in"
            " force (version 1), and saving it replaces that draft."
        )
        assert 'name="tier1_accrual" inputmode="decimal" value="4"' in after_yaml.text

        # the form's draft, then replaced through YAML: its form is forgotten, never shown against the YAML
        fields = own | {"tier1_accrual": "6", "csrf_token": csrf_token(after_yaml.text)}
        assert (await http.post("/console/rules/editor", data=fields)).status_code == 200
        assert 'value="6"' in (await http.get("/console/rules/editor")).text
        await http.put("/v1/admin/rule-sets/draft", json=RULES, headers=auth(network.admin_key))
        replaced = await http.get("/console/rules/editor")
        assert "The draft (version 2) was written as YAML" in _start(replaced.text)
        assert 'name="tier1_accrual" inputmode="decimal" value="4"' in replaced.text  # the version in force's


async def test_a_yaml_program_in_force_opens_the_example_and_the_apis_form_is_kept(services: Services) -> None:
    async with client(services) as http:
        network = await _administrator(services, http)
        admin = auth(network.admin_key)
        assert (await http.put("/v1/admin/rule-sets/draft", json=RULES, headers=admin)).status_code == 200
        assert (await http.post("/v1/admin/rule-sets/draft/publish", headers=admin)).status_code == 200
        page = await http.get("/console/rules/editor")
        assert _start(page.text) == (
            "The program in force (version 1) was written as YAML, which the form cannot show: the form starts from"
            " the example program."
        )
        assert 'name="tier2_from" inputmode="decimal" value="10000.00"' in page.text  # the example

        body = {"tier1_accrual": "2", "tier1_cap": "10", "min_check": "500.00"}
        saved = await http.put("/v1/admin/rule-sets/draft/program", json=body, headers=admin)
        assert saved.status_code == 200, saved.text
        reopened = await http.get("/console/rules/editor")
        assert _start(reopened.text) == "The form shows the draft (version 2) saved from it."
        assert 'name="tier1_cap" inputmode="decimal" value="10"' in reopened.text
        assert 'name="min_check" inputmode="decimal" value="500.00"' in reopened.text
        assert 'name="tier2_from" inputmode="decimal" value=""' in reopened.text  # only what the API's form had
