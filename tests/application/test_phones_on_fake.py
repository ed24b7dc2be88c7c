"""Phones typed anywhere (issue 18, point 4): `8 912 000 00 03`, `+7 912 000-00-03` and `9120000003` are one member
of a rouble network (its country RU), at the till, in the console's search, in a statement and in enrolment; an
invalid number is refused naming the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coalition.adapters.http.pos_answers import answer_json
from coalition.application.enrolment import EnrolInput
from coalition.application.member_admin import MemberAdministration
from coalition.application.member_files import member_columns
from coalition.application.ports import Profile
from coalition.application.pos import PosService
from coalition.domain.errors import InvalidInput
from tests.fakes.pos import FakePos, seed_network, small_shop_program
from tests.support import SettableClock

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
FORMS = ("8 912 000 00 03", "+7 912 000-00-03", "9120000003")


async def _shop() -> tuple[PosService, int, object]:
    fake = FakePos()
    seeded = seed_network(fake, small_shop_program())
    pos = PosService(fake.unit_of_work, SettableClock(NOW), answer_json=answer_json)
    return pos, seeded.network_id, await pos.authenticate(seeded.shop_key)


@pytest.mark.parametrize("enrolled_as", FORMS)
async def test_the_three_forms_find_the_member_enrolled_with_any_of_them(enrolled_as: str) -> None:
    pos, network_id, shop = await _shop()
    assert shop.phone_region == "RU"  # type: ignore[attr-defined]
    profile = Profile(name="Anna Petrova", phone=enrolled_as, consent_data_processing=True)
    enrolled = await pos.enrol(shop, EnrolInput("personal", None, profile), "enrol-1", "hash-1")  # type: ignore[arg-type]
    assert enrolled.status_code == 201
    member_id = enrolled.body["member"]["id"]
    assert [i["value"] for i in enrolled.body["identifiers"]] == ["+79120000003"]
    admin = MemberAdministration(pos)
    for form in FORMS:
        summary = await pos.member_summary(shop, form)  # type: ignore[arg-type]
        assert summary.member.id == member_id, form
        found = await admin.search(network_id, form)
        assert [listing.member_id for listing in found] == [member_id], form
        assert found[0].phone == "+79120000003"
        assert (await pos.statement(network_id, form)).member_id == member_id


@pytest.mark.parametrize(("phone", "field"), [("8 012 000 00 03", "profile.phone"), ("12345", "profile.phone")])
async def test_an_invalid_phone_at_enrolment_is_refused_naming_the_field(phone: str, field: str) -> None:
    pos, _network_id, shop = await _shop()
    profile = Profile(name="Anna Petrova", phone=phone, consent_data_processing=True)
    with pytest.raises(InvalidInput) as error:
        await pos.enrol(shop, EnrolInput("personal", "2000-0001", profile), "enrol-1", "hash-1")  # type: ignore[arg-type]
    assert error.value.field == field


def test_the_members_file_reads_a_phone_in_the_networks_country() -> None:
    phone = next(column for column in member_columns("RU") if column.name == "phone")
    assert {phone.parse(form) for form in FORMS} == {"+79120000003"}
    with pytest.raises(ValueError):
        next(column for column in member_columns(None) if column.name == "phone").parse("8 912 000 00 03")
