"""Machines that behave like the real ones, over MQTT or HTTP (`coalition device simulate`, docs/mqtt.md):

- vending: asks whether the card can pay for the slot (authorize), then charges it;
- arcade: charges one play per use;
- dispenser: holds the price, pours, captures what was poured (or the whole hold);
- timed_table: starts a session, waits, stops it (the server counts the minutes unless told);
- turnstile: the visit routes — entry, a wait, exit;
- kiosk: puts the cash it counted on the card (top-up).

With `crash_after_hold` a machine holds money and stops there, as a machine that lost power would: the hold is
left for the server's sweep to release.

With `offline_for` N a machine that sells per use (vending, arcade, dispenser, timed_table) serves its first N
customers without the network: each use is kept with its own key and the moment it happened, and when the network is
back they go up in one `offline-uses` call (at most MAX_UPLOAD_USES a call), priced by the server at their time; the
answer says which it charged (in full or `short` of what the card held), replayed or refused.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from coalition.adapters.mqtt.device_client import DeviceClient, Reply
from coalition.domain.device_offline import MAX_UPLOAD_USES

KINDS = ("vending", "arcade", "dispenser", "timed_table", "turnstile", "kiosk")
OFFLINE_KINDS = ("vending", "arcade", "dispenser", "timed_table")  # a use with a price; no visit, no cash top-up
ACCEPTED = ("charged", "short", "replayed")  # an offline use's results the server kept (a refusal is not)

Report = Callable[[str, Reply], None]


@dataclass(frozen=True, slots=True)
class Machine:
    kind: str
    card: str
    product: str | None = None  # a slot of the price list; None: the per-use price
    amount: str | None = None  # the kiosk's cash, or what a dispenser poured / holds
    minutes: int | None = None  # a table's minutes at stop (None: counted by the server), or its session's most
    wait_seconds: float = 1.0  # between start and stop, entry and exit
    crash_after_hold: bool = False
    offline_for: int = 0  # the first customers served without the network, uploaded when it is back


class Stopped(Exception):
    """A call was refused: the machine does not go on with this customer."""


def _ok(reply: Reply) -> Reply:
    if not 200 <= reply.status < 300:
        raise Stopped(reply.status)
    return reply


def _id_of(reply: Reply, *names: str) -> str:
    body = reply.body if isinstance(reply.body, dict) else {}
    for name in (*names, "id"):
        if isinstance(body.get(name), str | int):
            return str(body[name])
    raise Stopped("the answer names no id")


def _now() -> datetime:
    return datetime.now(UTC)


class Simulator:
    def __init__(
        self, device: DeviceClient, machine: Machine, report: Report, clock: Callable[[], datetime] = _now
    ) -> None:
        self.device, self.machine, self.report, self.clock = device, machine, report, clock
        self.offline: list[dict[str, Any]] = []  # uses sold offline, not yet accepted by the server
        self.uploaded: list[dict[str, Any]] = []  # the server's result of each use uploaded

    async def call(self, operation: str, body: dict[str, Any] | None = None, **path: str) -> Reply:
        reply = await self.device.call(operation, body, path=path or None)
        self.report(operation, reply)
        return _ok(reply)

    def _customer(self, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"customer": self.machine.card}
        return body | {name: value for name, value in extra.items() if value is not None}

    async def run(self, count: int) -> int:
        """Serve `count` customers (one use each); the number of uses that went through."""
        done = 0
        if self.machine.offline_for and not self.machine.crash_after_hold:
            offline = min(self.machine.offline_for, count)
            for _ in range(offline):
                self.sell_offline()
            done += await self.upload()
            count -= offline
        for _ in range(1 if self.machine.crash_after_hold else count):  # a crashed machine serves nobody after
            try:
                await self.once()
                done += 1
            except Stopped:
                continue
        return done

    def sell_offline(self) -> None:
        """One use with no network: its own key and its moment, kept for the upload."""
        if self.machine.kind not in OFFLINE_KINDS:
            raise ValueError(f"a {self.machine.kind} sells nothing offline")
        use: dict[str, Any] = {"key": uuid.uuid4().hex, "customer": self.machine.card}
        if self.machine.kind == "timed_table":
            use["minutes"] = self.machine.minutes or 1
        elif self.machine.product is not None:
            use["product"] = self.machine.product
        use["occurred_at"] = self.clock().isoformat()
        self.offline.append(use)

    async def upload(self) -> int:
        """The offline uses up (`offline-uses`); how many the server accepted. Uses of a call that failed as a
        whole stay kept for the next upload (their keys make a second upload charge nothing twice)."""
        accepted = 0
        while self.offline:
            batch = self.offline[:MAX_UPLOAD_USES]
            reply = await self.device.call("offline-uses", {"uses": batch})
            self.report("offline-uses", reply)
            if not 200 <= reply.status < 300 or not isinstance(reply.body, dict):
                return accepted
            results = [r for r in reply.body.get("results", []) if isinstance(r, dict)]
            self.uploaded.extend(results)
            accepted += sum(1 for r in results if r.get("result") in ACCEPTED)
            del self.offline[: len(batch)]
        return accepted

    async def once(self) -> None:
        if self.machine.crash_after_hold:
            await self.call("hold", self._customer(product=self.machine.product, amount=self.machine.amount))
            return  # power lost: no capture, no void
        await _SCENARIOS[self.machine.kind](self)

    async def vending(self) -> None:
        asked = await self.call("authorize", self._customer(product=self.machine.product))
        if isinstance(asked.body, dict) and asked.body.get("allowed") is False:
            raise Stopped("not allowed")
        await self.call("charge", self._customer(product=self.machine.product))

    async def arcade(self) -> None:
        await self.call("charge", self._customer(product=self.machine.product))

    async def dispenser(self) -> None:
        held = await self.call("hold", self._customer(product=self.machine.product))
        poured = {"amount": self.machine.amount} if self.machine.amount is not None else {}
        await self.call("capture", poured, hold=_id_of(held, "hold"))

    async def timed_table(self) -> None:
        started = await self.call("session-start", self._customer(max_minutes=self.machine.minutes))
        await asyncio.sleep(self.machine.wait_seconds)
        stop = {"minutes": self.machine.minutes} if self.machine.minutes is not None else {}
        await self.call("session-stop", stop, session=_id_of(started, "session"))

    async def turnstile(self) -> None:
        entered = await self.call("visit-start", self._customer())
        await asyncio.sleep(self.machine.wait_seconds)
        await self.call("visit-end", None, visit=_id_of(entered, "visit"))

    async def kiosk(self) -> None:
        await self.call("top-up", self._customer(amount=self.machine.amount or "10.00"))


_SCENARIOS: dict[str, Callable[[Simulator], Awaitable[None]]] = {
    "vending": Simulator.vending,
    "arcade": Simulator.arcade,
    "dispenser": Simulator.dispenser,
    "timed_table": Simulator.timed_table,
    "turnstile": Simulator.turnstile,
    "kiosk": Simulator.kiosk,
}
