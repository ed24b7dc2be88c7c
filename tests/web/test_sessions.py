"""Web sessions on both engines: sign-in, revocation at once, rate limiting, CSRF and roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from coalition.application.sign_in_limits import scope_hash
from coalition.wiring import Services
from tests.support import client, make_network
from tests.web.support import csrf_token, sign_in_cashier, sign_in_console

pytestmark = pytest.mark.anyio


async def _cashier(services: Services) -> tuple[int, int]:
    network = await make_network(services)
    listing = await services.admin.listing(network.ref)
    outlet_id = listing["outlets"][0]["id"]
    created = await services.admin.create_cashier(network.ref, outlet_id, "anna", "Anna", "anna-secret-1")
    return outlet_id, created["id"]


async def test_a_password_change_signs_the_cashier_out_at_once(services: Services) -> None:
    outlet_id, cashier_id = await _cashier(services)
    async with client(services) as http:
        signed = await sign_in_cashier(http, outlet_id, "anna", "anna-secret-1")
        assert signed.status_code == 303 and signed.headers["location"] == "/terminal"
        assert (await http.get("/terminal")).status_code == 200
        assert await services.web_sessions.sign_out_cashier(cashier_id) == 1
        after = await http.get("/terminal")
        assert after.status_code == 303
        assert after.headers["location"] == "/terminal/login?next=/terminal"


async def test_a_sixth_wrong_password_is_refused_without_checking_it(services: Services) -> None:
    outlet_id, _ = await _cashier(services)
    async with client(services) as http:
        for _ in range(5):
            wrong = await sign_in_cashier(http, outlet_id, "anna", "wrong-password")
            assert wrong.status_code == 401
            assert "the login or the password is wrong" in wrong.text
        refused = await sign_in_cashier(http, outlet_id, "anna", "anna-secret-1")
        assert refused.status_code == 429
        assert "too many wrong passwords" in refused.text
        assert (await http.get("/terminal")).status_code == 303  # not signed in


async def test_a_form_without_its_csrf_token_is_refused(services: Services) -> None:
    outlet_id, _ = await _cashier(services)
    async with client(services) as http:
        await http.get("/terminal/login")
        forged = await http.post(
            "/terminal/login", data={"outlet": str(outlet_id), "login": "anna", "password": "anna-secret-1"}
        )
        assert forged.status_code == 403
        assert "security token" in forged.text
        assert "coalition_terminal" not in forged.cookies


async def test_signing_out_needs_the_sessions_token_and_ends_it(services: Services) -> None:
    outlet_id, _ = await _cashier(services)
    async with client(services) as http:
        await sign_in_cashier(http, outlet_id, "anna", "anna-secret-1")
        home = await http.get("/terminal")
        forged = await http.post("/terminal/logout", data={"csrf_token": "guessed"})
        assert forged.status_code == 403
        assert (await http.get("/terminal")).status_code == 200
        out = await http.post("/terminal/logout", data={"csrf_token": csrf_token(home.text)})
        assert out.status_code == 303
        http.cookies.clear()
        assert (await http.get("/terminal")).status_code == 303


async def test_an_owner_is_not_an_administrator_and_a_cashier_has_no_console(services: Services) -> None:
    network = await make_network(services)
    listing = await services.admin.listing(network.ref)
    partner_id = listing["partners"][0]["id"]
    web = services.web_sessions
    await web.add_console_user(network.ref.id, "owner", partner_id, "owner", "Shop owner", "owner-secret-1")
    async with client(services) as http:
        signed = await sign_in_console(http, "shop", "owner", "owner-secret-1")
        assert signed.status_code == 303
        assert (await http.get("/console")).status_code == 200
        # the console's cookie is scoped to /console: the terminal sees no session
        assert (await http.get("/terminal")).status_code == 303


async def test_console_users_are_checked_before_they_are_stored(services: Services) -> None:
    network = await make_network(services)
    web = services.web_sessions
    with pytest.raises(Exception, match="an owner belongs to one partner"):
        await web.add_console_user(network.ref.id, "owner", None, "owner", "Owner", "owner-secret-1")
    with pytest.raises(Exception, match="no partner 999"):
        await web.add_console_user(network.ref.id, "owner", 999, "owner", "Owner", "owner-secret-1")
    await web.add_console_user(network.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    with pytest.raises(Exception, match="already has a console user 'admin'"):
        await web.add_console_user(network.ref.id, "administrator", None, "admin", "Admin 2", "admin-secret-2")


async def test_the_api_still_answers_problem_json_and_pages_answer_html(services: Services) -> None:
    async with client(services) as http:
        api = await http.get("/v1/no-such-thing")
        assert api.headers["content-type"] == "application/problem+json"
        page = await http.get("/console/no-such-page", headers={"Accept-Language": "ru"})
        assert page.status_code in (303, 404)
        assert isinstance(page, httpx.Response)


async def test_a_sign_in_clears_attempts_and_sessions_that_no_longer_count(services: Services) -> None:
    outlet_id, _ = await _cashier(services)
    long_ago = datetime.now(UTC) - timedelta(days=3)
    old, recent = scope_hash("cashier:1:someone@10.0.0.1"), scope_hash("cashier:1:someone@10.0.0.2")
    async with services.web_sessions.unit_of_work() as uow:
        await uow.count_attempt(old, long_ago, long_ago - timedelta(minutes=15))
        await uow.count_attempt(recent, datetime.now(UTC), datetime.now(UTC) - timedelta(minutes=15))
    async with client(services) as http:
        await sign_in_cashier(http, outlet_id, "anna", "anna-secret-1")  # the first session
        async with services.engine.begin() as connection:
            await connection.execute(text("UPDATE web_sessions SET expires_at = :t"), {"t": long_ago})
        await sign_in_cashier(http, outlet_id, "anna", "anna-secret-1")
    async with services.engine.connect() as connection:
        counters = set((await connection.execute(text("SELECT scope_hash FROM sign_in_counters"))).scalars())
        sessions = (await connection.execute(text("SELECT COUNT(*) FROM web_sessions"))).scalar_one()
    assert recent in counters and old not in counters  # the recent attempt still counts
    assert sessions == 1  # the new session stays
