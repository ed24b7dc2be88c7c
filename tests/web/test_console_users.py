"""Console logins created through the admin API and the CLI, then used to sign in (both engines)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from coalition.adapters.cli.main import app as cli
from coalition.wiring import Services
from tests.support import assert_problem, auth, client, make_network
from tests.web.support import sign_in_console

pytestmark = pytest.mark.anyio


async def test_the_administrator_creates_an_owner_login_that_signs_in_to_the_console(services: Services) -> None:
    network = await make_network(services)
    partner_id = (await services.admin.listing(network.ref))["partners"][0]["id"]
    async with client(services) as http:
        body = {"role": "owner", "partner_id": partner_id, "login": "olga", "name": "Olga", "password": "olga-secret"}
        created = await http.post("/v1/admin/console-users", json=body, headers=auth(network.admin_key))
        assert created.status_code == 201
        assert created.json() == {
            "id": created.json()["id"],
            "role": "owner",
            "partner_id": partner_id,
            "login": "olga",
            "name": "Olga",
        }
        again = await http.post("/v1/admin/console-users", json=body, headers=auth(network.admin_key))
        assert_problem(again, 409, "conflict", "login")
        orphan = await http.post(
            "/v1/admin/console-users",
            json={**body, "login": "ivan", "partner_id": None},
            headers=auth(network.admin_key),
        )
        assert_problem(orphan, 422, "invalid-input", "partner_id")
        short = await http.post(
            "/v1/admin/console-users",
            json={**body, "login": "ivan", "password": "123"},
            headers=auth(network.admin_key),
        )
        assert_problem(short, 422, "invalid-input", "password")
        signed = await sign_in_console(http, "shop", "olga", "olga-secret")
        assert signed.status_code == 303 and signed.headers["location"] == "/console"
        assert "Olga" in (await http.get("/console")).text


def test_the_cli_creates_an_administrator_login(database_url: str) -> None:
    runner = CliRunner()
    created = runner.invoke(
        cli, ["network", "create", "cafe", "Cafe", "--database-url", database_url], catch_exceptions=False
    )
    assert created.exit_code == 0, created.output
    added = runner.invoke(
        cli,
        [
            "network",
            "console-user",
            "cafe",
            "boss",
            "The Boss",
            "--role",
            "administrator",
            "--database-url",
            database_url,
        ],
        input="boss-secret-1\nboss-secret-1\n",
        catch_exceptions=False,
    )
    assert added.exit_code == 0, added.output
    assert '"role": "administrator"' in added.output
    refused = runner.invoke(
        cli,
        ["network", "console-user", "cafe", "boss", "Again", "--role", "administrator", "--database-url", database_url],
        input="boss-secret-1\nboss-secret-1\n",
    )
    assert refused.exit_code != 0
