"""Members and cards in the console over HTTP on both engines: search by identifier and by name, a member's page,
block, unblock, report lost and replace a card, and nothing of another network within reach."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from coalition.adapters.web import formatting
from coalition.application.admin import NetworkRef, ProgramSettings
from coalition.domain.bonus import Tier
from coalition.wiring import Services
from tests.http.test_gifts import _network_with_gift_rules
from tests.http.water_park import DAY_START, park
from tests.http.water_park import buy as park_buy
from tests.support import Network, auth, buy, client, enrol, make_network
from tests.web.support import csrf_token, sign_in_console

pytestmark = pytest.mark.anyio
__all__ = ["park"]  # the water park on a clock the test moves (a fixture)


async def _network(services: Services) -> Network:
    network = await make_network(services)
    await services.web_sessions.add_console_user(
        network.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1"
    )
    return network


async def _admin(http: httpx.AsyncClient) -> str:
    assert (await sign_in_console(http, "shop", "admin", "admin-secret-1")).status_code == 303
    return csrf_token((await http.get("/console/partners")).text)


def _balance(page: str) -> int:
    found = re.search(r'id="points-balance">([^<]+)<', page)
    assert found is not None, "the member's page shows no balance"
    return int(re.sub(r"\D", "", found.group(1)))


async def test_search_by_phone_card_or_name_opens_the_members_page(services: Services) -> None:
    network = await _network(services)
    async with client(services) as http:
        member = await enrol(http, network.shop_key, "6000-0001", phone="+79125550101")
        member_id = member["member"]["id"]
        assert (await buy(http, network.shop_key, "6000-0001", "1000.00")).status_code == 201
        await _admin(http)
        for typed in ("+7 912 555-01-01", "6000-0001", "+79125550101"):
            found = await http.get("/console/members", params={"q": typed})
            assert found.status_code == 303 and found.headers["location"] == f"/console/members/{member_id}", typed
        page = await http.get(f"/console/members/{member_id}")
        assert page.status_code == 200
        assert _balance(page.text) == 30  # 3 % of 1000.00 at one rouble per point
        assert "60000001" in page.text and "+79125550101" in page.text and "Test Member" in page.text
        await enrol(http, network.shop_key, "6000-0002")
        by_name = await http.get("/console/members", params={"q": "test mem"})
        assert by_name.status_code == 200 and by_name.text.count('href="/console/members/') == 2
        nobody = await http.get("/console/members", params={"q": "9999-9999"})
        assert nobody.status_code == 200 and "No member of this network matches" in nobody.text


async def test_members_of_another_network_are_not_found(services: Services) -> None:
    network = await _network(services)
    other = await make_network(services, "other")
    async with client(services) as http:
        stranger = await enrol(http, other.shop_key, "6000-0003", phone="+79125550103")
        await _admin(http)
        found = await http.get("/console/members", params={"q": "6000-0003"})
        assert found.status_code == 200 and "No member of this network matches" in found.text
        assert (await http.get("/console/members", params={"q": "Test"})).text.count('href="/console/members/') == 0
        page = await http.get(f"/console/members/{stranger['member']['id']}")
        assert page.status_code == 404 and "this network has no member" in page.text
        assert network.ref.id != other.ref.id


async def test_a_blocked_card_is_refused_at_the_till_and_unblocked_works_again(services: Services) -> None:
    network = await _network(services)
    async with client(services) as http:
        member_id = (await enrol(http, network.shop_key, "6000-0004"))["member"]["id"]
        token = await _admin(http)
        path = f"/console/members/{member_id}/cards"
        blocked = await http.post(path, data={"number": "6000-0004", "action": "block", "csrf_token": token})
        assert blocked.headers["location"] == f"/console/members/{member_id}?done=block"
        page = await http.get(blocked.headers["location"])
        assert "The card was blocked" in page.text and "state-blocked" in page.text
        refused = await buy(http, network.shop_key, "6000-0004", "100.00")
        assert refused.status_code == 409 and "it is blocked" in refused.json()["detail"]
        twice = await http.post(path, data={"number": "6000-0004", "action": "block", "csrf_token": token})
        assert twice.status_code == 409 and "cannot be asked to block" in twice.text
        unknown = await http.post(path, data={"number": "6000-0004", "action": "shred", "csrf_token": token})
        assert unknown.status_code == 422 and "is not a card action" in unknown.text
        await http.post(path, data={"number": "6000-0004", "action": "unblock", "csrf_token": token})
        assert (await buy(http, network.shop_key, "6000-0004", "100.00")).status_code == 201


async def test_a_lost_card_replaced_keeps_the_balance_and_history_on_the_new_card(services: Services) -> None:
    network = await _network(services)
    async with client(services) as http:
        member_id = (await enrol(http, network.shop_key, "6000-0005"))["member"]["id"]
        await enrol(http, network.shop_key, "6000-0006")
        assert (await buy(http, network.shop_key, "6000-0005", "2000.00")).status_code == 201
        token = await _admin(http)
        path = f"/console/members/{member_id}/cards"
        lost = await http.post(path, data={"number": "6000-0005", "action": "report-lost", "csrf_token": token})
        assert lost.status_code == 303
        no_number = await http.post(path, data={"number": "6000-0005", "action": "replace", "csrf_token": token})
        assert no_number.status_code == 422 and "needs the new card" in no_number.text
        taken = await http.post(
            path, data={"number": "6000-0005", "action": "replace", "new_number": "6000-0006", "csrf_token": token}
        )
        assert taken.status_code == 409 and "belongs to a card or member already" in taken.text
        replaced = await http.post(
            path, data={"number": "6000-0005", "action": "replace", "new_number": "6000-0015", "csrf_token": token}
        )
        assert replaced.headers["location"] == f"/console/members/{member_id}?done=replace"
        page = await http.get(replaced.headers["location"])
        assert _balance(page.text) == 60 and "60000015" in page.text and "state-replaced" in page.text
        summary = await http.get("/v1/members/6000-0015", headers=auth(network.shop_key))
        assert summary.json()["points_balance"] == 60 and summary.json()["member"]["id"] == member_id
        assert (await buy(http, network.shop_key, "6000-0005", "100.00")).status_code == 409
        assert (await buy(http, network.shop_key, "6000-0015", "100.00")).status_code == 201


async def test_the_statement_shows_the_latest_lines_and_more_on_request(services: Services) -> None:
    network = await _network(services)
    async with client(services) as http:
        member_id = (await enrol(http, network.shop_key, "6000-0007"))["member"]["id"]
        for _ in range(3):
            assert (await buy(http, network.shop_key, "6000-0007", "100.00")).status_code == 201
        await _admin(http)
        short = await http.get(f"/console/members/{member_id}", params={"lines": 2})
        assert "The latest 2 transactions" in short.text and f"/console/members/{member_id}?lines=52" in short.text
        full = await http.get(f"/console/members/{member_id}", params={"lines": 50})
        assert "The latest 3 transactions" in full.text and "Show older transactions" not in full.text


async def test_the_members_page_reads_in_russian(services: Services) -> None:
    network = await _network(services)
    async with client(services) as http:
        member_id = (await enrol(http, network.shop_key, "6000-0008"))["member"]["id"]
        token = await _admin(http)
        await http.post(
            f"/console/members/{member_id}/cards", data={"number": "6000-0008", "action": "block", "csrf_token": token}
        )
        page = await http.get(f"/console/members/{member_id}?done=block", headers={"Accept-Language": "ru"})
        assert page.headers["content-language"] == "ru"
        for text in (
            "Баланс баллов",
            "Заблокирована",
            "Карта заблокирована",
            "Выписка по баллам",
            "Разблокировать 60000008",
        ):
            assert text in page.text, text


async def test_the_members_page_lists_points_about_to_expire_and_gifts_to_hand_over(park: Any) -> None:
    services, clock = park
    clock.moment = DAY_START
    async with client(services) as http:
        _admin_key, keys, _ = await _network_with_gift_rules(services, http)
        network = await services.admin.network("park")
        await services.web_sessions.add_console_user(
            network.id, "administrator", None, "admin", "Admin", "admin-secret-1"
        )
        member_id = (await enrol(http, keys["Tickets"], "8800-0101"))["member"]["id"]
        await park_buy(http, keys["Tickets"], "8800-0101", "2000.00")  # 200 points and a free photo
        expiring = await create_expiring_network(services)
        expiring_member = (await enrol(http, expiring, "8800-0202"))["member"]["id"]
        assert (await buy(http, expiring, "8800-0202", "1000.00")).status_code == 201  # 30 points for 30 days
        assert (await sign_in_console(http, "park", "admin", "admin-secret-1")).status_code == 303
        page = (await http.get(f"/console/members/{member_id}")).text
        assert "A free photo" in page and "valid until" in page and _balance(page) == 200
        assert "No points expire" in page
        http.cookies.clear()
        assert (await sign_in_console(http, "expiring", "admin", "admin-secret-1")).status_code == 303
        page = (await http.get(f"/console/members/{expiring_member}")).text
        expiry = "Jul 31, 2026"  # 30 days after the park clock's July 1st
        section = page.split('id="expiry-heading"')[1].split("</section>")[0]
        assert expiry in section and '<td class="num">30</td>' in section, section
        # times in the network's own zone (its outlet is in Moscow), said in the headings, not UTC
        assert "Expires (Europe/Moscow)" in section and "When (Europe/Moscow)" in page
        assert f'<th scope="row">{formatting.moment(DAY_START, "Europe/Moscow", "en")}</th>' in page
        assert "9:00:00" in formatting.moment(DAY_START, "Europe/Moscow", "en")  # 06:00 UTC


async def create_expiring_network(services: Services) -> str:
    """A network whose program's points live 30 days, with one terminal; its key."""
    program = ProgramSettings(code="bonus", name="Points", tiers=(Tier(0, 300, 0, 1500),), points_expire_days=30)
    created = await services.admin.create_network("expiring", "Expiring points", "RUB", program)
    ref = NetworkRef(created["id"], "expiring", created["name"], "RUB")
    partner = await services.admin.create_partner(ref, "Shop")
    outlet = await services.admin.create_outlet(ref, partner["id"], "Shop till", "Europe/Moscow")
    await services.web_sessions.add_console_user(ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    return str((await services.admin.create_terminal(ref, outlet["id"], "POS"))["key"])


async def test_search_by_an_nfc_uid_or_a_scanned_barcode(services: Services) -> None:
    network = await _network(services)
    body = {
        "kind": "anonymous",
        "identifiers": [{"kind": "nfc", "value": "04:A2:2B:9C"}, {"kind": "barcode", "value": "QR-7731-XYZ"}],
    }
    async with client(services) as http:
        enrolled = await http.post("/v1/members", json=body, headers=auth(network.shop_key, "enrol-tags"))
        assert enrolled.status_code == 201, enrolled.text
        member_id = enrolled.json()["member"]["id"]
        await _admin(http)
        for typed in ("04a22b9c", "04:A2:2B:9C", "QR-7731-XYZ"):
            found = await http.get("/console/members", params={"q": typed})
            assert found.headers.get("location") == f"/console/members/{member_id}", typed
        page = await http.get(f"/console/members/{member_id}")
        assert "Anonymous member" in page.text and "No card: the member is found by another identifier." in page.text


async def test_the_statement_shows_the_points_a_purchase_earned_and_spent(services: Services) -> None:
    network = await _network(services)
    async with client(services) as http:
        member_id = (await enrol(http, network.shop_key, "6000-0009"))["member"]["id"]
        assert (await buy(http, network.shop_key, "6000-0009", "5000.00")).status_code == 201  # 150 points
        spent = await buy(http, network.shop_key, "6000-0009", "2000.00", redeem=100)  # earns 57, spends 100
        assert spent.status_code == 201, spent.text
        await _admin(http)
        page = (await http.get(f"/console/members/{member_id}")).text
        section = page.split('id="statement-heading"')[1].split("</section>")[0]
        rows = [re.findall(r'<td class="num">([^<]*)</td>', row) for row in section.split("<tr>")[2:]]
        assert rows[0] == ["+57", "−100", "107"], rows  # newest first: earned, spent, balance after; not -43
        assert rows[1] == ["+150", "", "150"], rows


async def test_without_a_search_the_page_lists_the_newest_members_fifty_at_a_time(services: Services) -> None:
    network = await _network(services)
    other = await make_network(services, "other")
    async with client(services) as http:
        await _admin(http)
        empty = await http.get("/console/members")
        assert empty.status_code == 200 and "No member has enrolled yet." in empty.text
        ids = [(await enrol(http, network.shop_key, f"6300-{n:04d}"))["member"]["id"] for n in range(1, 53)]
        await enrol(http, other.shop_key, "6399-0001")
        first = await http.get("/console/members")
        shown = [int(found) for found in re.findall(r'href="/console/members/(\d+)"', first.text)]
        assert shown == list(reversed(ids))[:50]  # newest first; the other network's member is not there
        older = re.search(r'href="/console/members\?cursor=([^"]+)"', first.text)
        assert older is not None and "Older members" in first.text
        second = await http.get(f"/console/members?cursor={older.group(1)}")
        assert [int(found) for found in re.findall(r'href="/console/members/(\d+)"', second.text)] == ids[1::-1]
        assert "?cursor=" not in second.text
        garbled = await http.get("/console/members", params={"cursor": "garbled"})
        assert garbled.status_code == 422
