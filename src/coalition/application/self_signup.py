"""Customers sign themselves up (issue 18): the counter's QR code opens /join/<network code> on the customer's phone;
they give a name, a phone and their consent, and get a card number on the spot.

Off until the network's administrator turns it on (`networks.self_signup_enabled`; a network code is short and
guessable, so the page of a network that did not ask for it does not exist). The member is enrolled through the
till's own command (application/enrolment.py) at the web terminal of the network's first outlet, so the welcome
bonus of the `enrolment` rules, the webhooks and the audit of a till's enrolment all apply. The card number is
generated: 12 digits, the last a Luhn check digit, so a mistyped number is caught at the till.

A phone that already has a card is refused with no word about the member it belongs to. Attempts are rate-limited
at the edge (adapters/web/join.py) per address and per network.
"""

from __future__ import annotations

import hashlib
import secrets
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from coalition.application.admin import WEB_TERMINAL_KEY_PREFIX
from coalition.application.audit import AuditTrail, entry
from coalition.application.commands import key_hash
from coalition.application.enrolment import EnrolInput
from coalition.application.ports import Clock, Profile, TerminalContext
from coalition.application.pos_results import CommandResult, Enrolment
from coalition.domain.errors import Conflict, InvalidInput, NotFound
from coalition.domain.gift_cards import luhn_digit
from coalition.domain.identifiers import IdentifierKind, normalize

CARD_DIGITS = 12
CARD_NUMBER_TRIES = 3  # a drawn number that is taken (1 in 10¹¹ per member) is drawn again
PHONE_TAKEN = "this phone already has a card: show it at the counter or open your page with it"
NOT_OPEN = "this shop does not take sign-ups here; ask at the counter"


@dataclass(frozen=True, slots=True)
class SignupNetwork:
    id: int
    code: str
    name: str
    enabled: bool
    first_outlet_id: int | None
    phone_region: str | None = None  # the network's country: a phone typed without its country code is read there
    card_minimum_minor: int = 0  # a card is issued only with a first purchase this large (0: none): no card here then
    currency: str = ""


@dataclass(frozen=True, slots=True)
class JoinForm:
    name: str
    phone: str
    consent_data_processing: bool
    consent_newsletters: bool


@dataclass(frozen=True, slots=True)
class Joined:
    member_id: int
    card_number: str  # "": registered by phone alone, the till issues the card with a large enough first purchase
    name: str
    points_balance: int


class SelfSignupUnitOfWork(AuditTrail, Protocol):
    async def signup_network(self, code: str) -> SignupNetwork | None: ...
    async def set_self_signup(self, network_id: int, enabled: bool) -> bool:
        """Set the option; answers what it was."""
        ...

    async def web_terminal_id(self, outlet_id: int, key_hash: str, key_prefix: str, now: datetime) -> int: ...


class SelfSignupUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[SelfSignupUnitOfWork]: ...


class Enroller(Protocol):
    """What sign-up uses of PosService: the till's enrolment and a terminal's context."""

    async def terminal(self, terminal_id: int) -> TerminalContext: ...
    async def enrol(
        self, ctx: TerminalContext, enrol: EnrolInput, idempotency_key: str | None, request_hash: str
    ) -> CommandResult[Enrolment]: ...


def new_card_number() -> str:
    """11 random digits (the OS's randomness) and their Luhn check digit."""
    body = "".join(secrets.choice("0123456789") for _ in range(CARD_DIGITS - 1))
    return body + luhn_digit(body)


def checked(form: JoinForm, region: str | None = None) -> JoinForm:
    """The form's fields, each refusal naming its field; a phone without its country code read as a number of
    `region` (the network's country)."""
    name = form.name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("write your name (1 to 200 characters)", field="name")
    if not form.phone.strip():
        raise InvalidInput("write your phone number", field="phone")
    phone = normalize(IdentifierKind.PHONE, form.phone, field="phone", region=region)
    if not form.consent_data_processing:
        raise InvalidInput("a card needs your consent to the processing of your data", field="consent_data_processing")
    return JoinForm(name, phone, True, form.consent_newsletters)


class SelfSignup:
    def __init__(self, unit_of_work: SelfSignupUnitOfWorkFactory, pos: Enroller, clock: Clock) -> None:
        self.unit_of_work = unit_of_work
        self.pos = pos
        self.clock = clock

    async def network(self, code: str, *, require_open: bool = True) -> SignupNetwork:
        """The network of a join page; NotFound for an unknown code and (`require_open`) while sign-up is off."""
        async with self.unit_of_work() as uow:
            found = await uow.signup_network(code.strip().lower())
        if found is None or (require_open and (not found.enabled or found.first_outlet_id is None)):
            raise NotFound(NOT_OPEN, field="network")
        return found

    async def set_enabled(self, network_id: int, code: str, enabled: bool) -> None:
        """The administrator turns the counter's sign-up on or off (audited)."""
        async with self.unit_of_work() as uow:
            was = await uow.set_self_signup(network_id, enabled)
            if was != enabled:
                await uow.audit(
                    entry(
                        network_id,
                        "network.self_signup",
                        "network",
                        network_id,
                        before={"self_signup_enabled": was},
                        after={"self_signup_enabled": enabled},
                    )
                )

    async def join(self, network: SignupNetwork, form: JoinForm, attempt: str) -> Joined:
        """Enrol the customer with a new card. `attempt` is the form's own key: the same form sent twice (a reload)
        answers the same card, through the enrolment's idempotency. While the network issues a card only with a
        first purchase of a minimum (`card_minimum_minor`), the customer is registered by their phone alone, and the
        till issues their card with that purchase."""
        joined = checked(form, network.phone_region)
        if network.first_outlet_id is None:
            raise NotFound(NOT_OPEN, field="network")
        ctx = await self.pos.terminal(await self._terminal_id(network.first_outlet_id))
        profile = Profile(
            name=joined.name,
            phone=joined.phone,
            consent_data_processing=True,
            consent_newsletters=joined.consent_newsletters,
        )
        request_hash = hashlib.sha256(repr(("join", joined)).encode()).hexdigest()
        for attempt_number in range(CARD_NUMBER_TRIES):
            key = f"join:{attempt}" + (f":{attempt_number}" if attempt_number else "")
            try:
                card_number = None if network.card_minimum_minor > 0 else new_card_number()
                result = await self.pos.enrol(ctx, EnrolInput("personal", card_number, profile), key, request_hash)
            except Conflict as conflict:
                if conflict.field == "identifiers":
                    raise Conflict(PHONE_TAKEN, field="phone") from None
                if conflict.field == "card_number" and attempt_number + 1 < CARD_NUMBER_TRIES:
                    continue
                raise
            body = result.body  # the enrolment's JSON: the same whether it ran now or is a reload's replay
            card = body.get("card") or {}
            member_id = int(body["member"]["id"])
            return Joined(member_id, str(card.get("number", "")), joined.name, int(body.get("points_balance", 0)))
        raise Conflict("no free card number was found; try again", field="network")  # pragma: no cover

    async def _terminal_id(self, outlet_id: int) -> int:
        """The outlet's web terminal (created like a cashier's first sign-in creates it; its key is never usable)."""
        hidden = secrets.token_urlsafe(24)
        async with self.unit_of_work() as uow:
            return await uow.web_terminal_id(
                outlet_id, key_hash(f"web:{outlet_id}:{hidden}"), WEB_TERMINAL_KEY_PREFIX, self.clock.now()
            )
