"""The owner's daily e-mail warns of the partner's silent devices (issue 15), through a real SMTP server on both
engines: a device with no heartbeat for longer than its silence time when the report is written, with its last
heartbeat on its outlet's clock and its last error; a device that called in time, a deactivated one and another
partner's are not listed; a day without silent devices reads as before."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from coalition.settings import Settings
from coalition.wiring import build_services
from tests.http.test_daily_reports import SHOP_ADDRESS, _moscow
from tests.mail_support import Inbox, smtp
from tests.support import SettableClock, auth, client, make_network

pytestmark = pytest.mark.anyio
__all__ = ["smtp"]


async def _device(http, admin_key: str, partner_id: int, name: str, silent_after: int = 900) -> dict:
    body = {"partner_id": partner_id, "name": name, "kind": "arcade", "timezone": "Europe/Moscow",
            "price_list": {"per_use": "50.00"}, "silent_after_seconds": silent_after}  # fmt: skip
    made = await http.post("/v1/admin/devices", json=body, headers=auth(admin_key))
    assert made.status_code == 201, made.text
    return dict(made.json())


async def test_the_report_lists_the_partners_silent_devices(settings: Settings, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    clock = SettableClock(_moscow(10, 9))
    services = build_services(replace(settings, smtp_host="127.0.0.1", smtp_port=port), clock=clock)
    try:
        async with client(services) as http:
            net = await make_network(services)
            listing = await services.admin.listing(net.ref)
            shop, cafe = listing["partners"][0]["id"], listing["partners"][1]["id"]
            stored = await http.put(
                f"/v1/admin/partners/{shop}/email", json={"email": SHOP_ADDRESS}, headers=auth(net.admin_key)
            )
            assert stored.status_code == 200
            jobs = "/v1/admin/jobs/daily-reports"

            # no devices: the report reads as it did
            assert (await http.post(jobs, json={"day": "2026-03-09"}, headers=auth(net.admin_key))).status_code == 200
            assert "silent" not in inbox.to(SHOP_ADDRESS)[-1].get_body(("plain",)).get_content()

            arcade = await _device(http, net.admin_key, shop, "Arcade", silent_after=600)
            dispenser = await _device(http, net.admin_key, shop, "Dispenser", silent_after=600)
            await _device(http, net.admin_key, shop, "Never called", silent_after=600)
            retired = await _device(http, net.admin_key, shop, "Retired", silent_after=600)
            await _device(http, net.admin_key, cafe, "Cafe arcade", silent_after=600)  # the café's: not the shop's
            await http.post(f"/v1/admin/devices/{retired['id']}/revoke", headers=auth(net.admin_key))
            clock.moment = _moscow(10, 21, 30)
            beat = {"status": {}, "error": "coin jam"}
            assert (await http.post("/v1/devices/heartbeat", json=beat, headers=auth(arcade["key"]))).status_code == 200
            clock.moment = _moscow(10, 23, 50)
            await http.post("/v1/devices/heartbeat", json={"status": {}}, headers=auth(dispenser["key"]))
            clock.moment = _moscow(10, 23, 55)  # the dispenser called 5 minutes ago; the arcade 2 h 25 min ago

            sent = await http.post(jobs, json={"day": "2026-03-10"}, headers=auth(net.admin_key))
            assert sent.status_code == 200, sent.text
            text = inbox.to(SHOP_ADDRESS)[-1].get_body(("plain",)).get_content()
            section = text[text.index("Devices silent") :].splitlines()
            assert section == [
                "Devices silent for longer than 10 minutes",
                "  Arcade: last heartbeat Mar 10, 2026, 9:30:00\u202fPM, last error: coin jam",
                "  Never called: no heartbeat yet",
            ]

            # each device's own silence time beside it when they differ
            await http.patch(
                f"/v1/admin/devices/{dispenser['id']}", json={"silent_after_seconds": 90}, headers=auth(net.admin_key)
            )
            clock.moment += timedelta(minutes=2)
            await http.post(jobs, json={"day": "2026-03-10", "again": True}, headers=auth(net.admin_key))
            text = inbox.to(SHOP_ADDRESS)[-1].get_body(("plain",)).get_content()
            section = text[text.index("Devices silent") :].splitlines()
            assert section[0] == "Devices silent for longer than their silence time"
            assert "  Dispenser: last heartbeat Mar 10, 2026, 11:50:00\u202fPM (silent after 2 minutes)" in section
            assert len(section) == 4
    finally:
        await services.close()
