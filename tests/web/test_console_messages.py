"""Message templates in the console and the unsubscribe page over HTTP on both engines: the list, an edit refused with
its line beside the field, a preview with a member, a save (audited); an unsubscribe link that works without
signing in, records the opt-out (newsletters off for a campaign), and a forged link that is a 404."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from coalition.adapters.storage import tables as t
from coalition.domain.messages import (
    Channel,
    MessageKind,
    Send,
    SendingPolicy,
    Skip,
    SkipReason,
    decide_sending,
)
from coalition.wiring import Services
from tests.support import auth, client, enrol, make_network, new_key
from tests.web.support import csrf_token, sign_in_console

pytestmark = pytest.mark.anyio
EDIT = "/console/messages/templates/thank_you/email/ru"


async def test_the_administrator_edits_previews_and_saves_a_template(services: Services) -> None:
    net = await make_network(services)
    await services.web_sessions.add_console_user(net.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    async with client(services) as http:
        member = await enrol(http, net.shop_key, "1001")
        await sign_in_console(http, "shop", "admin", "admin-secret-1")
        listed = await http.get("/console/messages/templates")
        assert listed.status_code == 200 and EDIT in listed.text
        page = await http.get(EDIT)
        assert page.status_code == 200 and "Спасибо за покупку" in page.text
        token = csrf_token(page.text)

        form = {"csrf_token": token, "subject": "Спасибо", "body": "Hi\n{{ nope }}", "action": "save"}
        refused = await http.post(EDIT, data=form)
        assert refused.status_code == 422 and 'id="body-error"' in refused.text and "line 2" in refused.text
        form |= {
            "body": "{{ member_name }}: {{ balance }}",
            "action": "preview",
            "member_id": str(member["member"]["id"]),
        }
        preview = await http.post(EDIT, data=form)
        assert preview.status_code == 200 and "Test Member: 0" in preview.text
        saved = await http.post(EDIT, data=form | {"action": "save"}, follow_redirects=True)
        assert saved.status_code == 200 and "The template was saved." in saved.text
        shown = await http.get("/v1/admin/message-templates/thank_you/email/ru", headers=auth(net.admin_key))
        assert shown.json()["body"] == "{{ member_name }}: {{ balance }}"
        assert (await http.get("/console/messages/templates/payday/email/ru")).status_code == 422


async def test_an_unsubscribe_link_works_without_signing_in_and_a_forged_one_does_not(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        profile = {
            "name": "Anna",
            "email": "anna@example.com",
            "consent_data_processing": True,
            "consent_newsletters": True,
        }
        enrolled = await http.post(
            "/v1/members",
            json={"kind": "personal", "card_number": "1001", "profile": profile},
            headers=auth(net.shop_key, new_key()),
        )
        member_id = enrolled.json()["member"]["id"]
        link = await services.unsubscribes.link(net.ref.id, member_id, MessageKind.CAMPAIGN, Channel.EMAIL)
        assert link.startswith(services.settings.public_url.rstrip("/") + "/unsubscribe/")
        path = link.removeprefix(services.settings.public_url.rstrip("/"))
        page = await http.get(path)
        assert page.status_code == 200 and "Unsubscribe" in page.text and "news and offers" in page.text
        posted = await http.post(path, data={"csrf_token": csrf_token(page.text)})
        assert posted.status_code == 200 and 'id="unsubscribed"' in posted.text
        again = await http.get(path)
        assert "already unsubscribed" in again.text
        opt_outs = await services.unsubscribes.store.opt_outs(net.ref.id, member_id)  # type: ignore[attr-defined]
        assert opt_outs == frozenset({(MessageKind.CAMPAIGN, Channel.EMAIL)})
        async with services.engine.connect() as connection:
            consent = await connection.scalar(
                select(t.members.c.consent_newsletters).where(t.members.c.id == member_id)
            )
        assert consent is False  # a campaign's unsubscribe withdraws the newsletter consent
        store = services.unsubscribes.store
        recipient = await store.recipient(net.ref.id, member_id)  # type: ignore[attr-defined]
        assert recipient is not None and recipient.email == "anna@example.com"
        noon = datetime(2026, 12, 7, 9, tzinfo=UTC)
        policy = SendingPolicy(timezone="Europe/Moscow")
        campaign = decide_sending(MessageKind.CAMPAIGN, Channel.EMAIL, recipient, noon, policy)
        assert campaign == Skip(SkipReason.OPTED_OUT)  # the member's own act is named before the consent it withdrew
        assert decide_sending(MessageKind.THANK_YOU, Channel.EMAIL, recipient, noon, policy) == Send(noon)
        assert await store.recipient(net.ref.id + 1000, member_id) is None  # type: ignore[attr-defined]

        service_link = await services.unsubscribes.link(net.ref.id, member_id, MessageKind.THANK_YOU, Channel.SMS)
        assert service_link != link
        forged = path[:-3] + ("abc" if not path.endswith("abc") else "xyz")
        assert (await http.get(forged)).status_code == 404
        assert (await http.post(path, data={})).status_code == 403  # no CSRF token: refused, nothing recorded
