"""Phones in E.164 (issue 18, point 4): `networks.country` (ISO 3166 alpha-2; RU for a RUB network, else none), the
default region a phone typed without its country code is read in; the phone identifiers and members' phones
stored before, as "+" and the digits typed ("+89120000003", "+9120000003"), re-read and stored in E.164
("+79120000003").

A stored phone is first read as it is, an international number; if that is not a valid number, its digits are read
as a number of the network's country (the trunk prefix 8 of Russia included). One that neither reading makes valid
stays as it was (a lookup still finds it by its old form). No member is lost or merged: when a phone's E.164 form is
already another identifier of the network, this one stays as it was, and the migration says so on its output.

Revision ID: 0049
Revises: 0048
"""

from __future__ import annotations

import re

import phonenumbers
import sqlalchemy as sa
from alembic import op

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None

COUNTRY_OF_CURRENCY = {"RUB": "RU"}
_NON_DIGITS = re.compile(r"[^0-9]")


def _valid(text: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def e164_of_stored(stored: str, region: str | None) -> str | None:
    """A phone stored before 0049 in E.164, or None when neither reading gives a valid number."""
    digits = _NON_DIGITS.sub("", stored)
    if not digits:
        return None
    found = _valid("+" + digits, None)
    if found is None and region is not None:
        found = _valid(digits, region)
    return found


def _say(line: str) -> None:
    print(f"0049: {line}", flush=True)


def upgrade() -> None:
    op.add_column("networks", sa.Column("country", sa.String(2), nullable=True))
    bind = op.get_bind()
    for currency, country in COUNTRY_OF_CURRENCY.items():
        bind.execute(sa.text("UPDATE networks SET country = :c WHERE currency = :cur"), {"c": country, "cur": currency})
    networks = bind.execute(sa.text("SELECT id, code, country FROM networks ORDER BY id")).all()
    for network_id, code, country in networks:
        _identifiers(bind, network_id, code, country)
        _profiles(bind, network_id, country)


def _identifiers(bind: sa.Connection, network_id: int, code: str, country: str | None) -> None:
    taken = {
        value: member_id
        for value, member_id in bind.execute(
            sa.text("SELECT value, member_id FROM identifiers WHERE network_id = :n"), {"n": network_id}
        )
    }
    phones = bind.execute(
        sa.text("SELECT id, member_id, value FROM identifiers WHERE network_id = :n AND kind = 'phone' ORDER BY id"),
        {"n": network_id},
    ).all()
    changed = kept = unreadable = 0
    for identifier_id, member_id, value in phones:
        new = e164_of_stored(value, country)
        if new is None:
            unreadable += 1
            _say(f"network {code}: member {member_id}'s phone {value} is not a valid number; left as it was")
            continue
        if new == value:
            continue
        if new in taken:
            kept += 1
            _say(
                f"network {code}: member {member_id}'s phone {value} is {new}, which member {taken[new]} already "
                "has; both members kept, this phone left as it was"
            )
            continue
        bind.execute(sa.text("UPDATE identifiers SET value = :v WHERE id = :i"), {"v": new, "i": identifier_id})
        del taken[value]
        taken[new] = member_id
        changed += 1
    if phones:
        _say(f"network {code}: {changed} phones now in E.164, {kept} left by a collision, {unreadable} unreadable")


def _profiles(bind: sa.Connection, network_id: int, country: str | None) -> None:
    rows = bind.execute(
        sa.text("SELECT id, phone FROM members WHERE network_id = :n AND phone IS NOT NULL"), {"n": network_id}
    ).all()
    for member_id, phone in rows:
        new = e164_of_stored(phone, country)
        if new is not None and new != phone:
            bind.execute(sa.text("UPDATE members SET phone = :p WHERE id = :i"), {"p": new, "i": member_id})


def downgrade() -> None:
    # the phones stay in E.164: "+" and digits, the form the code before 0049 looks up
    # a plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): a batch copy of `networks` would break its foreign keys
    op.drop_column("networks", "country")
