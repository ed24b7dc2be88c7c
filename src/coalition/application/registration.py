"""A small shop registers itself: one network with one partner, one outlet with its first terminal (the key its POS
software uses), its first cashier (who signs in at /terminal with the outlet number, login and password) and the
owner's console login (as the network's administrator), written in one transaction — all of it or nothing.

Open only when the operator allows it (COALITION_OPEN_REGISTRATION=1): a hosted server's sign-up page.
"""

from __future__ import annotations

import re
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from coalition.application.admin import (
    AdminUnitOfWork,
    ProgramSettings,
    program_json,
    validate_code,
    validate_timezone,
)
from coalition.application.audit import entry
from coalition.application.commands import DuplicateKey, key_hash
from coalition.application.ports import Clock
from coalition.application.security import MIN_PASSWORD_LENGTH, hash_password, new_api_key
from coalition.domain.bonus import BonusProgram, Tier
from coalition.domain.errors import Conflict, InvalidInput
from coalition.domain.identifiers import parse_country
from coalition.domain.money import currency_exponent
from coalition.domain.plans import SIGN_UP_PLAN_CODE, trial_end

_LOGIN = re.compile(r"^[A-Za-z0-9._-]{2,100}$")
# The seed's small-shop start: accrue 3 % of the check, pay up to 15 % of a check with points; edited later in the
# console's rules.
POS_TERMINAL_NAME = "POS software"  # the first terminal: its key goes into the till's POS software
STARTER_TIER = Tier(min_lifetime_spend_minor=0, accrual_bp=300, fixed_points_per_check=0, redeem_cap_bp=1500)


@dataclass(frozen=True, slots=True)
class ShopRegistration:
    shop_name: str
    network_code: str
    currency: str
    timezone: str
    owner_name: str
    owner_login: str
    owner_password: str
    cashier_login: str
    cashier_password: str
    country: str = ""  # ISO 3166 alpha-2: phones typed without their country code are read there; "": the currency's


class RegistrationUnitOfWork(AdminUnitOfWork, Protocol):
    async def create_console_user(
        self, network_id: int, role: str, partner_id: int | None, login: str, name: str, password_hash: str
    ) -> int: ...
    async def set_registered_country(self, network_id: int, country: str) -> None:
        """The country chosen at registration (networks.country), in the registration's transaction."""
        ...


class RegistrationUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[RegistrationUnitOfWork]: ...


def _text(value: str, field: str) -> str:
    text = value.strip()
    if not 1 <= len(text) <= 200:
        raise InvalidInput("write 1 to 200 characters", field=field)
    return text


def _login(value: str, field: str) -> str:
    if not _LOGIN.match(value.strip()):
        raise InvalidInput("a login has 2–100 letters, digits, dots, hyphens or underscores", field=field)
    return value.strip()


def _password(value: str, field: str) -> str:
    if len(value) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password has at least {MIN_PASSWORD_LENGTH} characters", field=field)
    return value


def validated(form: ShopRegistration) -> ShopRegistration:
    """Every field checked before anything is written, each error naming its field."""
    currency = form.currency.strip().upper()
    currency_exponent(currency)
    return ShopRegistration(
        shop_name=_text(form.shop_name, "shop_name"),
        network_code=validate_code(form.network_code.strip().lower(), "network_code"),
        currency=currency,
        timezone=validate_timezone(form.timezone.strip()),
        owner_name=_text(form.owner_name, "owner_name"),
        owner_login=_login(form.owner_login, "owner_login"),
        owner_password=_password(form.owner_password, "owner_password"),
        cashier_login=_login(form.cashier_login, "cashier_login"),
        cashier_password=_password(form.cashier_password, "cashier_password"),
        country=parse_country(form.country) or "",
    )


class Registration:
    def __init__(self, unit_of_work: RegistrationUnitOfWorkFactory, clock: Clock) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock

    async def register_shop(self, form: ShopRegistration) -> dict[str, Any]:
        shop = validated(form)
        program = ProgramSettings(code="bonus", name="Bonus points", tiers=(STARTER_TIER,))
        bonus = BonusProgram(
            id=0,
            code=program.code,
            currency=shop.currency,
            tiers=program.tiers,
            min_check_for_redeem_minor=program.min_check_for_redeem_minor,
            point_value_minor=program.point_value_minor,
            points_expire_days=program.points_expire_days,
        )
        admin_key = new_api_key("adm")
        terminal_key = new_api_key("term")
        try:
            async with self._unit_of_work() as uow:
                network = await uow.create_network(
                    shop.network_code,
                    shop.shop_name,
                    shop.currency,
                    key_hash(admin_key),
                    bonus,
                    program.name,
                    plan=SIGN_UP_PLAN_CODE,  # free, with a three-month trial from today (domain/plans.py)
                    trial_ends_at=trial_end(self._clock.now()),
                )
                if shop.country:
                    await uow.set_registered_country(network.id, shop.country)
                partner_id = await uow.create_partner(network, shop.shop_name)
                outlet_id = await uow.create_outlet(network, partner_id, f"{shop.shop_name} till", shop.timezone)
                terminal_id = await uow.create_terminal(
                    network, outlet_id, POS_TERMINAL_NAME, key_hash(terminal_key), terminal_key[:12]
                )
                await uow.create_cashier(
                    network, outlet_id, shop.cashier_login, shop.cashier_login, hash_password(shop.cashier_password)
                )
                await uow.create_console_user(
                    network.id,
                    "administrator",
                    None,
                    shop.owner_login,
                    shop.owner_name,
                    hash_password(shop.owner_password),
                )
                registered: dict[str, Any] = {
                    "code": shop.network_code,
                    "name": shop.shop_name,
                    "currency": shop.currency,
                    "country": shop.country or None,
                }
                registered |= {"owner_login": shop.owner_login, "cashier_login": shop.cashier_login}
                registered |= {"outlet_id": outlet_id, "terminal_id": terminal_id}
                await uow.audit(entry(network.id, "network.register", "network", network.id, after=registered))
        except DuplicateKey:
            raise Conflict(f"the network code '{shop.network_code}' is taken", field="network_code") from None
        return {
            "network_id": network.id,
            "network_code": shop.network_code,
            "admin_key": admin_key,
            "partner_id": partner_id,
            "outlet_id": outlet_id,
            "terminal_id": terminal_id,
            "terminal_key": terminal_key,
            "owner_login": shop.owner_login,
            "cashier_login": shop.cashier_login,
            "program": program_json(bonus),
        }
