"""Migration 0049 on both engines: a rouble network gets the country RU; phones stored before it as "+" and the
digits typed ("+89120000003", "+9120000004") become E.164; two members whose phones become one number are both
kept, the second phone left as it was and the collision said on the migration's output; an unreadable phone stays."""

from __future__ import annotations

import anyio
import pytest
import sqlalchemy as sa

from coalition.adapters.storage import migrate
from coalition.application.admin import NetworkRef
from coalition.application.enrolment import EnrolInput
from coalition.application.ports import Profile
from coalition.wiring import build_services
from tests.http.water_park import PROGRAM

pytestmark = pytest.mark.anyio

PHONES = {  # card: (phone at enrolment, the phone as stored before 0049, after 0049)
    "M-1": ("+79120000003", "+89120000003", "+79120000003"),  # typed 8 912 000 00 03
    "M-2": ("+79120000004", "+9120000004", "+79120000004"),  # typed 912 000 00 04
    "M-3": ("+79120000005", "+79120000005", "+79120000005"),  # already E.164
    "M-4": ("+79120000006", "+89120000005", "+89120000005"),  # is M-3's number: kept as it was
    "M-5": ("+79120000007", "+1234567", "+1234567"),  # no valid number: kept as it was
}


async def test_phones_become_e164_and_colliding_members_are_both_kept(settings, capsys) -> None:
    services = build_services(settings)
    try:
        created = await services.admin.create_network("mig", "Migration", "RUB", PROGRAM)
        net = NetworkRef(created["id"], "mig", "Migration", "RUB")
        partner = await services.admin.create_partner(net, "Shop")
        outlet = await services.admin.create_outlet(net, partner["id"], "Shop", "Europe/Moscow")
        terminal = await services.admin.create_terminal(net, outlet["id"], "till")
        till = await services.pos.authenticate(terminal["key"])
        members = {}
        for card, (phone, _before, _after) in PHONES.items():
            profile = Profile(name=card, phone=phone, consent_data_processing=True)
            enrolled = await services.pos.enrol(till, EnrolInput("personal", card, profile), card, card)
            members[card] = enrolled.body["member"]["id"]
    finally:
        await services.close()

    await anyio.to_thread.run_sync(migrate.downgrade, settings.database_url, "0047")
    services = build_services(settings)
    try:
        async with services.engine.begin() as connection:
            for card, (_phone, before, _after) in PHONES.items():
                update = "UPDATE identifiers SET value = :v WHERE member_id = :m AND kind = 'phone'"
                await connection.execute(sa.text(update), {"v": before, "m": members[card]})
                await connection.execute(
                    sa.text("UPDATE members SET phone = :v WHERE id = :m"), {"v": before, "m": members[card]}
                )
    finally:
        await services.close()

    capsys.readouterr()
    await anyio.to_thread.run_sync(migrate.upgrade, settings.database_url)
    output = capsys.readouterr().out

    services = build_services(settings)
    try:
        async with services.engine.connect() as connection:
            country = await connection.execute(sa.text("SELECT country FROM networks WHERE id = :n"), {"n": net.id})
            assert country.scalar_one() == "RU"
            for card, (_phone, _before, after) in PHONES.items():
                stored = await connection.execute(
                    sa.text("SELECT value FROM identifiers WHERE member_id = :m AND kind = 'phone'"),
                    {"m": members[card]},
                )
                assert stored.scalar_one() == after, card
            profile = await connection.execute(
                sa.text("SELECT phone FROM members WHERE id = :m"), {"m": members["M-1"]}
            )
            assert profile.scalar_one() == "+79120000003"
            count = await connection.execute(
                sa.text("SELECT count(*) FROM members WHERE network_id = :n"), {"n": net.id}
            )
            assert count.scalar_one() == len(PHONES)  # nobody lost, nobody merged
        assert f"member {members['M-4']}'s phone +89120000005 is +79120000005, which member {members['M-3']}" in output
        assert "both members kept" in output
        assert "network mig: 2 phones now in E.164, 1 left by a collision, 1 unreadable" in output
        till = await services.pos.authenticate(terminal["key"])
        assert till.phone_region == "RU"
        for form in ("8 912 000 00 03", "+7 912 000-00-03", "9120000003"):
            assert (await services.pos.member_summary(till, form)).member.id == members["M-1"], form
    finally:
        await services.close()
