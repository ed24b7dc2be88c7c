"""The console's devices over HTTP on both engines (issue 15): the administrator registers a device through the form
(its key shown once, on the page that answers), edits its prices and hours (a slot a line, a day's hours as text),
and deactivates it; an error names the form's field; an owner sees and edits only their partner's devices."""

from __future__ import annotations

import re

import pytest

from coalition.application.devices_admin import DeviceRegistration
from coalition.wiring import Services
from tests.support import auth, client, make_network
from tests.web.support import csrf_token, sign_in_console

pytestmark = pytest.mark.anyio

REGISTER = {
    "name": "Snack machine",
    "kind": "vending",
    "timezone": "Europe/Moscow",
    "slots": "A1; Water 0.5 l; 120,00\nB2; Chips; 95.50\n",
    "hours_mon": "08:00-13:00, 14:00-22:00",
    "hold_ttl_seconds": "300",
    "offline_limit": "0",
    "silent_after_seconds": "900",
}


async def _network(services: Services) -> tuple[int, int]:
    net = await make_network(services)
    listing = await services.admin.listing(net.ref)
    shop, cafe = listing["partners"][0]["id"], listing["partners"][1]["id"]
    await services.web_sessions.add_console_user(net.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    await services.web_sessions.add_console_user(net.ref.id, "owner", cafe, "cafe", "Cafe owner", "cafe-secret-1")
    return shop, cafe


async def test_the_administrator_registers_edits_and_deactivates_a_device(services: Services) -> None:
    shop, cafe = await _network(services)
    async with client(services) as http:
        assert (await sign_in_console(http, "shop", "admin", "admin-secret-1")).status_code == 303
        page = await http.get("/console/devices")
        assert page.status_code == 200 and "No devices yet." in page.text
        token = csrf_token(page.text)

        refused = await http.post("/console/devices", data=REGISTER | {"partner": str(cafe), "hours_tue": "22-02",
                                                                       "csrf_token": token})  # fmt: skip
        assert refused.status_code == 422
        assert (
            'id="hours_tue" name="hours_tue"' in refused.text and 'aria-describedby="hours_tue-error"' in refused.text
        )
        assert 'value="Snack machine"' in refused.text  # what was typed stays

        bad_price = REGISTER | {"partner": str(cafe), "slots": "A1; Water; 0", "csrf_token": token}
        refused = await http.post("/console/devices", data=bad_price)
        assert refused.status_code == 422 and 'aria-describedby="slots-error"' in refused.text

        made = await http.post("/console/devices", data=REGISTER | {"partner": str(cafe), "csrf_token": token})
        assert made.status_code == 201, made.text
        key = re.search(r'id="new-key" class="key" readonly value="([^"]+)"', made.text)
        assert key is not None and key.group(1).startswith("dev_")
        assert "Snack machine" in made.text and "silent" in made.text
        me = await http.get("/v1/devices/me", headers=auth(key.group(1)))
        assert me.json()["price_list"]["slots"]["A1"] == {"name": "Water 0.5 l", "price": "120.00"}
        assert me.json()["opening_hours"] == {"mon": [["08:00", "13:00"], ["14:00", "22:00"]]}
        device_id = me.json()["id"]
        assert key.group(1) not in (await http.get("/console/devices")).text  # shown once

        one = await http.get(f"/console/devices/{device_id}")
        assert one.status_code == 200
        assert "A1; Water 0.5 l; 120.00" in one.text and 'value="08:00-13:00, 14:00-22:00"' in one.text
        edit = {
            "kind": "vending",
            "per_use": "",
            "slots": "A1; Water 0.5 l; 100.00",
            "always_open": "1",
            "hold_ttl_seconds": "120",
            "offline_limit": "50.00",
            "silent_after_seconds": "600",
            "csrf_token": token,
        }
        saved = await http.post(f"/console/devices/{device_id}", data=edit)
        assert saved.status_code == 303 and saved.headers["location"].endswith("done=changed")
        me = (await http.get("/v1/devices/me", headers=auth(key.group(1)))).json()
        assert me["price_list"]["slots"] == {"A1": {"name": "Water 0.5 l", "price": "100.00"}}
        assert me["opening_hours"] is None and me["hold_ttl_seconds"] == 120 and me["offline_limit"] == "50.00"
        wrong = await http.post(f"/console/devices/{device_id}", data=edit | {"hold_ttl_seconds": "0"})
        assert wrong.status_code == 422 and 'aria-describedby="hold_ttl_seconds-error"' in wrong.text

        revoked = await http.post(f"/console/devices/{device_id}/revoke", data={"csrf_token": token})
        assert revoked.status_code == 303
        assert (await http.get("/v1/devices/me", headers=auth(key.group(1)))).status_code == 401
        assert "deactivated" in (await http.get("/console/devices")).text
        assert shop  # the shop has no devices


async def test_an_owner_sees_and_edits_only_their_partners_devices(services: Services) -> None:
    shop, cafe = await _network(services)
    net = await services.admin.network("shop")
    cafe_device = await services.device_admin.register(
        net, DeviceRegistration(cafe, "Cafe dispenser", "dispenser", price_list={"per_use": "10.00"})
    )
    shop_device = await services.device_admin.register(
        net, DeviceRegistration(shop, "Shop arcade", "arcade", price_list={"per_use": "20.00"})
    )
    async with client(services) as http:
        assert (await sign_in_console(http, "shop", "cafe", "cafe-secret-1")).status_code == 303
        page = await http.get("/console/devices")
        assert "Cafe dispenser" in page.text and "Shop arcade" not in page.text
        assert "Register a device" not in page.text
        token = csrf_token(page.text)
        assert (await http.get(f"/console/devices/{shop_device['id']}")).status_code == 404
        edit = {"kind": "dispenser", "per_use": "12.00", "hold_ttl_seconds": "300", "offline_limit": "0",
                "silent_after_seconds": "900", "always_open": "1", "csrf_token": token}  # fmt: skip
        assert (await http.post(f"/console/devices/{shop_device['id']}", data=edit)).status_code == 404
        saved = await http.post(f"/console/devices/{cafe_device['id']}", data=edit)
        assert saved.status_code == 303
        shown = await services.device_admin.show(net, cafe_device["id"])
        assert shown.record.price_list.per_use_minor == 1200
        revoke = await http.post(f"/console/devices/{cafe_device['id']}/revoke", data={"csrf_token": token})
        assert revoke.status_code == 403
