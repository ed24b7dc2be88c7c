"""The rules pages over HTTP on both engines: only the administrator may open them; a draft's errors name their
place and leave the stored draft as it was; conflicts are listed; simulate, explain and publish work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from coalition.wiring import Services
from tests.support import auth, buy, client, enrol, make_network
from tests.web.support import csrf_token, sign_in_console

pytestmark = pytest.mark.anyio

TIED = """rules:
  - code: card-5
    stacking: exclusive
    group: card
    effects: [{discount: {percent: "5"}}]
  - code: card-7
    stacking: exclusive
    group: card
    effects: [{discount: {percent: "7"}}]
"""
FIXED = TIED.replace(
    "  - code: card-7\n", "  - code: card-7\n    priority: 10\n    condition: basket.total_minor >= 500000\n"
)


async def _console(services: Services) -> tuple[object, int]:
    network = await make_network(services)
    partner_id = (await services.admin.listing(network.ref))["partners"][0]["id"]
    web = services.web_sessions
    await web.add_console_user(network.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    await web.add_console_user(network.ref.id, "owner", partner_id, "owner", "Shop owner", "owner-secret-1")
    return network, partner_id


async def _token(http: httpx.AsyncClient, path: str = "/console") -> str:
    return csrf_token((await http.get(path)).text)


async def test_an_owner_gets_403_on_the_rules_and_settlement_pages_and_their_forms(services: Services) -> None:
    network, _ = await _console(services)
    async with client(services) as http:
        assert (await sign_in_console(http, "shop", "owner", "owner-secret-1")).status_code == 303
        token = await _token(http)
        for path in ("/console/rules", "/console/rules/publish", "/console/rules/versions/1", "/console/settlement"):
            assert (await http.get(path)).status_code == 403, path
        posts = {
            "/console/rules/draft": {"draft": TIED},
            "/console/rules/simulate": {"from": "2026-01-01", "to": "2026-01-02"},
            "/console/rules/explain": {"amount": "100.00"},
            "/console/rules/publish": {},
            "/console/settlement/close": {"end": "2026-01-01T00:00:00"},
            "/console/settlement/fees": {"per_transaction": "1.00", "percent_of_granted": "1"},
            "/console/settlement/points-breakage": {"policy": "returned"},
            "/console/settlement/gift-breakage": {"gifts": "released"},
            "/console/settlement/statements/1/send": {},
        }
        for path, fields in posts.items():
            refused = await http.post(path, data={**fields, "csrf_token": token})
            assert refused.status_code == 403, path
        # nothing was written by the refused forms
        assert (await http.get("/v1/admin/rule-sets", headers=auth(network.admin_key))).json()["versions"] == []
        fees = await http.get("/v1/admin/settlement/fees", headers=auth(network.admin_key))
        assert fees.json()["per_transaction"] == "0.00"
    async with client(services) as anonymous:
        away = await anonymous.get("/console/rules")
        assert away.status_code == 303 and away.headers["location"] == "/console/login?next=/console/rules"


async def test_a_draft_is_checked_its_errors_placed_and_its_conflicts_listed(services: Services) -> None:
    network, _ = await _console(services)
    async with client(services) as http:
        await sign_in_console(http, "shop", "admin", "admin-secret-1")
        token = await _token(http, "/console/rules")
        tied = await http.post("/console/rules/draft", data={"draft": TIED, "csrf_token": token})
        assert tied.status_code == 200
        assert "Draft version 1 saved." in tied.text
        assert "exclusive-tie" in tied.text and "card-5 and card-7 can fire on the same purchase" in tied.text
        assert "Error: exclusive rules with no order between them" in tied.text

        broken = 'rules:\n  - code: a\n    effects: [{discount: {percent: "5"}}\n'
        syntax = await http.post("/console/rules/draft", data={"draft": broken, "csrf_token": token})
        assert syntax.status_code == 422
        assert "The draft was not saved: line 4, column 1" in syntax.text
        assert "effects: [{discount" in syntax.text  # the text typed is kept

        wrong_field = TIED.replace('percent: "7"', 'percent: "700"')
        field = await http.post("/console/rules/draft", data={"draft": wrong_field, "csrf_token": token})
        assert field.status_code == 422
        assert "Field: rules[1].effects[0].discount.percent" in field.text
        assert "Line 9 of the draft" in field.text

        stored = await http.get("/v1/admin/rule-sets/draft", headers=auth(network.admin_key))
        assert [rule["code"] for rule in stored.json()["rules"]] == ["card-5", "card-7"]
        assert stored.json()["errors"] == 1  # the refused edits left the tied draft as it was

        refused = await http.post("/console/rules/publish", data={"csrf_token": token})
        assert refused.status_code == 409 and "Not published: the draft has 1 conflict(s)" in refused.text
        confirm = await http.get("/console/rules/publish")
        russian = await http.get("/console/rules/publish", headers={"Accept-Language": "ru"})
        assert "В черновике 2 правила." in russian.text and "Опубликовать черновик версии 1?" in russian.text
        assert "fix them before publishing" in confirm.text and 'action="/console/rules/publish"' not in confirm.text


async def test_simulate_explain_publish_and_the_history(services: Services) -> None:
    network, _ = await _console(services)
    async with client(services) as http:
        await enrol(http, network.shop_key, "7700-0001")
        await buy(http, network.shop_key, "7700-0001", "1000.00")
        await sign_in_console(http, "shop", "admin", "admin-secret-1")
        token = await _token(http, "/console/rules")
        saved = await http.post("/console/rules/draft", data={"draft": FIXED, "csrf_token": token})
        assert "No conflicts found." in saved.text and "exclusive-tie" not in saved.text

        today = datetime.now(UTC).date()
        simulated = await http.post(
            "/console/rules/simulate",
            data={"from": str(today - timedelta(days=1)), "to": str(today), "csrf_token": token},
        )
        assert simulated.status_code == 200
        assert 'id="simulation"' in simulated.text and "Shop" in simulated.text
        assert "card-5 (1)" in simulated.text  # the one purchase got the 5 % card discount
        backwards = await http.post(
            "/console/rules/simulate", data={"from": "2026-02-01", "to": "2026-01-01", "csrf_token": token}
        )
        assert backwards.status_code == 422 and "&#39;to&#39; must be after &#39;from&#39;" in backwards.text

        explained = await http.post(
            "/console/rules/explain", data={"amount": "6000.00", "redeem": "", "csrf_token": token}
        )
        assert explained.status_code == 200 and 'id="explanation"' in explained.text
        assert "card-7" in explained.text and "420.00" in explained.text  # 7 % of 6,000.00
        bad_amount = await http.post("/console/rules/explain", data={"amount": "lots", "csrf_token": token})
        assert bad_amount.status_code == 422 and "is not a non-negative decimal amount" in bad_amount.text

        published = await http.post("/console/rules/publish", data={"csrf_token": token})
        assert published.status_code == 303 and published.headers["location"] == "/console/rules?published=1"
        page = await http.get("/console/rules?published=1")
        assert "Version 1 is published." in page.text and 'href="/console/rules/versions/1"' in page.text
        in_force = (await http.get("/v1/admin/rule-sets", headers=auth(network.admin_key))).json()
        assert in_force["in_force"] == 1
        version = await http.get("/console/rules/versions/1")
        assert version.status_code == 200 and "card-7" in version.text and "in force" in version.text
        for missing in ("9", "99999999999999999999", "-1"):
            assert (await http.get(f"/console/rules/versions/{missing}")).status_code == 404, missing
        bad_csrf = await http.post("/console/rules/draft", data={"draft": TIED, "csrf_token": "guessed"})
        assert bad_csrf.status_code == 403


async def test_a_draft_published_for_a_later_moment_is_not_in_force_before_it(services: Services) -> None:
    network, _ = await _console(services)
    async with client(services) as http:
        await sign_in_console(http, "shop", "admin", "admin-secret-1")
        token = await _token(http, "/console/rules")
        await http.post("/console/rules/draft", data={"draft": FIXED, "csrf_token": token})
        wrong = await http.post("/console/rules/publish", data={"effective_from": "soon", "csrf_token": token})
        assert wrong.status_code == 422 and "expected a date and time such as 2026-12-01T00:00" in wrong.text
        start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
        typed = start.replace(tzinfo=None).isoformat()
        later = await http.post("/console/rules/publish", data={"effective_from": typed, "csrf_token": token})
        assert later.status_code == 303
        history = (await http.get("/v1/admin/rule-sets", headers=auth(network.admin_key))).json()
        assert history["in_force"] is None
        assert history["versions"][0]["status"] == "published"
        assert datetime.fromisoformat(history["versions"][0]["effective_from"]) == start
        page = await http.get("/console/rules")
        assert "No rule set is in force" in page.text  # not in force before its start


async def test_odd_input_is_refused_with_a_message_never_a_500(services: Services) -> None:
    await _console(services)
    async with client(services) as http:
        await sign_in_console(http, "shop", "admin", "admin-secret-1")
        token = await _token(http, "/console/rules")
        await http.post("/console/rules/draft", data={"draft": FIXED, "csrf_token": token})
        odd = {
            "/console/rules/simulate": [
                {"from": "2026-01-01", "to": "9999-12-31"},
                {"from": "", "to": ""},
                {"from": "9999-12-31", "to": "9999-12-31"},
            ],
            "/console/rules/explain": [
                {"amount": "99999999999999999999.00"},
                {"amount": "100.00", "redeem": "99999999999999999999"},
                {"amount": "100.00", "lifetime_spend": "-5"},
                {"amount": "100.00", "outlet": "x" * 500},
            ],
            "/console/rules/draft": [{"draft": "[1, 2"}, {"draft": "rules: 5"}, {"draft": ""}, {"draft": "&a [*a]"}],
            "/console/rules/publish": [{"effective_from": "99999"}, {"effective_from": "2026-13-01T00:00"}],
        }
        for path, attempts in odd.items():
            for fields in attempts:
                answer = await http.post(path, data={**fields, "csrf_token": token})
                assert 400 <= answer.status_code < 500, (path, fields, answer.status_code)
                assert 'role="alert"' in answer.text, (path, fields)


async def test_a_condition_over_its_budget_or_a_draft_nested_too_deeply_is_refused_in_the_readers_language(
    services: Services,
) -> None:
    """Issue 12, holes 1 and 10, on the rules page: the error beside the rule (its field and line), in Russian."""
    network, _ = await _console(services)
    digits = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
    condition = "true"
    for level in range(5):
        condition = f"{digits}.all(v{level}, v{level} >= 0 && {condition})"
    costly = FIXED + f"  - code: freeze\n    condition: '{condition}'\n    effects: [{{discount: {{percent: '5'}}}}]\n"
    russian = {"Accept-Language": "ru-RU,ru;q=0.9"}
    async with client(services) as http:
        await sign_in_console(http, "shop", "admin", "admin-secret-1")
        token = await _token(http, "/console/rules")
        saved = await http.post("/console/rules/draft", data={"draft": FIXED, "csrf_token": token})
        assert saved.status_code == 200
        refused = await http.post("/console/rules/draft", data={"draft": costly, "csrf_token": token}, headers=russian)
        assert refused.status_code == 422
        assert "в условии циклы (all, exists, exists_one, map, filter) вкладываются друг в друга не глубже 3" in (
            refused.text
        )
        assert "rules[2].condition" in refused.text and "Строка 13" in refused.text
        english = await http.post("/console/rules/draft", data={"draft": costly, "csrf_token": token})
        assert "comprehensions (all, exists, exists_one, map, filter) nest at most 3 deep" in english.text

        for text, words in [
            ("rules: " + "[" * 100_000 + "]" * 100_000, "документ набора правил вкладывается не глубже 32 уровней"),
            ("rules: &r [*r]", "документ набора правил не может содержать сам себя"),
        ]:
            deep = await http.post("/console/rules/draft", data={"draft": text, "csrf_token": token}, headers=russian)
            assert deep.status_code == 422 and words in deep.text, deep.text[-2000:]
        stored = await http.get("/v1/admin/rule-sets/draft", headers=auth(network.admin_key))
        assert [rule["code"] for rule in stored.json()["rules"]] == ["card-5", "card-7"]


async def test_a_typo_in_a_key_is_refused_with_its_path_and_line_in_the_readers_language(services: Services) -> None:
    """Issue 13: `priorty` (and `expiri`) were silently dropped; the editor names the key, its line, in Russian."""
    network, _ = await _console(services)
    typo = FIXED.replace("    priority: 10\n", "    priorty: 10\n")
    russian = {"Accept-Language": "ru-RU,ru;q=0.9"}
    async with client(services) as http:
        await sign_in_console(http, "shop", "admin", "admin-secret-1")
        token = await _token(http, "/console/rules")
        refused = await http.post("/console/rules/draft", data={"draft": typo, "csrf_token": token}, headers=russian)
        assert refused.status_code == 422
        assert "неизвестное поле (опечатка?): здесь допустимы поля code, name, trigger," in refused.text
        assert "rules[1].priorty" in refused.text and "Строка 7" in refused.text
        assert "priorty: 10" in refused.text  # the text typed is kept
        expiri = FIXED.replace('percent: "5"', 'percent: "5", expiri: {days: 30}')
        expiri = expiri.replace("discount", "accrue_percent", 1)
        english = await http.post("/console/rules/draft", data={"draft": expiri, "csrf_token": token})
        assert english.status_code == 422
        assert "an unknown field (a typo?)" in english.text
        assert "Field: rules[0].effects[0].accrue_percent.expiri" in english.text
        assert "Line 5 of the draft" in english.text
        stored = await http.get("/v1/admin/rule-sets/draft", headers=auth(network.admin_key))
        assert stored.status_code == 404  # nothing was saved
