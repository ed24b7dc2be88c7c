"""The member's own page: signing in with a card number and a PIN or an e-mailed one-time code, and what the
member may read there — the balance and its money value, points about to expire, open gifts, recent purchases and
visits. Every read takes the member id of the signed-in session, never an identifier typed on the page.

One-time codes are 6 digits, valid 10 minutes, used once and kept only as argon2id hashes, like the PINs. Every code
or PIN typed counts as a sign-in attempt of the member before it is checked, and an unknown card number as one of the
address (sign_in_limits.py), so guessing and trying card numbers are refused for a while.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from coalition.application.commands import customer_candidates
from coalition.application.ports import (
    Clock,
    GiftsPort,
    LedgerPort,
    MemberRef,
    MembersPort,
    ReferencePort,
)
from coalition.application.pos_ports.wallets import WalletsPort
from coalition.application.security import hash_password
from coalition.application.settlement import Mailer, OutgoingMail
from coalition.application.sign_in_limits import Attempt
from coalition.application.tenders import start_of_local_day
from coalition.application.wallet_reports import WalletOverview, read_wallet
from coalition.application.web_sessions import NewSession, SignedIn, WebSessions
from coalition.domain.cards import CardState
from coalition.domain.errors import CardNotActive, Conflict, InvalidInput, NotFound, TooManyAttempts, Unauthorized
from coalition.domain.purchase import points_balance

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
CODES_PER_WINDOW_MAX = 3  # codes e-mailed to one member per window: enough for a lost mail, too few to flood
CODE_WINDOW = timedelta(minutes=15)
PIN_LENGTHS = range(4, 9)
RECENT_ROWS = 10
WRONG_PIN = "the card number or the PIN is wrong"
WRONG_CODE = "the code is wrong or has expired; ask for a new one"
TOO_MANY = "too many wrong codes or PINs for this card; try again in 15 minutes"
CARD_NOT_USABLE = "this card is not active (blocked, lost or replaced): ask a cashier"
ASK_A_CASHIER = "this card has no PIN and no e-mail address: ask a cashier to add your e-mail address"


@dataclass(frozen=True, slots=True)
class MemberNetwork:
    id: int
    code: str
    name: str
    phone_region: str | None = None  # the network's country: a phone typed without its country code is read there


@dataclass(frozen=True, slots=True)
class MemberAccount:
    """What signing in needs to know of a member."""

    member_id: int
    network_id: int
    name: str | None
    email: str | None
    pin_hash: str | None


@dataclass(frozen=True, slots=True)
class SignInCode:
    id: int
    code_hash: str


@dataclass(frozen=True, slots=True)
class ExpiringPoints:
    points: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OpenGift:
    name: str
    places: tuple[str, ...]  # outlet names where it is handed over
    valid_until: datetime


@dataclass(frozen=True, slots=True)
class RecentPurchase:
    occurred_at: datetime
    outlet: str
    check_minor: int
    points_redeemed: int
    points_earned: int
    amount_due_minor: int


@dataclass(frozen=True, slots=True)
class RecentVisit:
    started_at: datetime
    entry_outlet: str
    ended_at: datetime | None
    exit_outlet: str | None


@dataclass(frozen=True, slots=True)
class MemberActivity:
    """What the member page's own queries read (the points come through the POS unit of work)."""

    cards: tuple[str, ...]
    timezone: str
    purchases: tuple[RecentPurchase, ...]
    visits: tuple[RecentVisit, ...]


@dataclass(frozen=True, slots=True)
class MemberOverview:
    name: str | None
    cards: tuple[str, ...]
    currency: str
    timezone: str
    points_balance: int
    points_value_minor: int
    expiring: tuple[ExpiringPoints, ...]
    gifts: tuple[OpenGift, ...]
    purchases: tuple[RecentPurchase, ...]
    visits: tuple[RecentVisit, ...]
    has_pin: bool
    wallet: WalletOverview | None = None  # money on the card (issue 14); None: never had a wallet


class MemberPageUnitOfWork(Protocol):
    async def sign_in_networks(self, limit: int) -> list[MemberNetwork]: ...
    async def network_by_code(self, code: str) -> MemberNetwork | None: ...
    async def member_account(self, member_id: int) -> MemberAccount: ...
    async def set_pin(self, member_id: int, pin_hash: str, now: datetime) -> None: ...
    async def codes_sent_since(self, member_id: int, since: datetime) -> int: ...
    async def store_code(self, member_id: int, code_hash: str, now: datetime, expires_at: datetime) -> None: ...
    async def newest_usable_code(self, member_id: int, now: datetime) -> SignInCode | None: ...
    async def use_code(self, code_id: int, now: datetime) -> bool:
        """Mark the code used; False if another sign-in used it first."""
        ...

    async def member_activity(self, member_id: int, limit: int) -> MemberActivity: ...
    async def outlets_of_partners(self, network_id: int, partner_ids: frozenset[int]) -> list[str]: ...


class MemberPageUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[MemberPageUnitOfWork]: ...


class MemberPointsReader(MembersPort, LedgerPort, GiftsPort, ReferencePort, WalletsPort, Protocol):
    """What the page reads through the POS unit of work: the member, their points, open gifts and wallet, the
    program."""


class MemberPointsReaderFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[MemberPointsReader]: ...


CodeMail = Callable[[str, int], tuple[str, str]]  # (code, minutes valid) → (subject, text), in the reader's language


class MemberPage:
    def __init__(
        self,
        unit_of_work: MemberPageUnitOfWorkFactory,
        pos_unit_of_work: MemberPointsReaderFactory,
        web_sessions: WebSessions,
        clock: Clock,
        mailer: Mailer | None,
    ) -> None:
        self.unit_of_work = unit_of_work
        self.pos_unit_of_work = pos_unit_of_work
        self.web_sessions = web_sessions
        self.clock = clock
        self.mailer = mailer

    async def only_network(self) -> MemberNetwork | None:
        """The server's network when it has exactly one: then the sign-in does not ask which."""
        async with self.unit_of_work() as uow:
            found = await uow.sign_in_networks(2)
        return found[0] if len(found) == 1 else None

    async def network(self, code: str) -> MemberNetwork:
        text = code.strip().lower()
        if not text:
            raise InvalidInput("type the network code printed on your card or the shop's poster", field="network")
        async with self.unit_of_work() as uow:
            found = await uow.network_by_code(text)
        if found is None:
            raise NotFound(f"no network has the code '{code.strip()}'", field="network")
        return found

    async def send_code(self, network: MemberNetwork, card: str, address: str, mail: CodeMail) -> str:
        """E-mail a new one-time code to the member's profile address; answers the address, partly hidden."""
        account, _scope = await self._account(network, card, address)
        if not account.email:
            if account.pin_hash is None:
                raise Conflict(ASK_A_CASHIER, field="card")
            raise Conflict("this card has no e-mail address: sign in with your PIN", field="card")
        if self.mailer is None:
            raise Conflict("this server sends no e-mail: sign in with your PIN, or ask a cashier", field="card")
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        now = self.clock.now()
        async with self.unit_of_work() as uow:
            if await uow.codes_sent_since(account.member_id, now - CODE_WINDOW) >= CODES_PER_WINDOW_MAX:
                raise TooManyAttempts(
                    "several codes were sent already; use the last one or try again in 15 minutes", field="card"
                )
            await uow.store_code(account.member_id, hash_password(code), now, now + CODE_LIFETIME)
        subject, text = mail(code, int(CODE_LIFETIME.total_seconds() // 60))
        try:
            await self.mailer.send(OutgoingMail(account.email, subject, text))
        except OSError:
            raise Conflict("the e-mail could not be sent; try again in a few minutes", field="card") from None
        return masked_email(account.email)

    async def sign_in_with_code(self, network: MemberNetwork, card: str, code: str, address: str) -> SignedIn:
        account, scope = await self._account(network, card, address)
        attempt = await self._count_attempt(scope, address)
        async with self.unit_of_work() as uow:
            stored = await uow.newest_usable_code(account.member_id, self.clock.now())
        typed = code.strip().replace(" ", "")
        if stored is None or not typed.isdigit() or not await self.web_sessions.secret_matches(stored.code_hash, typed):
            raise Unauthorized(WRONG_CODE, field="code")
        async with self.unit_of_work() as uow:
            if not await uow.use_code(stored.id, self.clock.now()):
                raise Unauthorized(WRONG_CODE, field="code")
        return await self._open(account, attempt, card)

    async def sign_in_with_pin(self, network: MemberNetwork, card: str, pin: str, address: str) -> SignedIn:
        account, scope = await self._account(network, card, address)
        if account.pin_hash is None:
            if account.email:
                raise Conflict("this card has no PIN yet: ask for a code by e-mail, then set a PIN", field="pin")
            raise Conflict(ASK_A_CASHIER, field="card")
        if not pin.strip():
            raise InvalidInput("type your PIN, or ask for a one-time code by e-mail", field="pin")
        attempt = await self._count_attempt(scope, address)
        if not await self.web_sessions.secret_matches(account.pin_hash, pin.strip()):
            raise Unauthorized(WRONG_PIN, field="pin")
        return await self._open(account, attempt, card)

    async def set_pin(self, member_id: int, pin: str, repeated: str) -> None:
        text = pin.strip()
        if not text.isdigit() or len(text) not in PIN_LENGTHS:
            raise InvalidInput(f"a PIN has {PIN_LENGTHS.start} to {PIN_LENGTHS.stop - 1} digits", field="pin")
        if len(set(text)) == 1:
            raise InvalidInput("a PIN of one digit repeated is too easy to guess", field="pin")
        if repeated.strip() != text:
            raise InvalidInput("the two PINs differ; type the same PIN twice", field="pin_repeat")
        async with self.unit_of_work() as uow:
            await uow.set_pin(member_id, hash_password(text), self.clock.now())

    async def overview(self, network_id: int, member_id: int) -> MemberOverview:
        """The signed-in member's own page; `member_id` comes from the session only."""
        now = self.clock.now()
        async with self.pos_unit_of_work() as pos:
            member = await pos.member_by_id(member_id)
            program = (await pos.program_of(network_id)).program
            state = await pos.member_points(member)
            gifts = await pos.member_gifts(member_id, now)
        async with self.unit_of_work() as uow:
            account = await uow.member_account(member_id)
            if account.network_id != network_id:
                raise NotFound("no such member in this network", field="member")
            activity = await uow.member_activity(member_id, RECENT_ROWS)
            open_gifts = [
                OpenGift(
                    gift.gift_type.name,
                    tuple(sorted(gift.outlets))
                    or tuple(await uow.outlets_of_partners(network_id, gift.gift_type.partner_ids)),
                    gift.valid_until,
                )
                for gift in gifts
            ]
        async with self.pos_unit_of_work() as pos:
            day_start = start_of_local_day(now, activity.timezone)
            wallet = await read_wallet(pos, member_id, program.currency, day_start, RECENT_ROWS)
        balance = points_balance(state, now)
        expiring = sorted(
            (
                ExpiringPoints(lot.remaining, lot.expires_at)
                for lot in state.lots
                if lot.expires_at is not None and lot.expires_at > now and lot.remaining > 0
            ),
            key=lambda item: item.expires_at,
        )
        return MemberOverview(
            name=account.name,
            cards=activity.cards,
            currency=program.currency,
            timezone=activity.timezone,
            points_balance=balance,
            points_value_minor=program.points_value_minor(max(balance, 0)),
            expiring=tuple(expiring),
            gifts=tuple(open_gifts),
            purchases=activity.purchases,
            visits=activity.visits,
            has_pin=account.pin_hash is not None,
            wallet=wallet,
        )

    async def _account(self, network: MemberNetwork, card: str, address: str) -> tuple[MemberAccount, str]:
        candidates = customer_candidates(card, "card", network.phone_region)
        async with self.pos_unit_of_work() as pos:
            member: MemberRef | None = await pos.find_member(network.id, candidates, lock=False)
        if member is None:
            # an attempt of the address, so that trying card numbers one after another is refused like guessing
            await self.web_sessions.count_attempt(None, address)
            raise NotFound("no card with this number in this network", field="card")
        if member.card_state is not None and member.card_state is not CardState.ACTIVE:
            # a blocked, lost or replaced card opens nothing, not even its owner's page
            raise CardNotActive(CARD_NOT_USABLE, field="card")
        async with self.unit_of_work() as uow:
            account = await uow.member_account(member.member_id)
        return account, f"member:{network.id}:{member.member_id}"

    async def _count_attempt(self, scope: str, address: str) -> Attempt:
        try:
            return await self.web_sessions.count_attempt(scope, address)
        except TooManyAttempts as error:
            if error.field == "login":  # a per-account limit: say it in the member's words
                raise TooManyAttempts(TOO_MANY, field="card", retry_after_seconds=error.retry_after_seconds) from None
            raise

    async def _open(self, account: MemberAccount, attempt: Attempt, card: str) -> SignedIn:
        display_name = account.name or card.strip()  # an anonymous card shows its number
        return await self.web_sessions.open_session(
            NewSession("member", account.network_id, display_name, member_id=account.member_id), attempt
        )


def masked_email(email: str) -> str:
    """i***@example.com: enough for the member to recognise the address, not enough to harvest it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
