"""Guessing passwords, console passwords and member PINs on both engines, through the sign-in pages.

Attempts are counted before the slow password check, atomically, so many guesses sent at once are checked no more
than the limit allows. Limits are per account and address together: a cashier at their own till still signs in while
someone sprays their account from elsewhere.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace

import httpx
import pytest
import uvicorn

from coalition.adapters.http.app import create_app
from coalition.adapters.http.server import uvicorn_config
from coalition.settings import Settings
from coalition.wiring import Services, build_services
from tests.support import auth, make_network, new_key
from tests.web.support import csrf_token, sign_in_cashier, sign_in_console

pytestmark = pytest.mark.anyio

ATTACKER, TILL, ELSEWHERE = "203.0.113.66", "198.51.100.10", "192.0.2.44"
PARALLEL = 40


def client_at(services: Services, address: str) -> httpx.AsyncClient:
    """A browser at `address` (the immediate peer the server sees)."""
    transport = httpx.ASGITransport(app=create_app(services=services), client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def _cashier(services: Services) -> int:
    network = await make_network(services)
    outlet_id = (await services.admin.listing(network.ref))["outlets"][0]["id"]
    await services.admin.create_cashier(network.ref, outlet_id, "anna", "Anna", "anna-secret-1")
    return outlet_id


async def _post_form(http: httpx.AsyncClient, path: str, fields: dict[str, str]) -> httpx.Response:
    """One sign-in form sent with its own CSRF token (fetched first, as a browser would)."""
    page = await http.get(path)
    return await http.post(path, data={**fields, "csrf_token": csrf_token(page.text)})


def _statuses(answers: list[httpx.Response]) -> dict[int, int]:
    counted: dict[int, int] = {}
    for answer in answers:
        counted[answer.status_code] = counted.get(answer.status_code, 0) + 1
    return counted


async def test_forty_wrong_passwords_at_once_are_checked_at_most_five_times(services: Services) -> None:
    outlet_id = await _cashier(services)
    async with client_at(services, ATTACKER) as http:
        wrong = {"outlet": str(outlet_id), "login": "anna", "password": "wrong-password"}
        answers = await asyncio.gather(*(_post_form(http, "/terminal/login", wrong) for _ in range(PARALLEL)))
        statuses = _statuses(list(answers))
        assert statuses == {401: 5, 429: PARALLEL - 5}, statuses
        # the limit is reached: the right password from the same address is refused without being checked
        right = await sign_in_cashier(http, outlet_id, "anna", "anna-secret-1")
        assert right.status_code == 429 and "too many wrong passwords" in right.text
        assert right.headers["retry-after"].isdigit() and 0 < int(right.headers["retry-after"]) <= 15 * 60


async def test_a_right_password_sent_once_the_limit_is_reached_does_not_get_in(services: Services) -> None:
    outlet_id = await _cashier(services)
    async with client_at(services, ATTACKER) as http:
        wrong = {"outlet": str(outlet_id), "login": "anna", "password": "wrong-password"}
        first_five = asyncio.Event()
        done: list[httpx.Response] = []

        async def guess() -> httpx.Response:
            answer = await _post_form(http, "/terminal/login", wrong)
            done.append(answer)
            if len(done) >= 5:
                first_five.set()
            return answer

        async def right_one_late() -> httpx.Response:
            await first_five.wait()  # five answers are back, many guesses still in flight
            return await sign_in_cashier(http, outlet_id, "anna", "anna-secret-1")

        *guesses, right = await asyncio.gather(*(guess() for _ in range(PARALLEL)), right_one_late())
        assert _statuses(guesses)[401] <= 5
        assert right.status_code == 429
        assert (await http.get("/terminal")).status_code == 303  # not signed in


async def test_forty_wrong_console_passwords_at_once_are_checked_at_most_five_times(services: Services) -> None:
    network = await make_network(services)
    await services.web_sessions.add_console_user(network.ref.id, "administrator", None, "boss", "Boss", "boss-secret-1")
    async with client_at(services, ATTACKER) as http:
        wrong = {"network": "shop", "login": "boss", "password": "wrong-password"}
        answers = await asyncio.gather(*(_post_form(http, "/console/login", wrong) for _ in range(PARALLEL)))
        assert _statuses(list(answers)) == {401: 5, 429: PARALLEL - 5}
        assert (await sign_in_console(http, "shop", "boss", "boss-secret-1")).status_code == 429


async def test_forty_wrong_pins_at_once_are_checked_at_most_five_times(services: Services) -> None:
    network = await make_network(services)
    async with client_at(services, TILL) as http:
        body = {
            "kind": "personal",
            "card_number": "5600-0001",
            "profile": {"name": "Pin", "consent_data_processing": True},
        }
        enrolled = await http.post("/v1/members", json=body, headers=auth(network.shop_key, new_key()))
        assert enrolled.status_code == 201, enrolled.text
        await services.member_page.set_pin(enrolled.json()["member"]["id"], "2580", "2580")
    async with client_at(services, ATTACKER) as http:
        wrong = {"card": "5600-0001", "pin": "1111", "method": "pin"}
        answers = await asyncio.gather(*(_post_form(http, "/me/login", wrong) for _ in range(PARALLEL)))
        assert _statuses(list(answers)) == {401: 5, 429: PARALLEL - 5}
        right = await _post_form(http, "/me/login", {"card": "5600-0001", "pin": "2580", "method": "pin"})
        assert right.status_code == 429


async def test_a_cashier_at_their_till_signs_in_while_their_account_is_sprayed_from_one_address(
    services: Services,
) -> None:
    outlet_id = await _cashier(services)
    async with client_at(services, ATTACKER) as attacker:
        for _ in range(12):
            await sign_in_cashier(attacker, outlet_id, "anna", "wrong-password")
        assert (await sign_in_cashier(attacker, outlet_id, "anna", "wrong-password")).status_code == 429
    async with client_at(services, TILL) as till:
        signed = await sign_in_cashier(till, outlet_id, "anna", "anna-secret-1")
        assert signed.status_code == 303 and signed.headers["location"] == "/terminal", signed.text


async def test_spraying_one_account_from_many_addresses_stops_but_not_the_cashiers_usual_till(
    services: Services,
) -> None:
    outlet_id = await _cashier(services)
    async with client_at(services, TILL) as till:
        assert (await sign_in_cashier(till, outlet_id, "anna", "anna-secret-1")).status_code == 303
    answers = []
    for n in range(30):  # a botnet: one or two guesses from each of 30 addresses
        async with client_at(services, f"10.9.{n}.1") as bot:
            answers.append(await sign_in_cashier(bot, outlet_id, "anna", "wrong-password"))
    assert _statuses(answers) == {401: 20, 429: 10}  # the account's limit from unknown addresses
    async with client_at(services, ELSEWHERE) as stranger:
        refused = await sign_in_cashier(stranger, outlet_id, "anna", "anna-secret-1")
        assert refused.status_code == 429  # a new address is not trusted while the account is sprayed
    async with client_at(services, TILL) as till:
        till.cookies.clear()
        signed = await sign_in_cashier(till, outlet_id, "anna", "anna-secret-1")
        assert signed.status_code == 303, signed.text  # the till where she signed in before still works


async def test_one_address_guessing_many_accounts_at_once_is_stopped(services: Services) -> None:
    outlet_id = await _cashier(services)
    async with client_at(services, ATTACKER) as http:
        answers = await asyncio.gather(
            *(
                _post_form(http, "/terminal/login", {"outlet": str(outlet_id), "login": f"user{n}", "password": "x"})
                for n in range(PARALLEL)
            )
        )
        assert _statuses(list(answers)) == {401: 30, 429: PARALLEL - 30}
        assert "too many failed sign-ins from this address" in answers[-1].text or any(
            "too many failed sign-ins from this address" in answer.text for answer in answers
        )


async def test_x_forwarded_for_is_ignored_without_a_named_proxy(services: Services) -> None:
    outlet_id = await _cashier(services)
    async with client_at(services, ATTACKER) as http:
        answers = []
        for n in range(31):  # each guess claims another address: they all come from the same peer
            page = await http.get("/terminal/login")
            fields = {
                "outlet": str(outlet_id),
                "login": f"user{n}",
                "password": "x",
                "csrf_token": csrf_token(page.text),
            }
            answers.append(await http.post("/terminal/login", data=fields, headers={"X-Forwarded-For": f"10.1.1.{n}"}))
        assert _statuses(answers) == {401: 30, 429: 1}


async def test_x_forwarded_for_is_honoured_from_a_named_proxy(settings: Settings) -> None:
    proxied = build_services(replace(settings, trusted_proxies=("127.0.0.0/8", "10.0.0.1")))
    try:
        outlet_id = await _cashier(proxied)
        async with client_at(proxied, "127.0.0.1") as proxy:

            async def through_proxy(forwarded_for: str, password: str) -> httpx.Response:
                page = await proxy.get("/terminal/login", headers={"X-Forwarded-For": forwarded_for})
                fields = {"outlet": str(outlet_id), "login": "anna", "password": password}
                return await proxy.post(
                    "/terminal/login",
                    data={**fields, "csrf_token": csrf_token(page.text)},
                    headers={"X-Forwarded-For": forwarded_for},
                )

            # the attacker's own claim (the left part) is not believed: the right-most address not a proxy counts
            for n in range(6):
                await through_proxy(f"192.0.2.{n}, {ATTACKER}, 10.0.0.1", "wrong-password")
            assert (await through_proxy(f"{ATTACKER}", "wrong-password")).status_code == 429
            proxy.cookies.clear()
            signed = await through_proxy(f"{ATTACKER}, {TILL}", "anna-secret-1")
            assert signed.status_code == 303, signed.text
    finally:
        await proxied.close()


async def test_the_server_leaves_x_forwarded_for_to_the_application(services: Services, settings: Settings) -> None:
    """uvicorn believes X-Forwarded-For from 127.0.0.1 unless told not to; `coalition serve` tells it."""
    outlet_id = await _cashier(services)
    # the server builds its own services in its own thread's event loop (a database connection keeps to one loop)
    server = uvicorn.Server(uvicorn_config(create_app(settings), host="127.0.0.1", port=0, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            answers = []
            for n in range(6):  # six guesses, each claiming another address: one peer, so the sixth is refused
                page = await http.get("/terminal/login")
                fields = {
                    "outlet": str(outlet_id),
                    "login": "anna",
                    "password": "x",
                    "csrf_token": csrf_token(page.text),
                }
                headers = {"X-Forwarded-For": f"10.2.2.{n}"}
                answers.append(await http.post("/terminal/login", data=fields, headers=headers))
        assert _statuses(answers) == {401: 5, 429: 1}
    finally:
        server.should_exit = True
        thread.join(timeout=10)
