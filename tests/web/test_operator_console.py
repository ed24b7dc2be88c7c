"""The operator's console at /operator (issue 18, point 6; docs/plans.md) on both engines: signed in with the operator
token only, it lists every network with its customers and plan, sets a plan and trial, suspends and resumes; a wrong
token, a stale form and a garbled date are refused; without an operator token the console does not exist."""

from __future__ import annotations

import re

import pytest

from coalition.settings import Settings
from coalition.wiring import Services, build_services
from tests.support import auth, buy, client, enrol, make_network
from tests.web.support import csrf_token, sign_in_console

pytestmark = pytest.mark.anyio


async def _signed_in(http, token: str = "operator-secret"):
    page = await http.get("/operator")
    assert page.status_code == 200 and 'name="token"' in page.text
    return await http.post("/operator/sign-in", data={"csrf_token": csrf_token(page.text), "token": token})


async def test_the_operator_signs_in_sets_a_plan_suspends_and_resumes(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "OPC-1")
        wrong = await _signed_in(http, "not-the-token")
        assert wrong.status_code == 401 and "this operator token is wrong" in wrong.text
        signed_in = await _signed_in(http)
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/operator"
        page = await http.get("/operator")
        row = re.search(r'<article class="card" id="network-\d+".*?</article>', page.text, re.S)
        assert row is not None and "shop" in row.group(0) and "<strong>1</strong>" in row.group(0)
        token = csrf_token(page.text)
        path = f"/operator/networks/{net.ref.id}"
        changed = await http.post(f"{path}/plan", data={"csrf_token": token, "plan": "free", "trial_ends": ""})
        assert changed.status_code == 303
        page = await http.get("/operator")
        assert "1 of 500" in page.text
        bad_date = await http.post(f"{path}/plan", data={"csrf_token": token, "plan": "free", "trial_ends": "soon"})
        assert bad_date.status_code == 422 and "write the trial&#39;s end as a date" in bad_date.text
        stale = await http.post(f"{path}/suspend", data={"csrf_token": "forged"})
        assert stale.status_code == 422
        assert (await http.post(f"{path}/suspend", data={"csrf_token": token})).status_code == 303
        assert (await buy(http, net.shop_key, "OPC-1", "100.00")).status_code == 403
        assert "suspended" in (await http.get("/operator")).text
        assert (await http.post(f"{path}/resume", data={"csrf_token": token})).status_code == 303
        assert (await buy(http, net.shop_key, "OPC-1", "100.00")).status_code == 201
        plan = (await http.get("/v1/admin/plan", headers=auth(net.admin_key))).json()
        assert (plan["plan"], plan["trial_ends_at"], plan["suspended_at"]) == ("free", None, None)
        # signed out: the list is gone, the forms refused
        assert (await http.post("/operator/logout", data={"csrf_token": token})).status_code == 303
        assert 'name="token"' in (await http.get("/operator")).text
        assert (await http.post(f"{path}/suspend", data={"csrf_token": token})).status_code == 401


async def test_without_an_operator_token_there_is_no_operator_console(database_url: str) -> None:
    services = build_services(Settings(database_url=database_url, operator_token=None, public_url="http://testserver"))
    try:
        async with client(services) as http:
            assert (await http.get("/operator")).status_code == 404
    finally:
        await services.close()


async def test_the_administrator_s_console_shows_the_plan_and_says_when_it_is_full(services: Services) -> None:
    net = await make_network(services)
    await services.web_sessions.add_console_user(net.ref.id, "administrator", None, "boss", "Boss", "boss-password-1")
    async with client(services) as http:
        await enrol(http, net.shop_key, "PLAN-1")
        await services.operator.set_plan(net.ref.id, "free")
        assert (await sign_in_console(http, "shop", "boss", "boss-password-1")).status_code == 303
        home = await http.get("/console")
        assert "Free plan: 1 of 500 customers." in home.text and "The plan is full" not in home.text
        await services.operator.suspend(net.ref.id)
        home = await http.get("/console", headers={"Accept-Language": "ru"})
        assert "Тариф «Бесплатный»: клиентов — 1 из 500." in home.text
        assert "Оператор сервера приостановил работу этой сети" in home.text
