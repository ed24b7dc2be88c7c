"""How many sign-in attempts are checked: per address, per account at an address, and per account.

Every attempt is counted BEFORE its password, PIN or code is checked, in one transaction whose statements each
record the attempt and return the count (an upsert on PostgreSQL, where the row stays locked until the commit; on
SQLite every write transaction is BEGIN IMMEDIATE). So many guesses sent at once cannot all pass a count read before
any of them was written: at most the limit is ever checked. A refused attempt is rolled back and counts on nothing.

The limits, each over a 15-minute window that starts with its first attempt:
- 30 attempts from one address, whatever the accounts (one address trying many logins);
- 5 attempts for one account from one address (someone guessing at a till, or a cashier who forgot);
- 20 attempts for one account from addresses where it has not signed in within 30 days (one account sprayed from
  many addresses). Its usual tills are not counted here, so the real user still gets in while others spray it.
A successful sign-in gives its attempt back, clears the account's count at that address and remembers the address.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from coalition.application.ports import Clock
from coalition.domain.errors import TooManyAttempts

ADDRESS_ATTEMPTS_MAX = 30
ACCOUNT_AT_ADDRESS_ATTEMPTS_MAX = 5
ACCOUNT_ATTEMPTS_MAX = 20
ATTEMPT_WINDOW = timedelta(minutes=15)
USUAL_ADDRESS_FOR = timedelta(days=30)
TOO_MANY_FOR_ACCOUNT = "too many wrong passwords for this login; try again in 15 minutes"
TOO_MANY_FROM_ADDRESS = "too many failed sign-ins from this address; try again in 15 minutes"


@dataclass(frozen=True, slots=True)
class Counted:
    attempts: int  # including the one just counted
    window_started_at: datetime


class SignInLimitsUnitOfWork(Protocol):
    async def count_attempt(self, scope_hash: str, now: datetime, window_start: datetime) -> Counted:
        """Record one attempt in the scope's window (a new window if its last one started before `window_start`)
        and answer the count, in one statement."""
        ...

    async def give_back_attempt(self, scope_hash: str) -> None: ...
    async def clear_attempts(self, scope_hash: str) -> None: ...
    async def signed_in_lately(self, account_address_hash: str, since: datetime) -> bool: ...
    async def remember_sign_in(self, account_address_hash: str, now: datetime) -> None: ...
    async def prune_attempts(self, windows_started_before: datetime, sign_ins_before: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt counted, so that a success can give it back."""

    account: str | None
    address: str
    scope_hashes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Limit:
    scope: str
    attempts_max: int
    message: str
    field: str | None


def scope_hash(scope: str) -> str:
    """Counters are keyed by a hash: neither logins nor addresses are stored, and any typed text fits."""
    return hashlib.sha256(scope.encode("utf-8", "surrogatepass")).hexdigest()


async def count_attempt(uow: SignInLimitsUnitOfWork, clock: Clock, account: str | None, address: str) -> Attempt:
    """Count an attempt to sign in to `account` (None: an account that does not exist, such as an unknown card)
    from `address`; TooManyAttempts, with the seconds to wait, when a limit is already reached. The caller's unit
    of work must roll back on that error, so that a refused attempt counts on nothing."""
    now = clock.now()
    limits = [_Limit(f"address:{address}", ADDRESS_ATTEMPTS_MAX, TOO_MANY_FROM_ADDRESS, None)]
    if account is not None:
        limits.append(
            _Limit(f"account:{account}@{address}", ACCOUNT_AT_ADDRESS_ATTEMPTS_MAX, TOO_MANY_FOR_ACCOUNT, "login")
        )
        if not await uow.signed_in_lately(scope_hash(f"{account}@{address}"), now - USUAL_ADDRESS_FOR):
            limits.append(_Limit(f"account:{account}", ACCOUNT_ATTEMPTS_MAX, TOO_MANY_FOR_ACCOUNT, "login"))
    hashes = []
    for limit in limits:  # always in this order (address, account at address, account): no lock cycle
        hashed = scope_hash(limit.scope)
        counted = await uow.count_attempt(hashed, now, now - ATTEMPT_WINDOW)
        if counted.attempts > limit.attempts_max:
            wait = counted.window_started_at + ATTEMPT_WINDOW - now
            raise TooManyAttempts(
                limit.message, field=limit.field, retry_after_seconds=max(1, math.ceil(wait.total_seconds()))
            )
        hashes.append(hashed)
    return Attempt(account, address, tuple(hashes))


async def attempt_succeeded(uow: SignInLimitsUnitOfWork, clock: Clock, attempt: Attempt) -> None:
    """The password was right: the attempt is given back, the account's count at this address starts afresh and
    the address becomes one of the account's usual ones (the account-wide limit does not count it for 30 days)."""
    now = clock.now()
    for hashed in attempt.scope_hashes:
        await uow.give_back_attempt(hashed)
    if attempt.account is not None:
        await uow.clear_attempts(scope_hash(f"account:{attempt.account}@{attempt.address}"))
        await uow.remember_sign_in(scope_hash(f"{attempt.account}@{attempt.address}"), now)
    await uow.prune_attempts(now - ATTEMPT_WINDOW, now - USUAL_ADDRESS_FOR)
