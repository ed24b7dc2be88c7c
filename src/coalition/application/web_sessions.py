"""Sign-in for the web pages: cashiers at /terminal, administrators and owners at /console, members at /me.

A session is a row; the browser holds a random token whose SHA-256 the row keeps. Each request reads the row, so a
revoked session (a cashier's password reset, a blocked user, a sign-out) stops working at once. Sign-in attempts are
counted per address, per account at an address and per account before the password is checked (sign_in_limits.py);
past a limit the sign-in is refused for a while without checking it, so guessing costs time.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NoReturn, Protocol, TypeVar

import anyio
import anyio.to_thread

from coalition.application.admin import WEB_TERMINAL_KEY_PREFIX
from coalition.application.audit import AuditTrail, entry
from coalition.application.commands import DuplicateKey, key_hash
from coalition.application.ports import Clock
from coalition.application.security import MIN_PASSWORD_LENGTH, hash_password, password_matches
from coalition.application.sign_in_limits import Attempt, SignInLimitsUnitOfWork, attempt_succeeded, count_attempt
from coalition.domain.errors import Conflict, InvalidInput, NotFound, Unauthorized

Role = Literal["administrator", "owner", "cashier", "member"]

HASH_CHECKS_AT_ONCE = 4  # argon2id takes 64 MiB and tens of milliseconds each: off the event loop, a few at a time
SESSION_LIFETIME: dict[Role, timedelta] = {
    "administrator": timedelta(hours=8),
    "owner": timedelta(hours=8),
    "cashier": timedelta(hours=14),  # one working day, opening to closing
    "member": timedelta(hours=1),
}
WRONG_CREDENTIALS = "the login or the password is wrong"
_UNKNOWN_ACCOUNT_HASH = hash_password(secrets.token_urlsafe(16))
_LOGIN = re.compile(r"^[\w.-]{2,100}$")


@dataclass(frozen=True, slots=True)
class WebIdentity:
    """Who a session belongs to, and where they may look. Pages scope every query by these ids."""

    role: Role
    network_id: int
    network_code: str
    network_name: str
    currency: str
    display_name: str
    csrf_token: str
    partner_id: int | None = None
    outlet_id: int | None = None
    terminal_id: int | None = None
    cashier_id: int | None = None
    console_user_id: int | None = None
    member_id: int | None = None
    # where times are shown: the cashier's outlet, else the owner's partner's first outlet, else the network's first
    timezone: str = "UTC"
    console_login: str | None = None  # a console user's login: the audit log names them by it


@dataclass(frozen=True, slots=True)
class NewSession:
    """What a successful sign-in stores; `token` goes to the browser once and is kept only as a hash."""

    role: Role
    network_id: int
    display_name: str
    partner_id: int | None = None
    outlet_id: int | None = None
    terminal_id: int | None = None
    cashier_id: int | None = None
    console_user_id: int | None = None
    member_id: int | None = None


@dataclass(frozen=True, slots=True)
class CashierAccount:
    cashier_id: int
    network_id: int
    partner_id: int
    outlet_id: int
    name: str
    password_hash: str
    active: bool


@dataclass(frozen=True, slots=True)
class ConsoleAccount:
    user_id: int
    network_id: int
    partner_id: int | None
    role: Literal["administrator", "owner"]
    name: str
    password_hash: str
    active: bool


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """A console login as the administrator sees it (never its password)."""

    user_id: int
    role: Literal["administrator", "owner"]
    partner_id: int | None
    login: str
    name: str
    active: bool


class WebSessionUnitOfWork(SignInLimitsUnitOfWork, AuditTrail, Protocol):
    async def cashier_account(self, outlet_id: int, login: str) -> CashierAccount | None: ...
    async def console_account(self, network_code: str, login: str) -> ConsoleAccount | None: ...
    async def web_terminal_id(self, outlet_id: int, key_hash: str, key_prefix: str, now: datetime) -> int: ...
    async def create_session(
        self, session: NewSession, token_hash: str, csrf_token: str, now: datetime, expires_at: datetime
    ) -> int: ...
    async def session_by_token_hash(self, token_hash: str, now: datetime) -> WebIdentity | None: ...
    async def prune(self, sessions_ended_before: datetime) -> None: ...
    async def revoke_session(self, token_hash: str, now: datetime) -> None: ...
    async def revoke_cashier_sessions(self, cashier_id: int, now: datetime) -> int: ...
    async def revoke_console_user_sessions(self, user_id: int, now: datetime) -> int: ...
    async def create_console_user(
        self,
        network_id: int,
        role: str,
        partner_id: int | None,
        login: str,
        name: str,
        password_hash: str,
        now: datetime,
    ) -> int: ...
    async def partner_in_network(self, network_id: int, partner_id: int) -> bool: ...
    # --- the administrator's console: console users ---
    async def console_users(self, network_id: int) -> list[ConsoleUser]: ...
    async def set_console_user_active(self, network_id: int, user_id: int, active: bool) -> bool:
        """False when the network has no such user."""
        ...

    async def set_console_user_password(self, network_id: int, user_id: int, password_hash: str) -> bool:
        """False when the network has no such user."""
        ...


class WebSessionUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[WebSessionUnitOfWork]: ...


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str
    identity: WebIdentity


Account = TypeVar("Account", CashierAccount, ConsoleAccount)


class WebSessions:
    def __init__(self, unit_of_work: WebSessionUnitOfWorkFactory, clock: Clock) -> None:
        self.unit_of_work = unit_of_work
        self.clock = clock
        self._hash_checks: anyio.CapacityLimiter | None = None

    async def sign_in_cashier(self, outlet_id: int, login: str, password: str, address: str) -> SignedIn:
        attempt = await self.count_attempt(f"cashier:{outlet_id}:{login.strip().lower()}", address)
        async with self.unit_of_work() as uow:
            account = await uow.cashier_account(outlet_id, login.strip())
        account = await self._verified(account, password)
        async with self.unit_of_work() as uow:
            await attempt_succeeded(uow, self.clock, attempt)
            # the web terminal is a terminal of the outlet like any till: purchases name it; its key is never shown
            hidden_key = secrets.token_urlsafe(24)
            terminal_id = await uow.web_terminal_id(
                account.outlet_id,
                key_hash(f"web:{account.outlet_id}:{hidden_key}"),
                WEB_TERMINAL_KEY_PREFIX,
                self.clock.now(),
            )
            return await self._open(
                uow,
                NewSession(
                    "cashier",
                    account.network_id,
                    account.name,
                    partner_id=account.partner_id,
                    outlet_id=account.outlet_id,
                    terminal_id=terminal_id,
                    cashier_id=account.cashier_id,
                ),
            )

    async def sign_in_console(self, network_code: str, login: str, password: str, address: str) -> SignedIn:
        attempt = await self.count_attempt(f"console:{network_code.strip().lower()}:{login.strip().lower()}", address)
        async with self.unit_of_work() as uow:
            account = await uow.console_account(network_code.strip().lower(), login.strip())
        account = await self._verified(account, password)
        async with self.unit_of_work() as uow:
            await attempt_succeeded(uow, self.clock, attempt)
            return await self._open(
                uow,
                NewSession(
                    account.role,
                    account.network_id,
                    account.name,
                    partner_id=account.partner_id,
                    console_user_id=account.user_id,
                ),
            )

    async def add_console_user(
        self, network_id: int, role: str, partner_id: int | None, login: str, name: str, password: str
    ) -> int:
        """An administrator of the network (no partner) or the owner of one partner, who signs in at /console."""
        if role not in ("administrator", "owner"):
            raise InvalidInput("a console user is an 'administrator' or an 'owner'", field="role")
        if (role == "owner") != (partner_id is not None):
            raise InvalidInput("an owner belongs to one partner; an administrator to none", field="partner_id")
        if not _LOGIN.match(login):
            raise InvalidInput("a login has 2–100 letters, digits, dots, hyphens or underscores", field="login")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidInput(f"a password has at least {MIN_PASSWORD_LENGTH} characters", field="password")
        text = name.strip()
        if not 1 <= len(text) <= 200:
            raise InvalidInput("a name has 1 to 200 characters", field="name")
        async with self.unit_of_work() as uow:
            if partner_id is not None and not await uow.partner_in_network(network_id, partner_id):
                raise NotFound(f"no partner {partner_id} in this network", field="partner_id")
            try:
                user_id = await uow.create_console_user(
                    network_id, role, partner_id, login, text, hash_password(password), self.clock.now()
                )
            except DuplicateKey:
                raise Conflict(f"the network already has a console user '{login}'", field="login") from None
            created = {"role": role, "partner_id": partner_id, "login": login, "name": text, "active": True}
            await uow.audit(entry(network_id, "console_user.create", "console_user", user_id, after=created))
        return user_id

    async def open_session(self, session: NewSession, attempt: Attempt) -> SignedIn:
        """For sign-ins checked elsewhere (a member's one-time code or PIN), after their `count_attempt`."""
        async with self.unit_of_work() as uow:
            await attempt_succeeded(uow, self.clock, attempt)
            return await self._open(uow, session)

    async def count_attempt(self, account: str | None, address: str) -> Attempt:
        """Count a sign-in attempt before its secret is checked; TooManyAttempts past a limit (sign_in_limits.py).
        `account` names what is signed in to (None: nothing, such as an unknown card number)."""
        async with self.unit_of_work() as uow:
            return await count_attempt(uow, self.clock, account, address)

    async def secret_matches(self, secret_hash: str, typed: str) -> bool:
        """An argon2id check in a worker thread, a few at a time, so that guesses do not stall the event loop."""
        if self._hash_checks is None:
            self._hash_checks = anyio.CapacityLimiter(HASH_CHECKS_AT_ONCE)
        check: Callable[[str, str], bool] = password_matches
        return await anyio.to_thread.run_sync(check, secret_hash, typed, limiter=self._hash_checks)

    async def identity(self, token: str | None) -> WebIdentity | None:
        if not token:
            return None
        async with self.unit_of_work() as uow:
            return await uow.session_by_token_hash(key_hash(token), self.clock.now())

    async def sign_out(self, token: str) -> None:
        async with self.unit_of_work() as uow:
            await uow.revoke_session(key_hash(token), self.clock.now())

    async def sign_out_cashier(self, cashier_id: int) -> int:
        """Every browser the cashier is signed in on is signed out at once (a password reset, a block)."""
        async with self.unit_of_work() as uow:
            return await uow.revoke_cashier_sessions(cashier_id, self.clock.now())

    async def console_users(self, network_id: int) -> list[ConsoleUser]:
        """The network's administrators and partner owners, administrators first."""
        async with self.unit_of_work() as uow:
            return await uow.console_users(network_id)

    async def set_console_user_active(
        self, network_id: int, user_id: int, active: bool, acting_user_id: int | None = None
    ) -> None:
        """Block (or unblock) a console login; a block signs every browser of theirs out at once."""
        if not active and user_id == acting_user_id:
            raise InvalidInput("you cannot block your own login; ask another administrator", field="user_id")
        async with self.unit_of_work() as uow:
            if not await uow.set_console_user_active(network_id, user_id, active):
                raise NotFound(f"this network has no console user {user_id}", field="user_id")
            action = "console_user.unblock" if active else "console_user.block"
            await uow.audit(entry(network_id, action, "console_user", user_id, after={"active": active}))
            if not active:
                await uow.revoke_console_user_sessions(user_id, self.clock.now())

    async def reset_console_user_password(self, network_id: int, user_id: int, password: str) -> None:
        """A new password, in force at once: the old one stops working and every open session is signed out."""
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidInput(f"a password has at least {MIN_PASSWORD_LENGTH} characters", field="password")
        async with self.unit_of_work() as uow:
            if not await uow.set_console_user_password(network_id, user_id, hash_password(password)):
                raise NotFound(f"this network has no console user {user_id}", field="user_id")
            await uow.revoke_console_user_sessions(user_id, self.clock.now())
            changed = {"password": "changed"}  # redacted: only that it changed is kept
            await uow.audit(entry(network_id, "console_user.password_reset", "console_user", user_id, after=changed))

    async def _open(self, uow: WebSessionUnitOfWork, session: NewSession) -> SignedIn:
        token = secrets.token_urlsafe(32)
        csrf_token = secrets.token_urlsafe(32)
        now = self.clock.now()
        # sign-ins are rare: each clears the sessions that no longer count, so the table does not grow without end
        await uow.prune(now - timedelta(days=1))
        await uow.create_session(session, key_hash(token), csrf_token, now, now + SESSION_LIFETIME[session.role])
        identity = await uow.session_by_token_hash(key_hash(token), now)
        if identity is None:
            raise Unauthorized("the session was not stored")
        return SignedIn(token, identity)

    async def _verified(self, account: Account | None, password: str) -> Account:
        """The account whose password this is; an unknown login costs a hash check too, so that the time taken
        does not tell which logins exist. The attempt was counted before: a wrong one stays counted."""
        if account is None:
            await self.secret_matches(_UNKNOWN_ACCOUNT_HASH, password)
            _wrong()
        if not (await self.secret_matches(account.password_hash, password) and account.active):
            _wrong()
        return account


def _wrong() -> NoReturn:
    raise Unauthorized(WRONG_CREDENTIALS, field="password")
