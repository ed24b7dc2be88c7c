"""Key rotation and expiry: the network's admin key and terminal keys (docs: README, "Keys").

A rotation issues a new key, shown once, and retires the old one: it keeps working until its grace period ends (0:
at once), so a till or an integration is reconfigured while it still serves. A retried rotation issues another key
and shortens no grace already given, so a lost answer cuts nobody off. An admin key in its grace period may do its
network's work but may not rotate or re-date the admin key — whoever holds a replaced key cannot keep it alive —
except to retry the very rotation that replaced it, named by the same Idempotency-Key (its answer, with the only
copy of the new key, may have been lost on the way).
Every command takes the caller (`KeyCaller`) so that the audit log can record who changed which key.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from coalition.application.admin import WEB_TERMINAL_KEY_PREFIX, NetworkRef, validate_code
from coalition.application.audit import AuditTrail, entry
from coalition.application.commands import key_hash
from coalition.application.key_life import KEY_PREFIX_LENGTH, KeyCaller, expiry_of, grace_of, old_key_end
from coalition.application.ports import Clock
from coalition.application.security import new_api_key
from coalition.domain.errors import Conflict, Forbidden, NotFound


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A key as stored: its hash, the prefix lists show, its expiry and (a terminal's) whether it is active."""

    key_hash: str
    key_prefix: str | None
    expires_at: datetime | None
    active: bool = True


class KeyUnitOfWork(AuditTrail, Protocol):
    async def network_by_code(self, code: str) -> NetworkRef | None: ...
    async def admin_key_for_update(self, network_id: int) -> StoredKey: ...
    async def set_admin_key(self, network_id: int, key_hash: str, expires_at: datetime | None) -> None: ...
    async def set_admin_key_expiry(self, network_id: int, expires_at: datetime | None) -> None: ...
    async def terminal_key_for_update(self, network_id: int, terminal_id: int) -> StoredKey | None: ...
    async def set_terminal_key(
        self, terminal_id: int, key_hash: str, key_prefix: str, expires_at: datetime | None
    ) -> None: ...
    async def set_terminal_key_expiry(self, terminal_id: int, expires_at: datetime | None) -> None: ...
    async def retire_key(
        self,
        network_id: int,
        terminal_id: int | None,
        old: StoredKey,
        valid_until: datetime,
        now: datetime,
        rotation_key_hash: str | None = None,
    ) -> None: ...
    async def retired_by_rotation(self, key_hash: str, rotation_key_hash: str) -> bool: ...
    async def end_retired_keys(self, network_id: int, terminal_id: int, now: datetime) -> int: ...


class KeyUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[KeyUnitOfWork]: ...


def moment_text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class RotatedAdminKey:
    """A rotation's answer: the new key (its only copy) and until when the replaced one still works."""

    network: str
    admin_key: str
    expires_at: datetime | None
    previous_key_valid_until: datetime

    def json(self) -> dict[str, Any]:
        return {
            "network": self.network,
            "admin_key": self.admin_key,
            "key_prefix": self.admin_key[:KEY_PREFIX_LENGTH],
            "expires_at": moment_text(self.expires_at),
            "previous_key_valid_until": moment_text(self.previous_key_valid_until),
        }


@dataclass(frozen=True, slots=True)
class RotatedTerminalKey:
    """A terminal's rotation: the new key (its only copy), and the replaced key's prefix and end of grace."""

    terminal_id: int
    key: str
    expires_at: datetime | None
    previous_key_prefix: str | None
    previous_key_valid_until: datetime

    @property
    def key_prefix(self) -> str:
        return self.key[:KEY_PREFIX_LENGTH]

    def json(self) -> dict[str, Any]:
        return {
            "id": self.terminal_id,
            "key": self.key,
            "key_prefix": self.key_prefix,
            "expires_at": moment_text(self.expires_at),
            "previous_key_prefix": self.previous_key_prefix,
            "previous_key_valid_until": moment_text(self.previous_key_valid_until),
        }


class KeyService:
    def __init__(
        self, unit_of_work: KeyUnitOfWorkFactory, clock: Clock, terminal_keys_changed: Callable[[], None]
    ) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock
        # the terminal key cache forgets what it holds, so a shortened validity bites in this process at once
        self._terminal_keys_changed = terminal_keys_changed

    # --- the network's admin key ---------------------------------------------------------------------------

    async def rotate_admin_key(
        self,
        caller: KeyCaller,
        network_code: str,
        grace_seconds: int,
        expires_at: datetime | None = None,
        retry_key: str | None = None,
    ) -> RotatedAdminKey:
        """A new admin key (shown once); the old one stays valid for `grace_seconds` (0: refused at once).
        `retry_key` (the request's Idempotency-Key) lets a retry by the key this rotation replaced through."""
        now = self._clock.now()
        grace, new_expiry = grace_of(grace_seconds), expiry_of(expires_at, now)
        new_key = new_api_key("adm")
        rotation = None if retry_key is None else key_hash(retry_key)
        async with self._unit_of_work() as uow:
            network = await _network_for(uow, caller, network_code, allow_retired=rotation is not None)
            old = await uow.admin_key_for_update(network.id)
            # checked under the lock: of two rotations by one key at once, the second finds it replaced
            if caller.key_hash not in (None, old.key_hash) and not (
                rotation is not None and await uow.retired_by_rotation(caller.key_hash, rotation)
            ):
                raise _replaced()
            old_valid_until = old_key_end(now, grace, old.expires_at)
            await uow.retire_key(network.id, None, old, old_valid_until, now, rotation)
            await uow.set_admin_key(network.id, key_hash(new_key), new_expiry)
            # named so that the redaction of secrets (any field naming a key) leaves the figures readable
            before = {"expires_at": moment_text(old.expires_at)}
            after = {"expires_at": moment_text(new_expiry), "replaced_one_valid_until": moment_text(old_valid_until)}
            await uow.audit(entry(network.id, "admin_key.rotate", "network", network.id, before=before, after=after))
        return RotatedAdminKey(network.code, new_key, new_expiry, old_valid_until)

    async def set_admin_key_expiry(
        self, caller: KeyCaller, network_code: str, expires_at: datetime | None
    ) -> dict[str, Any]:
        """When the current admin key expires (None: never)."""
        expiry = expiry_of(expires_at, self._clock.now())
        async with self._unit_of_work() as uow:
            network = await _network_for(uow, caller, network_code)
            old = await uow.admin_key_for_update(network.id)
            await uow.set_admin_key_expiry(network.id, expiry)
            await uow.audit(
                entry(
                    network.id,
                    "admin_key.expiry",
                    "network",
                    network.id,
                    before={"expires_at": moment_text(old.expires_at)},
                    after={"expires_at": moment_text(expiry)},
                )
            )
        return {"network": network.code, "expires_at": moment_text(expiry)}

    async def admin_key_expiry(self, caller: KeyCaller, network_code: str) -> dict[str, Any]:
        """When the network's current admin key expires (None: never): what PUT .../admin-key/expiry sets."""
        async with self._unit_of_work() as uow:
            network = await _network_for(uow, caller, network_code)
            current = await uow.admin_key_for_update(network.id)
        return {"network": network.code, "expires_at": moment_text(current.expires_at)}

    # --- terminal keys -------------------------------------------------------------------------------------

    async def rotate_terminal_key(
        self,
        caller: KeyCaller,
        network: NetworkRef,
        terminal_id: int,
        grace_seconds: int,
        expires_at: datetime | None = None,
    ) -> RotatedTerminalKey:
        """A new key for the same terminal (same outlet, same idempotency records); the old key serves on until
        the grace ends, so the till is reconfigured without a pause."""
        now = self._clock.now()
        grace, new_expiry = grace_of(grace_seconds), expiry_of(expires_at, now)
        new_key = new_api_key("term")
        async with self._unit_of_work() as uow:
            old = await _terminal_key(uow, network, terminal_id)
            old_valid_until = old_key_end(now, grace, old.expires_at)
            await uow.retire_key(network.id, terminal_id, old, old_valid_until, now)
            await uow.set_terminal_key(terminal_id, key_hash(new_key), new_key[:KEY_PREFIX_LENGTH], new_expiry)
            before = {"prefix": old.key_prefix, "expires_at": moment_text(old.expires_at)}
            after = {
                "prefix": new_key[:KEY_PREFIX_LENGTH],
                "expires_at": moment_text(new_expiry),
                "replaced_one_valid_until": moment_text(old_valid_until),
            }
            await uow.audit(entry(network.id, "terminal.rotate", "terminal", terminal_id, before=before, after=after))
        self._terminal_keys_changed()
        return RotatedTerminalKey(terminal_id, new_key, new_expiry, old.key_prefix, old_valid_until)

    async def set_terminal_key_expiry(
        self, caller: KeyCaller, network: NetworkRef, terminal_id: int, expires_at: datetime | None
    ) -> dict[str, Any]:
        """When the terminal's current key expires (None: never)."""
        expiry = expiry_of(expires_at, self._clock.now())
        async with self._unit_of_work() as uow:
            old = await _terminal_key(uow, network, terminal_id)
            await uow.set_terminal_key_expiry(terminal_id, expiry)
            await uow.audit(
                entry(
                    network.id,
                    "terminal.expiry",
                    "terminal",
                    terminal_id,
                    before={"expires_at": moment_text(old.expires_at)},
                    after={"expires_at": moment_text(expiry)},
                )
            )
        self._terminal_keys_changed()
        return {"id": terminal_id, "expires_at": moment_text(expiry)}

    async def terminal_key_expiry(self, caller: KeyCaller, network: NetworkRef, terminal_id: int) -> dict[str, Any]:
        """When the terminal's current key expires (None: never): what PUT .../key/expiry sets."""
        async with self._unit_of_work() as uow:
            current = await _terminal_key(uow, network, terminal_id)
        return {"id": terminal_id, "expires_at": moment_text(current.expires_at)}

    async def end_previous_terminal_keys(
        self, caller: KeyCaller, network: NetworkRef, terminal_id: int
    ) -> dict[str, Any]:
        """End the grace of the terminal's replaced keys now: once the till uses its new key, the old one goes."""
        async with self._unit_of_work() as uow:
            if await uow.terminal_key_for_update(network.id, terminal_id) is None:
                raise _no_terminal(terminal_id)
            ended = await uow.end_retired_keys(network.id, terminal_id, self._clock.now())
            after = {"replaced_ones_ended": ended}
            await uow.audit(entry(network.id, "terminal.end_previous", "terminal", terminal_id, after=after))
        self._terminal_keys_changed()
        return {"id": terminal_id, "previous_keys_ended": ended}


async def _network_for(
    uow: KeyUnitOfWork, caller: KeyCaller, network_code: str, allow_retired: bool = False
) -> NetworkRef:
    """The network whose admin key the caller may change: any (the operator), or the admin key's own network —
    by its current key (a replaced one only to retry, when `allow_retired`; the rotation checks the retry)."""
    if caller.network is None:
        network = await uow.network_by_code(validate_code(network_code, "network"))
    else:
        network = caller.network if caller.network.code == network_code else None
    if network is None:  # another network's is "not found", exactly like one that does not exist
        raise NotFound(f"no network '{network_code}'", field="network")
    if caller.retired and not allow_retired:
        raise _replaced()
    return network


def _replaced() -> Forbidden:
    return Forbidden(
        "this admin key was replaced and is in its grace period: only the current admin key or the operator may "
        "change the admin key"
    )


async def _terminal_key(uow: KeyUnitOfWork, network: NetworkRef, terminal_id: int) -> StoredKey:
    found = await uow.terminal_key_for_update(network.id, terminal_id)
    if found is None:
        raise _no_terminal(terminal_id)
    if found.key_prefix == WEB_TERMINAL_KEY_PREFIX:
        raise Conflict(
            "this is the outlet's web terminal, which cashiers use by signing in at /terminal: it has no key",
            field="terminal_id",
        )
    if not found.active:
        raise Conflict("this terminal is revoked: create a new terminal instead", field="terminal_id")
    return found


def _no_terminal(terminal_id: int) -> NotFound:
    return NotFound(f"no terminal {terminal_id} in this network", field="terminal_id")
