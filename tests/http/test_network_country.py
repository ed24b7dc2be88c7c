"""The network's country is settable (issue 18, point 4): PUT /v1/admin/network/country, on both engines. Phones
typed without their country code are read as numbers of the new country from the next request on (the till's
cached context included); a code that is not a country the phone library reads is a 422 naming `country`; the
write replays under its Idempotency-Key, checks If-Match against GET …/country's ETag and is audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from coalition.adapters.storage import tables as t
from tests.support import assert_problem, auth, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio
PATH = "/v1/admin/network/country"


async def test_after_the_country_changes_a_phone_in_its_national_form_is_read_as_one_of_its_numbers(services):
    net = await make_network(services)  # a rouble network: no country stored, phones read as Russian
    admin = auth(net.admin_key)
    async with client(services) as http:
        assert (await http.get(PATH, headers=admin)).json() == {"country": "RU"}
        berlin = await enrol(http, net.shop_key, "7100-0001", phone="+49 1512 3456789")
        moscow = await enrol(http, net.shop_key, "7100-0002", phone="8 912 000 00 03")  # RU: +79120000003
        assert {"kind": "phone", "value": "+79120000003"} in moscow["identifiers"]
        # the German mobile in its national form is no Russian number yet
        assert_problem(await http.get("/v1/members/01512 3456789", headers=auth(net.shop_key)), 404, "member-not-found")

        key = new_key()
        changed = await http.put(PATH, json={"country": "DE"}, headers=auth(net.admin_key, key))
        assert changed.status_code == 200, changed.text
        assert changed.json() == {"country": "DE"}
        replayed = await http.put(PATH, json={"country": "DE"}, headers=auth(net.admin_key, key))
        assert replayed.headers["Idempotent-Replayed"] == "true" and replayed.json() == {"country": "DE"}
        assert_problem(
            await http.put(PATH, json={"country": "KZ"}, headers=auth(net.admin_key, key)),
            422,
            "idempotency-key-reused",
            "Idempotency-Key",
        )
        assert (await http.get(PATH, headers=admin)).json() == {"country": "DE"}

        found = await http.get("/v1/members/01512 3456789", headers=auth(net.shop_key))  # the same till, at once
        assert found.status_code == 200, found.text
        assert found.json()["member"]["id"] == berlin["member"]["id"]
        # "8 912 000 00 03" is now a German number (Munich), not the Russian member's
        assert_problem(
            await http.get("/v1/members/8 912 000 00 03", headers=auth(net.shop_key)), 404, "member-not-found"
        )
        assert (await http.get("/v1/members/+7 912 000 00 03", headers=auth(net.shop_key))).status_code == 200
        landline = await enrol(http, net.cafe_key, "7100-0003", phone="030 1234567")
        assert {"kind": "phone", "value": "+49301234567"} in landline["identifiers"]

        assert (await http.put(PATH, json={"country": "kz"}, headers=admin)).json() == {"country": "KZ"}
        almaty = await enrol(http, net.shop_key, "7100-0004", phone="8 701 123 45 67")
        assert {"kind": "phone", "value": "+77011234567"} in almaty["identifiers"]
        by_phone = await http.get("/v1/members/701 123 45 67", headers=auth(net.shop_key))
        assert by_phone.json()["member"]["id"] == almaty["member"]["id"]

    async with services.engine.connect() as connection:
        stored = (await connection.execute(select(t.networks.c.country).where(t.networks.c.id == net.ref.id))).scalar()
        entries = (
            await connection.execute(
                select(t.audit_entries.c.before, t.audit_entries.c.after)
                .where(t.audit_entries.c.action == "network.country")
                .order_by(t.audit_entries.c.id)
            )
        ).all()
    assert stored == "KZ"
    assert [(json.loads(b), json.loads(a)) for b, a in entries] == [
        ({"country": "RU"}, {"country": "DE"}),
        ({"country": "DE"}, {"country": "KZ"}),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"country": "RUS"}, "country"),
        ({"country": ""}, "country"),
        ({"country": "R1"}, "country"),
        ({"country": "EU"}, "country"),
        ({"country": 7}, "country"),
        ({"country": None}, "country"),
        ({"country": "R" * 50}, "country"),
        ({}, "country"),
        ({"country": "DE", "region": "DE"}, "region"),
    ],
)
async def test_a_country_that_is_not_one_is_a_422_naming_it_and_changes_nothing(services, body, field):
    net = await make_network(services)
    async with client(services) as http:
        refused = await http.put(PATH, json=body, headers=auth(net.admin_key))
        assert_problem(refused, 422, "invalid-input", field)
        assert (await http.get(PATH, headers=auth(net.admin_key))).json() == {"country": "RU"}


async def test_if_match_keeps_two_administrators_from_overwriting_each_other(services):
    net = await make_network(services)
    other = await make_network(services, "other")
    async with client(services) as http:
        seen = (await http.get(PATH, headers=auth(net.admin_key))).headers["ETag"]
        first = await http.put(PATH, json={"country": "DE"}, headers={**auth(net.admin_key), "If-Match": seen})
        assert first.status_code == 200, first.text
        assert first.headers["ETag"] != seen
        second = await http.put(PATH, json={"country": "KZ"}, headers={**auth(net.admin_key), "If-Match": seen})
        assert_problem(second, 412, "precondition-failed", "If-Match")
        assert (await http.get(PATH, headers=auth(net.admin_key))).json() == {"country": "DE"}
        # one network's country is its own
        assert (await http.get(PATH, headers=auth(other.admin_key))).json() == {"country": "RU"}
        assert (await http.put(PATH, json={"country": "DE"})).status_code == 401
        assert (await http.put(PATH, json={"country": "DE"}, headers=auth(net.shop_key))).status_code in (401, 403)
