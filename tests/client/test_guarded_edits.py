"""Two administrators edit the same thing through the client, each with the version (ETag) they read: the first edit
passes and answers the new version, the second, sent with the stale one as If-Match, is refused with 412 as
PreconditionFailed and overwrites nothing; on both engines, sync and async. Every client edit the server guards
with an ETag (a PUT, PATCH or DELETE whose path has a GET) takes `if_match`."""

from __future__ import annotations

import inspect
import re
from decimal import Decimal

import pytest

from coalition_client import AsyncClient, Client, PreconditionFailed, routes
from coalition_client._core import prepare
from coalition_client.admin_models import MemberLabels, Outlet, Partner, ScheduleChange, Webhook
from coalition_client.message_models import PartnerEmail
from coalition_client.models import Enrol, Profile
from coalition_client.money_models import Limits

from .conftest import Demo


def test_if_match_is_sent_only_when_given() -> None:
    assert "If-Match" not in prepare(routes.SET_LIMITS, {}).headers
    assert prepare(routes.SET_LIMITS, {}, if_match='"abc"').headers["If-Match"] == '"abc"'


def test_a_guarded_edit_carries_an_idempotency_key_so_its_retry_replays() -> None:
    assert "Idempotency-Key" not in prepare(routes.SET_LIMITS, {}).headers  # an unguarded PUT: the same when repeated
    guarded = prepare(routes.SET_LIMITS, {}, if_match='"abc"').headers
    assert len(guarded["Idempotency-Key"]) == 36
    assert prepare(routes.SET_LIMITS, {}, idempotency_key="mine", if_match='"abc"').headers["Idempotency-Key"] == "mine"


def test_a_guarded_edit_whose_answer_was_lost_is_replayed_not_refused(demo: Demo) -> None:
    """The retry of an edit that went through (its answer lost on the way) carries the same If-Match and key: the
    server answers the first answer again, not 412 for the change the edit itself made."""
    with Client(demo.url, demo.admin_key) as admin:
        seen = admin.etag(routes.LIMITS)
        body = {"max_lines_per_purchase": 41}
        first = admin.call(routes.SET_LIMITS, body, if_match=seen, idempotency_key="limits-edit-1")
        again = admin.call(routes.SET_LIMITS, body, if_match=seen, idempotency_key="limits-edit-1")
        assert again == first and admin.limits()["max_lines_per_purchase"] == 41
        with pytest.raises(PreconditionFailed):  # a new edit on the old version is still refused
            admin.call(routes.SET_LIMITS, {"max_lines_per_purchase": 42}, if_match=seen)
        assert admin.limits()["max_lines_per_purchase"] == 41

        hook = admin.create_webhook(Webhook(url="http://127.0.0.1:9/guarded", event_kinds=["purchase.recorded"]))
        where = {"subscription_id": hook.id}
        version = admin.etag(routes.WEBHOOK, path=where)
        removal = {"path": where, "if_match": version, "idempotency_key": "hook-delete-1"}
        removed = admin.call(routes.DELETE_WEBHOOK, **removal)
        assert admin.call(routes.DELETE_WEBHOOK, **removal) == removed  # the retry: replayed, not 412


def _guarded_routes() -> set[str]:
    every = routes.all_routes()
    reads = {route.path for route in every.values() if route.method == "GET"}
    return {
        name
        for name, route in every.items()
        if route.method in ("PUT", "PATCH", "DELETE") and route.path in reads and route.path.startswith("/v1/admin/")
    }


@pytest.mark.parametrize("client_class", [Client, AsyncClient])
def test_every_guarded_edit_of_the_client_takes_if_match(client_class: type) -> None:
    guarded = _guarded_routes()
    assert {"LABEL_MEMBER", "SET_LIMITS", "SET_SCHEDULE", "SET_PARTNER_EMAIL", "SET_MESSAGE_TEMPLATE"} <= guarded
    found: set[str] = set()
    for name, method in inspect.getmembers(client_class, inspect.isfunction):
        called = set(re.findall(r"self\.call\(\s*r\.(\w+)", inspect.getsource(method))) & guarded
        if called:
            found |= called
            assert "if_match" in inspect.signature(method).parameters, name
            assert "if_match=if_match" in inspect.getsource(method), name
    assert found == guarded


def test_two_administrators_the_second_with_a_stale_etag_is_refused(demo: Demo) -> None:
    with Client(demo.url, demo.admin_key) as first, Client(demo.url, demo.admin_key) as second:
        with Client(demo.url, demo.till_key) as till:
            card = till.enrol(Enrol(card_number="3100-0001", profile=Profile(name="Ira", consent_data_processing=True)))
        assert card.card is not None
        number = card.card.number
        labels = {"identifier": number}
        seen_by_first = first.etag(routes.MEMBER_LABELS, path=labels)
        seen_by_second = second.etag(routes.MEMBER_LABELS, path=labels)
        assert seen_by_first == seen_by_second
        first.label_member(number, MemberLabels(tier="gold"), if_match=seen_by_first)
        with pytest.raises(PreconditionFailed) as refused:
            second.label_member(number, MemberLabels(tier="silver"), if_match=seen_by_second)
        assert refused.value.status == 412 and refused.value.field == "If-Match"
        assert second.member_labels(number).tier == "gold"  # nothing overwritten
        fresh = second.etag(routes.MEMBER_LABELS, path=labels)
        assert fresh != seen_by_second
        second.label_member(number, MemberLabels(tier="silver"), if_match=fresh)
        assert first.member_labels(number).tier == "silver"

        limits = first.etag(routes.LIMITS)
        first.set_limits(Limits(max_lines_per_purchase=40), if_match=limits)
        with pytest.raises(PreconditionFailed):
            second.set_limits(Limits(max_lines_per_purchase=30), if_match=limits)
        assert second.limits()["max_lines_per_purchase"] == 40

        schedule = first.etag(routes.SCHEDULE, path={"job": "expire"})
        assert first.set_schedule("expire", ScheduleChange(every_minutes=30), if_match=schedule).every_minutes == 30
        with pytest.raises(PreconditionFailed):
            second.set_schedule("expire", ScheduleChange(every_minutes=45), if_match=schedule)
        assert second.schedule("expire").every_minutes == 30
        second.set_schedule("expire", ScheduleChange(every_minutes=45))  # without If-Match: made as before
        assert first.schedule("expire").every_minutes == 45


@pytest.mark.anyio
async def test_the_async_client_sends_if_match_too(demo: Demo) -> None:
    async with AsyncClient(demo.url, demo.admin_key) as first, AsyncClient(demo.url, demo.admin_key) as second:
        partner = await first.create_partner(Partner(name="Kiosk"))
        await first.create_outlet(Outlet(partner_id=partner["id"], name="Kiosk stand"))
        path = {"partner_id": partner["id"]}
        seen = await first.etag(routes.PARTNER_EMAIL, path=path)
        assert seen == await second.etag(routes.PARTNER_EMAIL, path=path)
        await first.set_partner_email(partner["id"], PartnerEmail(email="a@example.com"), if_match=seen)
        with pytest.raises(PreconditionFailed):
            await second.set_partner_email(partner["id"], PartnerEmail(email="b@example.com"), if_match=seen)
        assert (await second.partner_email(partner["id"])).email == "a@example.com"
        limits = await second.etag(routes.LIMITS)
        changed = await second.set_limits(Limits(max_amount=Decimal("50000.00")), if_match=limits)
        assert changed["max_amount"] == "50000.00"
        with pytest.raises(PreconditionFailed):
            await first.set_limits(Limits(max_amount=Decimal("60000.00")), if_match=limits)
