"""/v1/admin/message-templates (issue 16) on both engines: the built-in texts listed, a text saved, previewed with the
sample or a member of the network (another network's member is a 404), reset; an invalid text refused at save with
the line at fault (422, field `body`), nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from coalition.wiring import Services
from tests.support import assert_problem, auth, buy, client, enrol, make_network

pytestmark = pytest.mark.anyio
PATH = "/v1/admin/message-templates/thank_you/sms/ru"


async def test_templates_listed_saved_previewed_and_reset(services: Services) -> None:
    net = await make_network(services)
    other = await make_network(services, "other")
    async with client(services) as http:
        member = await enrol(http, net.shop_key, "1001")
        assert (await buy(http, net.shop_key, "1001", "1000.00")).status_code == 201
        stranger = await enrol(http, other.shop_key, "2002")
        admin = auth(net.admin_key)

        listed = (await http.get("/v1/admin/message-templates", headers=admin)).json()["templates"]
        assert len(listed) == 7 * 2 * 2 and not any(item["customised"] for item in listed)
        shown = (await http.get(PATH, headers=admin)).json()
        assert shown["subject"] == "" and "{{ balance }}" in shown["body"] and "outlet" in shown["variables"]

        text = "{{ member_name }}, спасибо! Баланс: {{ balance }}."
        saved = await http.put(PATH, json={"body": text}, headers=admin)
        assert saved.status_code == 200, saved.text
        assert saved.json()["customised"] is True and saved.json()["body"] == text
        theirs = (await http.get(PATH, headers=auth(other.admin_key))).json()
        assert theirs["customised"] is False  # another network keeps the built-in text

        sample = (await http.post(PATH + "/preview", json={}, headers=admin)).json()
        assert sample["body"] == "Anna, спасибо! Баланс: 1250."
        real: dict[str, Any] = (
            await http.post(PATH + "/preview", json={"member_id": member["member"]["id"]}, headers=admin)
        ).json()
        assert real["body"].startswith("Test Member, спасибо! Баланс: ") and real["body"] != sample["body"]
        trial = await http.post(PATH + "/preview", json={"body": "Hi {{ outlet }}"}, headers=admin)
        assert trial.json()["body"] == "Hi Cafe Wave"
        foreign = await http.post(PATH + "/preview", json={"member_id": stranger["member"]["id"]}, headers=admin)
        assert_problem(foreign, 404, "not-found", "member_id")
        for member_id in (10**30, 0, "1"):
            bad = await http.post(PATH + "/preview", json={"member_id": member_id}, headers=admin)
            assert_problem(bad, 422, "invalid-input", "member_id")

        reset = await http.delete(PATH, headers=admin)
        assert reset.status_code == 200 and reset.json()["customised"] is False


@pytest.mark.parametrize(
    ("path", "body", "code", "field", "words"),
    [
        (PATH, {"body": "Hello\n\n{{ balance }\n"}, "template-invalid", "body", "line 3"),
        (PATH, {"body": "Hello\n{{ gift_name }}"}, "template-invalid", "body", "line 2: unknown variable 'gift_name'"),
        (PATH, {"body": "{{ member_name.__class__ }}"}, "template-invalid", "body", "line 1"),
        (PATH, {"body": "x", "subject": "Hi"}, "template-invalid", "subject", "no subject"),
        (PATH, {"body": ""}, "template-invalid", "body", "empty"),
        (PATH, {"body": 5}, "invalid-input", "body", ""),
        (PATH, {"body": "x" * 4001}, "invalid-input", "body", ""),
        (PATH, {"body": "x\x00"}, "invalid-input", "body", ""),
        (PATH, {"body": "x", "network_id": 2}, "invalid-input", "network_id", ""),
        ("/v1/admin/message-templates/payday/sms/ru", {"body": "x"}, "invalid-input", "kind", ""),
        ("/v1/admin/message-templates/thank_you/fax/ru", {"body": "x"}, "invalid-input", "channel", ""),
        ("/v1/admin/message-templates/thank_you/sms/de", {"body": "x"}, "invalid-input", "language", ""),
        ("/v1/admin/message-templates/thank_you/email/en", {"body": "x"}, "template-invalid", "subject", "subject"),
    ],
)
async def test_bad_templates_are_refused_naming_the_field_and_line(
    services: Services, path: str, body: dict[str, Any], code: str, field: str, words: str
) -> None:
    net = await make_network(services)
    async with client(services) as http:
        refused = await http.put(path, json=body, headers=auth(net.admin_key))
        problem = assert_problem(refused, 422, code, field)
        assert words in problem["detail"]
        listed = (await http.get("/v1/admin/message-templates", headers=auth(net.admin_key))).json()["templates"]
        assert not any(item["customised"] for item in listed)  # nothing written
