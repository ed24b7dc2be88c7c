"""Control characters in the sign-in forms and the registration form (issue 12, hole 3): the form comes back with
the message and what was typed, answered 422 on both engines (PostgreSQL answered a bare 500, unauthenticated)."""

from __future__ import annotations

import dataclasses

import pytest

from coalition.settings import Settings
from coalition.wiring import build_services
from tests.support import client, make_network
from tests.web.support import csrf_token, sign_in_console

pytestmark = pytest.mark.anyio

MESSAGE = "control characters (such as NUL) are not allowed"
SIGN_IN_FORMS = [
    ("/terminal/login", "/terminal/login", {"outlet": "1", "login": "anna", "password": "secret-1"}),
    ("/console/login", "/console/login", {"network": "shop", "login": "admin", "password": "secret-1"}),
    ("/me/login", "/me/login", {"network": "shop", "card": "5000-0001", "pin": "1234", "method": "pin"}),
    ("/me/login", "/me/login", {"network": "shop", "card": "5000-0001", "method": "code"}),
    ("/me/login", "/me/login/code", {"network": "shop", "card": "5000-0001", "code": "123456"}),
]
CASES = [
    (page, action, fields, name)
    for page, action, fields in SIGN_IN_FORMS
    for name in fields
    if name not in ("method", "password", "pin", "code")
] + [
    (page, action, fields, secret)
    for page, action, fields in SIGN_IN_FORMS
    for secret in ("password", "pin", "code")
    if secret in fields
]


@pytest.mark.parametrize(("page", "action", "fields", "name"), CASES, ids=[f"{case[1]}-{case[3]}" for case in CASES])
async def test_a_sign_in_form_with_a_nul_comes_back_with_the_message(services, page, action, fields, name):
    await make_network(services)
    async with client(services) as http:
        form = await http.get(page)
        sent = {**fields, name: f"{fields[name]}\x00x", "csrf_token": csrf_token(form.text)}
        response = await http.post(action, data=sent)
        assert response.status_code == 422, response.text
        assert MESSAGE in response.text
        assert csrf_token(response.text)  # the form again, ready to be sent once more
        assert "set-cookie" not in response.headers or "session" not in response.headers["set-cookie"]


async def test_the_registration_form_with_a_nul_comes_back_with_the_message(settings: Settings):
    services = build_services(dataclasses.replace(settings, open_registration=True))
    fields = {
        "shop_name": "Pine Bakery",
        "network_code": "pine-bakery",
        "currency": "EUR",
        "timezone": "Europe/Riga",
        "owner_name": "Liga",
        "owner_login": "liga",
        "owner_password": "liga-secret-1",
        "cashier_login": "toms",
        "cashier_password": "toms-secret-1",
    }
    try:
        async with client(services) as http:
            for name in fields:
                page = await http.get("/console/register")
                sent = {**fields, name: fields[name] + "\x00", "csrf_token": csrf_token(page.text)}
                response = await http.post("/console/register", data=sent)
                assert response.status_code == 422, (name, response.text)
                assert MESSAGE in response.text
                assert 'name="shop_name"' in response.text
    finally:
        await services.close()


async def test_other_forms_and_page_parameters_with_a_nul_are_a_422_page(services):
    await make_network(services)
    async with client(services) as http:
        found = await http.get("/console/login?next=%00")
        assert found.status_code == 422
        assert MESSAGE in found.text


async def test_huge_numbers_in_page_paths_are_a_404_page_and_in_queries_a_422_page(services):
    """A record number beyond 64 bits names nothing (404, as an unknown one); a query's number is refused (422).
    Both were a 500: the database driver cannot take them."""
    network = await make_network(services)
    await services.web_sessions.add_console_user(
        network.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1"
    )
    async with client(services) as http:
        assert (await sign_in_console(http, "shop", "admin", "admin-secret-1")).status_code == 303
        huge = "99999999999999999999"
        for path, status in (
            (f"/console/members/{huge}", 404),
            (f"/console/members/-{huge}", 404),
            (f"/console/members/1?lines={huge}", 422),
            (f"/console/members/1?lines=-{huge}", 422),
        ):
            response = await http.get(path)
            assert response.status_code == status, (path, response.status_code, response.text[:300])
            assert "text/html" in response.headers["content-type"]
        token = csrf_token((await http.get("/console/partners")).text)
        posted = await http.post(f"/console/users/{huge}/block", data={"csrf_token": token})
        assert posted.status_code == 404, posted.text[:300]
