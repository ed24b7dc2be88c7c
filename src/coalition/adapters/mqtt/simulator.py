"""Machines that behave like the real ones, over MQTT or HTTP (`coalition device simulate`, docs/mqtt.md):

- vending: asks whether the card can pay for the slot (authorize), then charges it;
- arcade: charges one play per use;
- dispenser: holds the price, pours, captures what was poured (or the whole hold);
- timed_table: starts a session, waits, stops it (the server counts the minutes unless told);
- turnstile: the visit routes — entry, a wait, exit;
- kiosk: puts the cash it counted on the card (top-up).

With `crash_after_hold` a machine holds money and stops there, as a machine that lost power would: the hold is
left for the server's sweep to release.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from coalition.adapters.mqtt.device_client import DeviceClient, Reply

KINDS = ("vending", "arcade", "dispenser", "timed_table", "turnstile", "kiosk")

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


class Simulator:
    def __init__(self, device: DeviceClient, machine: Machine, report: Report) -> None:
        self.device, self.machine, self.report = device, machine, report

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
        for _ in range(1 if self.machine.crash_after_hold else count):  # a crashed machine serves nobody after
            try:
                await self.once()
                done += 1
            except Stopped:
                continue
        return done

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
