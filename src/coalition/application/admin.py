"""Administration: networks, partners, outlets, terminals, cashiers and the bonus program.

A network is created with its settlement node's accounts and its program; a partner with its obligations account.
Keys and passwords are returned once, at creation, and stored only as hashes.
"""

from __future__ import annotations

import re
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from coalition.application.audit import AuditTrail, entry
from coalition.application.cache import ACCESS_CHANGES, AccessChanges
from coalition.application.commands import DuplicateKey, key_hash
from coalition.application.key_life import AdminKeyMatch, KeyCaller, expiry_of, refuse_ended
from coalition.application.network_ref import NetworkRef as NetworkRef  # named here too, where it always was
from coalition.application.ports import Clock
from coalition.application.security import MIN_PASSWORD_LENGTH, hash_password, new_api_key
from coalition.domain.bonus import BonusProgram, Tier
from coalition.domain.errors import Conflict, InvalidInput, NotFound, Unauthorized
from coalition.domain.limits import DEFAULT_LIMITS, require_postable
from coalition.domain.money import currency_exponent, format_basis_points, format_minor
from coalition.domain.plans import DEFAULT_PLAN_CODE

_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


@dataclass(frozen=True, slots=True)
class ProgramSettings:
    code: str
    name: str
    tiers: tuple[Tier, ...]
    min_check_for_redeem_minor: int = 0
    point_value_minor: int = 100
    points_expire_days: int | None = None


@dataclass(frozen=True, slots=True)
class StaffOutlet:
    """An outlet as the console lists it: its id is the outlet number the terminal's sign-in asks for."""

    id: int
    name: str
    partner_id: int
    partner_name: str
    timezone: str
    cashiers: int


@dataclass(frozen=True, slots=True)
class StaffCashier:
    id: int
    outlet_id: int
    outlet_name: str
    partner_id: int
    login: str
    name: str
    active: bool


class AdminUnitOfWork(AuditTrail, Protocol):
    async def admin_key(self, key_hash: str) -> AdminKeyMatch | None: ...
    async def network_by_code(self, code: str) -> NetworkRef | None: ...
    async def network_codes(self) -> list[str]: ...
    async def create_network(
        self,
        code: str,
        name: str,
        currency: str,
        admin_key_hash: str,
        program: BonusProgram,
        program_name: str,
        admin_key_expires_at: datetime | None = None,
        plan: str = DEFAULT_PLAN_CODE,
        trial_ends_at: datetime | None = None,
    ) -> NetworkRef: ...
    async def create_partner(self, network: NetworkRef, name: str) -> int: ...
    async def create_outlet(self, network: NetworkRef, partner_id: int, name: str, timezone: str) -> int: ...
    async def create_terminal(
        self,
        network: NetworkRef,
        outlet_id: int,
        name: str,
        key_hash: str,
        key_prefix: str,
        key_expires_at: datetime | None = None,
    ) -> int: ...
    async def create_cashier(
        self, network: NetworkRef, outlet_id: int, login: str, name: str, password_hash: str
    ) -> int: ...
    async def set_cashier_password(self, network: NetworkRef, cashier_id: int, password_hash: str) -> bool: ...
    async def listing(self, network: NetworkRef) -> dict[str, list[dict[str, Any]]]: ...
    async def partner_exists(self, network: NetworkRef, partner_id: int) -> bool: ...
    async def set_partner_email(
        self, network: NetworkRef, partner_id: int, email: str | None, language: str | None = None
    ) -> bool: ...
    async def outlet_exists(self, network: NetworkRef, outlet_id: int) -> bool: ...
    # the console's staff pages (an owner's scope is their partner; None: the whole network)
    async def outlet_partner_id(self, network: NetworkRef, outlet_id: int) -> int | None: ...
    async def cashier_partner_id(self, network: NetworkRef, cashier_id: int) -> int | None: ...
    async def set_cashier_active(self, network: NetworkRef, cashier_id: int, active: bool) -> bool: ...
    async def staff_outlets(self, network: NetworkRef, partner_id: int | None) -> list[StaffOutlet]: ...
    async def staff_cashiers(
        self, network: NetworkRef, partner_id: int | None, cashier_id: int | None = None
    ) -> list[StaffCashier]: ...
    async def partner_names(self, network: NetworkRef) -> dict[int, str]: ...
    # --- the administrator's console (terminals, partners) ---
    async def terminal_key_prefix(self, network: NetworkRef, terminal_id: int) -> str | None:
        """The terminal's key prefix, or None when the network has no such terminal."""
        ...

    async def set_terminal_active(self, network: NetworkRef, terminal_id: int, active: bool) -> None: ...
    async def partners_with_email(self, network: NetworkRef) -> list[dict[str, Any]]: ...


class AdminUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[AdminUnitOfWork]: ...


# The outlet's web terminal (application/web_sessions.py) has this name and key prefix and no usable key: cashiers
# reach it only by signing in at /terminal, so it is never revoked by key, and no other terminal may take its name.
WEB_TERMINAL_NAME = "Web terminal"
WEB_TERMINAL_KEY_PREFIX = "web"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def validate_code(code: str, field: str = "code") -> str:
    if not _CODE.match(code):
        raise InvalidInput("a code has 2–63 lowercase letters, digits or hyphens", field=field)
    return code


MAIL_LANGUAGES = frozenset({"en", "ru"})  # the languages the e-mails are written in (the web pages' catalogs too)


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"'{name}' is not an IANA time zone such as Europe/Moscow", field="timezone") from None
    return name


def _name(value: str, field: str = "name") -> str:
    text = value.strip()
    if not 1 <= len(text) <= 200:
        raise InvalidInput("a name has 1 to 200 characters", field=field)
    return text


class AdminService:
    def __init__(
        self, unit_of_work: AdminUnitOfWorkFactory, clock: Clock, access_changes: AccessChanges = ACCESS_CHANGES
    ) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock
        # moved after a change of who may act has committed and before it answers (see AccessChanges)
        self._access_changes = access_changes

    async def authenticate(self, admin_key: str | None) -> NetworkRef:
        caller = await self.admin_caller(admin_key)
        if caller.network is None:  # unreachable: an admin key always belongs to a network
            raise Unauthorized("this admin key is unknown")
        return caller.network

    async def admin_caller(self, admin_key: str | None) -> KeyCaller:
        """Who an admin key is: its network, and whether it is a replaced key in its grace period. An expired
        key, or one whose grace has ended, is refused with a 401 that says so."""
        if not admin_key:
            raise Unauthorized("send the network's admin key as 'Authorization: Bearer <key>'")
        async with self._unit_of_work() as uow:
            found = await uow.admin_key(key_hash(admin_key))
        if found is None:
            raise Unauthorized("this admin key is unknown")
        refuse_ended(found.valid_until, found.retired, self._clock.now())
        return KeyCaller(found.network, admin_key[:12], key_hash(admin_key), found.retired)

    async def network(self, code: str) -> NetworkRef:
        async with self._unit_of_work() as uow:
            network = await uow.network_by_code(code)
        if network is None:
            raise NotFound(f"no network '{code}'", field="network")
        return network

    async def network_codes(self) -> list[str]:
        """Every network's code (the operator's view: which networks a database holds)."""
        async with self._unit_of_work() as uow:
            return await uow.network_codes()

    async def create_network(
        self,
        code: str,
        name: str,
        currency: str,
        program: ProgramSettings,
        admin_key: str | None = None,
        admin_key_expires_at: datetime | None = None,
    ) -> dict[str, Any]:
        validate_code(code)
        expiry = expiry_of(admin_key_expires_at, self._clock.now())
        currency_exponent(currency)
        bonus = BonusProgram(
            id=0,
            code=validate_code(program.code, "program.code"),
            currency=currency,
            tiers=program.tiers,
            min_check_for_redeem_minor=program.min_check_for_redeem_minor,
            point_value_minor=program.point_value_minor,
            points_expire_days=program.points_expire_days,
        )
        require_postable(DEFAULT_LIMITS.max_points_per_purchase, bonus.point_value_minor, "program.point_value")
        admin_key = admin_key or new_api_key("adm")
        try:
            async with self._unit_of_work() as uow:
                network = await uow.create_network(
                    code,
                    _name(name),
                    currency,
                    key_hash(admin_key),
                    bonus,
                    _name(program.name, "program.name"),
                    expiry,
                )
                created = {"code": code, "name": network.name, "currency": currency, "program": bonus.code}
                await uow.audit(entry(network.id, "network.create", "network", network.id, after=created))
        except DuplicateKey:
            raise Conflict(f"a network with code '{code}' already exists", field="code") from None
        return {
            "id": network.id,
            "code": code,
            "name": network.name,
            "currency": currency,
            "admin_key": admin_key,
            "admin_key_expires_at": _moment(expiry),
            "program": program_json(bonus),
        }

    async def create_partner(self, network: NetworkRef, name: str) -> dict[str, Any]:
        try:
            async with self._unit_of_work() as uow:
                partner_id = await uow.create_partner(network, _name(name))
                after = {"name": name.strip()}
                await uow.audit(
                    entry(network.id, "partner.create", "partner", partner_id, after=after, partner_id=partner_id)
                )
        except DuplicateKey:
            raise Conflict(f"partner '{name}' already exists", field="name") from None
        return {"id": partner_id, "name": name.strip()}

    async def set_partner_email(
        self, network: NetworkRef, partner_id: int, email: str | None, language: str | None = None
    ) -> dict[str, Any]:
        """Where the partner's statements and daily reports go, and (when given) the language they are written in."""
        address = (email or "").strip() or None
        if address is not None and not _EMAIL.fullmatch(address):
            raise InvalidInput(f"'{email}' is not an e-mail address", field="email")
        if language is not None and language not in MAIL_LANGUAGES:
            raise InvalidInput(f"e-mails are written in {' or '.join(sorted(MAIL_LANGUAGES))}", field="language")
        async with self._unit_of_work() as uow:
            before = {p["id"]: p.get("email") for p in await uow.partners_with_email(network)}
            if not await uow.set_partner_email(network, partner_id, address, language):
                raise NotFound(f"this network has no partner {partner_id}", field="partner_id")
            changed = {"email": address} | ({"language": language} if language else {})
            await uow.audit(
                entry(
                    network.id,
                    "partner.email",
                    "partner",
                    partner_id,
                    before={"email": before.get(partner_id)},
                    after=changed,
                    partner_id=partner_id,
                )
            )
        return {"id": partner_id, "email": address} | ({"language": language} if language else {})

    async def create_outlet(self, network: NetworkRef, partner_id: int, name: str, timezone: str) -> dict[str, Any]:
        validate_timezone(timezone)
        try:
            async with self._unit_of_work() as uow:
                if not await uow.partner_exists(network, partner_id):
                    raise NotFound(f"no partner {partner_id} in this network", field="partner_id")
                outlet_id = await uow.create_outlet(network, partner_id, _name(name), timezone)
                after = {"partner_id": partner_id, "name": name.strip(), "timezone": timezone}
                await uow.audit(
                    entry(network.id, "outlet.create", "outlet", outlet_id, after=after, partner_id=partner_id)
                )
        except DuplicateKey:
            raise Conflict(f"the partner already has an outlet '{name}'", field="name") from None
        return {"id": outlet_id, "partner_id": partner_id, "name": name.strip(), "timezone": timezone}

    async def create_terminal(
        self,
        network: NetworkRef,
        outlet_id: int,
        name: str,
        key: str | None = None,
        expires_at: datetime | None = None,
    ) -> dict[str, Any]:
        """A terminal with a new random key, or with `key` (the demo network's published keys); the key expires at
        `expires_at` (None: never)."""
        key = key or new_api_key("term")
        expiry = expiry_of(expires_at, self._clock.now())
        if name.strip().casefold() == WEB_TERMINAL_NAME.casefold():
            raise InvalidInput(
                f"'{WEB_TERMINAL_NAME}' names the outlet's cashiers' sign-in; choose another", field="name"
            )
        async with self._unit_of_work() as uow:
            if not await uow.outlet_exists(network, outlet_id):
                raise NotFound(f"no outlet {outlet_id} in this network", field="outlet_id")
            terminal_id = await uow.create_terminal(network, outlet_id, _name(name), key_hash(key), key[:12], expiry)
            after = {"outlet_id": outlet_id, "name": name.strip(), "active": True, "expires_at": _moment(expiry)}
            await uow.audit(entry(network.id, "terminal.create", "terminal", terminal_id, after=after))
        return {
            "id": terminal_id,
            "outlet_id": outlet_id,
            "name": name.strip(),
            "key": key,
            "expires_at": _moment(expiry),
        }

    async def create_cashier(
        self,
        network: NetworkRef,
        outlet_id: int,
        login: str,
        name: str,
        password: str,
        partner_id: int | None = None,
    ) -> dict[str, Any]:
        """A cashier of an outlet; with `partner_id` (an owner), only at that partner's outlets."""
        login = login.strip()
        if not re.match(r"^[A-Za-z0-9._-]{2,100}$", login):
            raise InvalidInput("a login has 2–100 letters, digits, dots, hyphens or underscores", field="login")
        text = _name(name)
        _check_password(password)
        try:
            async with self._unit_of_work() as uow:
                owner = await uow.outlet_partner_id(network, outlet_id)
                if owner is None or (partner_id is not None and owner != partner_id):
                    raise NotFound(f"no outlet {outlet_id} in this network", field="outlet_id")
                cashier_id = await uow.create_cashier(network, outlet_id, login, text, hash_password(password))
                after = {"outlet_id": outlet_id, "login": login, "name": text, "active": True}
                await uow.audit(
                    entry(network.id, "cashier.create", "cashier", cashier_id, after=after, partner_id=owner)
                )
        except DuplicateKey:
            raise Conflict(f"the outlet already has a cashier '{login}'", field="login") from None
        return {"id": cashier_id, "outlet_id": outlet_id, "login": login, "name": text}

    async def set_cashier_password(
        self, network: NetworkRef, cashier_id: int, password: str, partner_id: int | None = None
    ) -> dict[str, Any]:
        _check_password(password)
        async with self._unit_of_work() as uow:
            owner = await _require_cashier(uow, network, cashier_id, partner_id)
            if not await uow.set_cashier_password(network, cashier_id, hash_password(password)):
                raise _no_cashier(cashier_id)
            changed = {"password": "changed"}  # redacted: only that it changed is kept
            await uow.audit(
                entry(network.id, "cashier.password_reset", "cashier", cashier_id, after=changed, partner_id=owner)
            )
        self._access_changes.moved()
        return {"id": cashier_id, "password_changed": True}

    async def set_cashier_active(
        self, network: NetworkRef, cashier_id: int, active: bool, partner_id: int | None = None
    ) -> dict[str, Any]:
        """Block (or unblock) a cashier: a blocked cashier cannot sign in, and purchases cannot name them."""
        async with self._unit_of_work() as uow:
            owner = await _require_cashier(uow, network, cashier_id, partner_id)
            was = (await uow.staff_cashiers(network, None, cashier_id))[0].active
            if not await uow.set_cashier_active(network, cashier_id, active):
                raise _no_cashier(cashier_id)
            await uow.audit(
                entry(
                    network.id,
                    "cashier.unblock" if active else "cashier.block",
                    "cashier",
                    cashier_id,
                    before={"active": was},
                    after={"active": active},
                    partner_id=owner,
                )
            )
        self._access_changes.moved()
        return {"id": cashier_id, "active": active}

    async def cashier(self, network: NetworkRef, cashier_id: int, partner_id: int | None = None) -> StaffCashier:
        async with self._unit_of_work() as uow:
            found = await uow.staff_cashiers(network, partner_id, cashier_id)
        if not found:
            raise _no_cashier(cashier_id)
        return found[0]

    async def staff(self, network: NetworkRef, partner_id: int | None = None) -> dict[str, Any]:
        """Outlets and cashiers for the console: one partner's (an owner), or every partner's (partner_id None)."""
        async with self._unit_of_work() as uow:
            return {
                "outlets": await uow.staff_outlets(network, partner_id),
                "cashiers": await uow.staff_cashiers(network, partner_id),
                "partners": await uow.partner_names(network),
            }

    async def listing(self, network: NetworkRef) -> dict[str, Any]:
        async with self._unit_of_work() as uow:
            return {
                "network": {"id": network.id, "code": network.code, "name": network.name, "currency": network.currency},
                **await uow.listing(network),
            }

    async def deactivate_terminal(self, network: NetworkRef, terminal_id: int) -> dict[str, Any]:
        """Revoke a terminal's key: every request sent after this answers is refused (401), by every worker."""
        async with self._unit_of_work() as uow:
            prefix = await uow.terminal_key_prefix(network, terminal_id)
            if prefix is None:
                raise NotFound(f"no terminal {terminal_id} in this network", field="terminal_id")
            if prefix == WEB_TERMINAL_KEY_PREFIX:
                raise Conflict(
                    "this is the outlet's web terminal, which cashiers use by signing in at /terminal; block the "
                    "cashiers instead",
                    field="terminal_id",
                )
            await uow.set_terminal_active(network, terminal_id, False)
            await uow.audit(entry(network.id, "terminal.revoke", "terminal", terminal_id, after={"active": False}))
        self._access_changes.moved()
        return {"id": terminal_id, "active": False}

    async def partners(self, network: NetworkRef) -> list[dict[str, Any]]:
        """The partners with the e-mail address their statements go to (None: not set)."""
        async with self._unit_of_work() as uow:
            return await uow.partners_with_email(network)


async def _require_cashier(uow: AdminUnitOfWork, network: NetworkRef, cashier_id: int, partner_id: int | None) -> int:
    """The cashier's partner; a cashier of another partner is "not found" for an owner, exactly like one that does
    not exist."""
    owner = await uow.cashier_partner_id(network, cashier_id)
    if owner is None or (partner_id is not None and owner != partner_id):
        raise _no_cashier(cashier_id)
    return owner


def _no_cashier(cashier_id: int) -> NotFound:
    return NotFound(f"no cashier {cashier_id} in this network", field="cashier_id")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password has at least {MIN_PASSWORD_LENGTH} characters", field="password")


def _moment(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def program_json(program: BonusProgram) -> dict[str, Any]:
    return {
        "code": program.code,
        "currency": program.currency,
        "point_value": format_minor(program.point_value_minor, program.currency),
        "min_check_for_redeem": format_minor(program.min_check_for_redeem_minor, program.currency),
        "points_expire_days": program.points_expire_days,
        "tiers": [
            {
                "from_lifetime_spend": format_minor(tier.min_lifetime_spend_minor, program.currency),
                "accrual": format_basis_points(tier.accrual_bp),
                "fixed_points_per_check": tier.fixed_points_per_check,
                "redeem_cap": format_basis_points(tier.redeem_cap_bp),
            }
            for tier in program.tiers
        ],
    }
