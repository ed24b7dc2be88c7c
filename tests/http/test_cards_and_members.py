"""Members and cards through the POS API: enrolment, identification, issue, block, loss and replacement."""

from __future__ import annotations

import pytest

from coalition.adapters.storage.verify import verify
from tests.support import assert_problem, auth, balance_of, buy, client, enrol, make_network, new_key, table_counts

pytestmark = pytest.mark.anyio


async def _post(http, path: str, key: str, body: dict | None = None):
    return await http.post(path, json=body, headers=auth(key, new_key()))


async def test_enrol_a_personal_member_with_a_card_and_a_phone(services):
    net = await make_network(services)
    async with client(services) as http:
        body = {
            "kind": "personal",
            "card_number": "5000 0002",
            "profile": {
                "name": "Anna Smirnova",
                "phone": "+7 (912) 123-45-67",
                "email": "anna@example.org",
                "birth_date": "1990-04-01",
                "consent_data_processing": True,
                "consent_newsletters": True,
            },
        }
        response = await _post(http, "/v1/members", net.shop_key, body)
        assert response.status_code == 201, response.text
        enrolled = response.json()
        assert enrolled["member"]["kind"] == "personal"
        assert enrolled["member"]["name"] == "Anna Smirnova"
        assert enrolled["member"]["phone"] == "+79121234567"
        assert enrolled["member"]["email"] == "anna@example.org"
        assert enrolled["member"]["birth_date"] == "1990-04-01"
        assert enrolled["member"]["consent_newsletters"] is True
        assert enrolled["card"] == {"number": "50000002", "state": "active", "type": "standard"}
        assert (enrolled["member"]["tier"], enrolled["member"]["segments"]) == ("", [])
        assert enrolled["identifiers"] == [
            {"kind": "card", "value": "50000002"},
            {"kind": "phone", "value": "+79121234567"},
        ]
        assert enrolled["points_balance"] == 0

        member = await http.get("/v1/members/5000-0002", headers=auth(net.shop_key))
        assert member.status_code == 200, member.text
        assert member.json()["member"]["id"] == enrolled["member"]["id"]
        assert member.json()["card"] == {"number": "50000002", "state": "active"}
        assert member.json()["points_balance"] == 0
        assert member.json()["lifetime_spend"] == "0.00"


async def test_a_personal_profile_needs_consent_to_data_processing(services):
    net = await make_network(services)
    async with client(services) as http:
        before = await table_counts(services)
        for profile in ({"name": "No Consent"}, {"name": "No Consent", "consent_data_processing": False}):
            response = await _post(
                http, "/v1/members", net.shop_key, {"kind": "personal", "card_number": "5000-0003", "profile": profile}
            )
            assert_problem(response, 422, "invalid-input", "profile.consent_data_processing")
        assert await table_counts(services) == before


async def test_enrol_an_anonymous_member_without_a_profile(services):
    net = await make_network(services)
    async with client(services) as http:
        response = await _post(http, "/v1/members", net.shop_key, {"kind": "anonymous", "card_number": "ANON-1"})
        assert response.status_code == 201, response.text
        assert response.json()["member"]["kind"] == "anonymous"
        assert response.json()["member"]["name"] is None
        assert response.json()["card"] == {"number": "ANON1", "state": "active", "type": "standard"}
        earned = await buy(http, net.shop_key, "anon 1", "1000.00")
        assert earned.status_code == 201, earned.text
        assert earned.json()["points_balance"] == 30

        before = await table_counts(services)
        with_profile = await _post(
            http,
            "/v1/members",
            net.shop_key,
            {"kind": "anonymous", "card_number": "ANON-2", "profile": {"name": "Somebody"}},
        )
        assert_problem(with_profile, 422, "invalid-input", "profile")
        without_identifier = await _post(http, "/v1/members", net.shop_key, {"kind": "anonymous"})
        assert_problem(without_identifier, 422, "invalid-input", "card_number")
        bad_kind = await _post(http, "/v1/members", net.shop_key, {"kind": "vip", "card_number": "ANON-3"})
        assert_problem(bad_kind, 422, "invalid-input", "kind")
        assert await table_counts(services) == before


@pytest.mark.parametrize("typed", ["5000 0004", "5000-0004", "50000004", " 5000 - 0004 "])
async def test_identify_by_card_number_with_spaces_or_dashes(services, typed):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "5000-0004")
        await buy(http, net.shop_key, "50000004", "1000.00")
        response = await http.get(f"/v1/members/{typed}", headers=auth(net.shop_key))
        assert response.status_code == 200, response.text
        assert response.json()["card"] == {"number": "50000004", "state": "active"}
        assert response.json()["points_balance"] == 30
        quote = await http.post(
            "/v1/purchases/quote", json={"customer": typed, "amount": "100.00"}, headers=auth(net.shop_key)
        )
        assert quote.status_code == 200, quote.text
        assert quote.json()["points_balance"] == 30


@pytest.mark.parametrize("enrolled_as", ["8 912 000 00 03", "+7 912 000-00-03", "9120000003"])
async def test_the_russian_trunk_prefix_and_the_10_digit_form_find_the_same_member(services, enrolled_as):
    """Issue 18, point 4: in a rouble network (country RU) the three forms are one phone, stored in E.164."""
    net = await make_network(services)
    async with client(services) as http:
        enrolled = await enrol(http, net.shop_key, "5000-0003", phone=enrolled_as)
        assert {"kind": "phone", "value": "+79120000003"} in enrolled["identifiers"]
        for typed in ("8 912 000 00 03", "+7 912 000-00-03", "9120000003"):
            response = await http.get(f"/v1/members/{typed}", headers=auth(net.shop_key))
            assert response.status_code == 200, (typed, response.text)
            assert response.json()["member"]["id"] == enrolled["member"]["id"]
        refused = await _post(
            http,
            "/v1/members",
            net.shop_key,
            {"kind": "personal", "profile": {"phone": "8 012 000 00 03", "consent_data_processing": True}},
        )
        assert_problem(refused, 422, "invalid-input", "profile.phone")


@pytest.mark.parametrize(
    "typed",
    ["+79121234567", "79121234567", "+7 912 123 45 67", "+7 (912) 123-45-67", "7-912-123-45-67", "+7.912.123.45.67"],
)
async def test_identify_by_phone_in_any_format(services, typed):
    net = await make_network(services)
    async with client(services) as http:
        enrolled = await enrol(http, net.shop_key, "5000-0005", phone="+7 912 123-45-67")
        await buy(http, net.shop_key, "5000-0005", "2000.00")
        response = await http.get(f"/v1/members/{typed}", headers=auth(net.shop_key))
        assert response.status_code == 200, response.text
        assert response.json()["member"]["id"] == enrolled["member"]["id"]
        assert response.json()["card"] is None
        assert response.json()["cards"] == [{"number": "50000005", "state": "active"}]
        assert response.json()["points_balance"] == 60
        purchase = await buy(http, net.shop_key, typed, "1000.00")
        assert purchase.status_code == 201, purchase.text
        assert purchase.json()["points_balance"] == 90


async def test_identify_by_nfc_uid_and_barcode(services):
    net = await make_network(services)
    async with client(services) as http:
        body = {
            "kind": "anonymous",
            "identifiers": [
                {"kind": "nfc", "value": "04:a2:2b:1c:5d:80"},
                {"kind": "barcode", "value": "QR-PAYLOAD-77"},
            ],
        }
        response = await _post(http, "/v1/members", net.shop_key, body)
        assert response.status_code == 201, response.text
        assert response.json()["identifiers"] == [
            {"kind": "nfc", "value": "04A22B1C5D80"},
            {"kind": "barcode", "value": "QR-PAYLOAD-77"},
        ]
        member_id = response.json()["member"]["id"]
        for typed in ("04A22B1C5D80", "04-A2-2B-1C-5D-80", "04 a2 2b 1c 5d 80", "QR-PAYLOAD-77"):
            found = await http.get(f"/v1/members/{typed}", headers=auth(net.shop_key))
            assert found.status_code == 200, (typed, found.text)
            assert found.json()["member"]["id"] == member_id
        bad_uid = await _post(
            http, "/v1/members", net.shop_key, {"kind": "anonymous", "identifiers": [{"kind": "nfc", "value": "zz:zz"}]}
        )
        assert_problem(bad_uid, 422, "invalid-input", "identifiers[0].value")


async def test_issue_a_card_to_an_existing_member(services):
    net = await make_network(services)
    async with client(services) as http:
        enrolled = await enrol(http, net.shop_key, "5000-0006", phone="+7 912 000 66 66")
        await buy(http, net.shop_key, "5000-0006", "3000.00")
        issued = await _post(http, "/v1/cards", net.shop_key, {"number": "5000 0007", "member": "+79120006666"})
        assert issued.status_code == 201, issued.text
        assert issued.json() == {
            "number": "50000007",
            "state": "active",
            "type": "standard",
            "member_id": enrolled["member"]["id"],
        }

        by_new_card = await http.get("/v1/members/5000-0007", headers=auth(net.shop_key))
        assert by_new_card.json()["member"]["id"] == enrolled["member"]["id"]
        assert by_new_card.json()["points_balance"] == 90
        assert by_new_card.json()["cards"] == [
            {"number": "50000006", "state": "active"},
            {"number": "50000007", "state": "active"},
        ]
        earned = await buy(http, net.shop_key, "50000007", "1000.00")
        assert earned.json()["points_balance"] == 120
        assert await balance_of(http, net.shop_key, "5000-0006") == 120

        before = await table_counts(services)
        unknown_member = await _post(http, "/v1/cards", net.shop_key, {"number": "5000-0008", "member": "nobody"})
        assert_problem(unknown_member, 404, "member-not-found", "member")
        assert await table_counts(services) == before
    assert await verify(services.engine) == []


async def test_issue_a_new_anonymous_card(services):
    net = await make_network(services)
    async with client(services) as http:
        issued = await _post(http, "/v1/cards", net.shop_key, {"number": "7000-0001"})
        assert issued.status_code == 201, issued.text
        assert issued.json()["number"] == "70000001"
        member = await http.get("/v1/members/7000-0001", headers=auth(net.shop_key))
        assert member.json()["member"]["kind"] == "anonymous"
        assert member.json()["member"]["id"] == issued.json()["member_id"]
        assert member.json()["points_balance"] == 0
        assert (await buy(http, net.shop_key, "7000-0001", "1000.00")).json()["points_balance"] == 30


async def test_block_refuses_purchases_and_unblock_restores_them(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "5000-0010")
        await buy(http, net.shop_key, "5000-0010", "5000.00")

        blocked = await _post(http, "/v1/cards/5000 0010/block", net.shop_key)
        assert blocked.status_code == 200, blocked.text
        assert blocked.json()["number"] == "50000010"
        assert blocked.json()["state"] == "blocked"
        member = await http.get("/v1/members/5000-0010", headers=auth(net.shop_key))
        assert member.json()["card"] == {"number": "50000010", "state": "blocked"}
        assert member.json()["points_balance"] == 150

        before = await table_counts(services)
        refused = await buy(http, net.shop_key, "5000-0010", "2000.00")
        assert_problem(refused, 409, "card-not-active", "customer")
        assert await table_counts(services) == before

        unblocked = await _post(http, "/v1/cards/50000010/unblock", net.shop_key)
        assert unblocked.status_code == 200, unblocked.text
        assert unblocked.json()["state"] == "active"
        works = await buy(http, net.shop_key, "5000-0010", "2000.00", redeem=100)
        assert works.status_code == 201, works.text
        assert works.json()["points_balance"] == 150 - 100 + 57

        twice = await _post(http, "/v1/cards/50000010/unblock", net.shop_key)
        assert_problem(twice, 409, "card-not-active")
        unknown_action = await _post(http, "/v1/cards/50000010/explode", net.shop_key)
        assert_problem(unknown_action, 422, "invalid-input", "action")
    assert await verify(services.engine) == []


async def test_report_lost_refuses_the_card_for_good(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "5000-0011", phone="+7 912 000 11 11")
        await buy(http, net.shop_key, "5000-0011", "5000.00")
        lost = await _post(http, "/v1/cards/5000-0011/report-lost", net.shop_key)
        assert lost.status_code == 200, lost.text
        assert lost.json()["state"] == "lost"
        refused = await buy(http, net.shop_key, "5000-0011", "1000.00")
        body = assert_problem(refused, 409, "card-not-active", "customer")
        assert "lost" in body["detail"]
        assert_problem(await _post(http, "/v1/cards/5000-0011/unblock", net.shop_key), 409, "card-not-active")
        assert_problem(await _post(http, "/v1/cards/5000-0011/block", net.shop_key), 409, "card-not-active")
        # The member is still there by phone, with the balance.
        assert await balance_of(http, net.shop_key, "+79120001111") == 150


async def test_replace_moves_balance_and_history_to_the_new_card_and_refuses_the_old(services):
    net = await make_network(services)
    async with client(services) as http:
        enrolled = await enrol(http, net.shop_key, "5000-0012")
        await buy(http, net.shop_key, "5000-0012", "5000.00")
        await buy(http, net.shop_key, "5000-0012", "2000.00", redeem=100)
        old_statement = await http.get("/v1/admin/members/5000-0012/statement", headers=auth(net.admin_key))
        assert len(old_statement.json()["transactions"]) == 2
        await _post(http, "/v1/cards/5000-0012/report-lost", net.shop_key)

        replaced = await _post(http, "/v1/cards/5000-0012/replace", net.shop_key, {"new_number": "5000-0013"})
        assert replaced.status_code == 200, replaced.text
        assert replaced.json() == {
            "number": "50000012",
            "state": "replaced",
            "member_id": enrolled["member"]["id"],
            "replaced_by": {"number": "50000013", "state": "active"},
        }

        new = await http.get("/v1/members/5000-0013", headers=auth(net.shop_key))
        assert new.json()["member"]["id"] == enrolled["member"]["id"]
        assert new.json()["card"] == {"number": "50000013", "state": "active"}
        assert new.json()["points_balance"] == 107
        assert new.json()["lifetime_spend"] == "7000.00"
        new_statement = await http.get("/v1/admin/members/5000-0013/statement", headers=auth(net.admin_key))
        assert new_statement.json()["transactions"] == old_statement.json()["transactions"]

        old = await http.get("/v1/members/5000-0012", headers=auth(net.shop_key))
        assert old.json()["card"] == {"number": "50000012", "state": "replaced"}
        before = await table_counts(services)
        refused = await buy(http, net.shop_key, "5000-0012", "1000.00")
        body = assert_problem(refused, 409, "card-not-active", "customer")
        assert "replaced" in body["detail"]
        again = await _post(http, "/v1/cards/5000-0012/replace", net.shop_key, {"new_number": "5000-0014"})
        assert_problem(again, 409, "card-not-active")
        assert await table_counts(services) == before

        works = await buy(http, net.shop_key, "5000-0013", "2000.00", redeem=107)
        assert works.status_code == 201, works.text
        assert works.json()["points_balance"] == 0 + 56  # 3 % of 1,893
        no_number = await _post(http, "/v1/cards/5000-0013/replace", net.shop_key, {})
        assert_problem(no_number, 422, "invalid-input", "new_number")
    assert await verify(services.engine) == []


async def test_a_duplicate_card_number_or_phone_is_409_and_writes_nothing(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "5000-0020", phone="+7 912 000 20 20")
        await enrol(http, net.shop_key, "5000-0021")
        before = await table_counts(services)

        same_card = await _post(http, "/v1/members", net.shop_key, {"kind": "anonymous", "card_number": "50000020"})
        assert_problem(same_card, 409, "conflict", "card_number")
        same_phone = await _post(
            http,
            "/v1/members",
            net.shop_key,
            {
                "kind": "personal",
                "card_number": "5000-0022",
                "profile": {"name": "Twin", "phone": "+7-912-000-20-20", "consent_data_processing": True},
            },
        )
        assert_problem(same_phone, 409, "conflict", "identifiers")
        issue = await _post(http, "/v1/cards", net.shop_key, {"number": "5000 0020", "member": "5000-0021"})
        assert_problem(issue, 409, "conflict", "card_number")
        replace = await _post(http, "/v1/cards/5000-0021/replace", net.shop_key, {"new_number": "5000-0020"})
        assert_problem(replace, 409, "conflict", "card_number")
        twice_in_one = await _post(
            http,
            "/v1/members",
            net.shop_key,
            {"kind": "anonymous", "card_number": "5000-0023", "identifiers": [{"kind": "card", "value": "50000023"}]},
        )
        assert_problem(twice_in_one, 422, "invalid-input", "identifiers")

        assert await table_counts(services) == before
        member = await http.get("/v1/members/5000-0021", headers=auth(net.shop_key))
        assert member.json()["card"] == {"number": "50000021", "state": "active"}


async def test_the_same_card_number_may_exist_in_another_network(services):
    ours = await make_network(services, "ours")
    theirs = await make_network(services, "theirs")
    async with client(services) as http:
        first = await enrol(http, ours.shop_key, "5000-0030")
        second = await enrol(http, theirs.shop_key, "5000-0030")
        assert first["member"]["id"] != second["member"]["id"]
        await buy(http, ours.shop_key, "5000-0030", "1000.00")
        assert await balance_of(http, ours.shop_key, "5000-0030") == 30
        assert await balance_of(http, theirs.shop_key, "5000-0030") == 0


async def test_card_actions_need_a_card_number(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "5000-0040", phone="+7 912 000 40 40")
        response = await _post(http, "/v1/cards/+79120004040/block", net.shop_key)
        assert_problem(response, 422, "invalid-input", "number")
        assert (await http.get("/v1/members/5000-0040", headers=auth(net.shop_key))).json()["card"]["state"] == "active"
