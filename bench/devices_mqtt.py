"""The MQTT scenario of bench/devices.py: devices on the broker, `coalition mqtt --server` bridging them to the
server under test, and the count at the end — charges sent = answers 201 = DEVICE_CHARGE transactions added.

Each device is a client of its own on the broker (adapters/mqtt/device_client.py MqttDeviceClient, as the simulator
and the tests use it): it charges a random member every --charge-every seconds and heartbeats every
--heartbeat-every seconds, its first call at a random moment of the period so the load is spread. A call without an
answer within 10 s is published again with the same id (up to 3 times, as a device does): the server answers a
repeat with the first answer, so it must never charge twice. The bridge listens to the demo network's topics only
(`--network demo`), so other networks' messages on a shared broker are none of its business.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.devices import CARD_PREFIX, BenchDevice, Latency, device_charges
from bench.purchases import RESULTS, Server, cpu_snapshot, log_problems, say, settle
from coalition.adapters.mqtt.device_client import MqttDeviceClient, Reply

NETWORK = "demo"  # the devices' topics: coalition/demo/devices/<device id>/...
ANSWER_TIMEOUT_SECONDS = 10.0  # a device publishes the same message again after this long without an answer
ATTEMPTS = 3
CONNECTING_AT_ONCE = 20  # devices connecting to the broker at the same time
GRACE_SECONDS = 1.0  # after the last answer, for late repeats of answers to arrive and be counted


@dataclass
class MqttResult:
    devices: int
    workers: int
    seconds: float
    charge_every: float
    heartbeat_every: float
    heartbeat_op: str | None
    charges_sent: int
    charges_201: int
    charge_ids: int  # distinct charge ids in the 201 answers: a doubled charge would show two for one message
    ledger_charges: int  # DEVICE_CHARGE transactions added in the database over the phase
    lost: int  # charges without any answer after ATTEMPTS publications
    statuses: dict[str, int]  # final answer of each charge, by status
    repeats: int  # answers beyond the first for one message id (a device's retry or the broker's redelivery)
    replayed: int  # answers the server marked as the stored first answer (Idempotent-Replayed)
    heartbeats_sent: int
    heartbeat_statuses: dict[str, int]
    heartbeats_lost: int
    latency: dict[str, dict[str, float]]  # charge, heartbeat: count, rate, p50, p95, p99, max
    cpu_cores: dict[str, float]
    cpu_ms_per_charge: dict[str, float]
    server_log_problems: list[str] = field(default_factory=list)
    bridge_log_problems: list[str] = field(default_factory=list)
    busy_before: float = 0.0

    @property
    def charge_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != "201")

    @property
    def heartbeat_errors(self) -> int:
        return sum(n for status, n in self.heartbeat_statuses.items() if not status.startswith("2"))

    def problems(self) -> list[str]:
        """What keeps the run from clean: sent = answered 201 = distinct charges = DEVICE_CHARGE transactions, with
        no error and nothing lost."""
        found = []
        if len({self.charges_sent, self.charges_201, self.charge_ids, self.ledger_charges}) != 1:
            found.append("sent, answered 201, distinct charges and DEVICE_CHARGE transactions differ")
        for count, what in (
            (self.lost, "charges never answered"),
            (self.charge_errors, "charges answered other than 201"),
            (self.heartbeats_lost, "heartbeats never answered"),
            (self.heartbeat_errors, "heartbeats answered other than 2xx"),
        ):
            if count:
                found.append(f"{count} {what}")
        return found

    @property
    def clean(self) -> bool:
        return not self.problems()

    def text(self) -> str:
        beat = (
            f"heartbeating every {self.heartbeat_every:g} s (operation `{self.heartbeat_op}`)"
            if self.heartbeat_op
            else "no heartbeats (the server has neither POST /v1/devices/heartbeat nor GET /v1/devices/me yet)"
        )
        rows = []
        for name, sent in (("charge", self.charges_sent), ("heartbeat", self.heartbeats_sent)):
            c = self.latency[name]
            rows.append(
                f"| {name} | {sent:,} | {int(c['count']):,} | {c['rate']:,.1f} | {c['p50']:.1f} | {c['p95']:.1f} | "
                f"{c['p99']:.1f} | {c['max']:.1f} |"
            )
        verdict = "no error, none lost, none doubled" if self.clean else "**NOT CLEAN**: " + "; ".join(self.problems())
        return "\n".join(
            [
                f"MQTT, {self.devices} devices through `coalition mqtt --server` to the server ({self.workers} "
                f"worker{'s' if self.workers > 1 else ''}), {self.seconds:.1f} s: each charging every "
                f"{self.charge_every:g} s and {beat}.",
                "",
                "| message | sent | answered | answers per second | p50 ms | p95 ms | p99 ms | max ms |",
                "|---|---:|---:|---:|---:|---:|---:|---:|",
                *rows,
                "",
                f"- Charges: {self.charges_sent:,} sent, {self.charges_201:,} answered 201 ({self.charge_ids:,} "
                f"distinct charges), {self.ledger_charges:,} DEVICE_CHARGE transactions added; lost: {self.lost}; "
                f"answers by status: {self.statuses}; repeated answers: {self.repeats} ({self.replayed} replayed "
                f"by the server) — {verdict}.",
                f"- Heartbeats: answers by status {self.heartbeat_statuses}; lost: {self.heartbeats_lost}.",
                "- Cores busy: server / bridge / postgres / devices / other "
                + " / ".join(f"{self.cpu_cores[k]:.2f}" for k in ("server", "bridge", "postgres", "devices", "other"))
                + f"; CPU per charge (heartbeats included): server {self.cpu_ms_per_charge['server']:.3f} ms, "
                f"bridge {self.cpu_ms_per_charge['bridge']:.3f} ms, PostgreSQL "
                f"{self.cpu_ms_per_charge['postgres']:.3f} ms; machine busy before: {self.busy_before:.2f} cores; "
                f"log problems: server {len(self.server_log_problems)}, bridge {len(self.bridge_log_problems)}.",
            ]
        )


def heartbeat_operation(choice: str, paths: dict[str, Any]) -> str | None:
    """The operation a heartbeat sends: asked for, or the best the server has (None: no heartbeats)."""
    if choice != "auto":
        return None if choice == "off" else choice
    if "/v1/devices/heartbeat" in paths:
        return "heartbeat"
    return "config" if "/v1/devices/me" in paths else None


@contextmanager
def bridge(server: Server, broker: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`coalition mqtt` in a process of its own, forwarding to the server; stopped as Ctrl-C would (answers in hand
    go out first)."""
    command = [
        str(Path(sys.executable).parent / "coalition"),
        "mqtt",
        "--broker",
        broker,
        "--server",
        server.base_url,
        "--network",
        NETWORK,
        "--client-id",
        f"bench-bridge-{uuid.uuid4().hex[:8]}",
    ]
    say(f"starting {' '.join(command[1:])}")
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while b"listening on" not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the bridge did not subscribe; see {log}:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=45)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@dataclass
class Tally:
    charges_sent: int = 0
    lost: int = 0
    heartbeats_sent: int = 0
    heartbeats_lost: int = 0
    charge: Latency = field(default_factory=Latency)
    heartbeat: Latency = field(default_factory=Latency)
    charge_ids: set[str] = field(default_factory=set)
    charge_messages: set[str] = field(default_factory=set)


async def _device(
    client: MqttDeviceClient,
    device: BenchDevice,
    args: argparse.Namespace,
    operation: str | None,
    tally: Tally,
    deadline: float,
) -> None:

    async def every(period: float, call: Any) -> None:
        due = time.monotonic() + random.uniform(0, period)  # devices out of step, as they would be
        while due < deadline:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            await call()
            due += period

    async def charge() -> None:
        message_id = uuid.uuid4().hex
        tally.charges_sent += 1
        tally.charge_messages.add(message_id)
        body = {"customer": f"{CARD_PREFIX}{random.randint(1, args.members):08d}", "product": device.product()}
        began = time.perf_counter()
        try:
            reply = await client.call("charge", body, message_id=message_id)
        except TimeoutError:
            tally.lost += 1
            return
        tally.charge.add((time.perf_counter() - began) * 1000, reply.status)
        if reply.status == 201 and isinstance(reply.body, dict):
            tally.charge_ids.add(str(reply.body.get("charge")))

    async def heartbeat() -> None:
        tally.heartbeats_sent += 1
        body = {"status": {"coins": random.randint(0, 500), "door": "closed"}, "error": None}
        began = time.perf_counter()
        try:
            reply = await client.call(operation or "", body if operation == "heartbeat" else None)
        except TimeoutError:
            tally.heartbeats_lost += 1
            return
        tally.heartbeat.add((time.perf_counter() - began) * 1000, reply.status)

    loops = [every(args.charge_every, charge)]
    if operation is not None:
        loops.append(every(args.heartbeat_every, heartbeat))
    await asyncio.gather(*loops)


async def load(
    devices: list[BenchDevice], args: argparse.Namespace, operation: str | None, network: str = NETWORK
) -> tuple[Tally, list[Reply], float]:
    """Every device's calls for --mqtt-duration seconds; what they sent and got, every answer received, seconds."""
    host, _, port = args.broker.rpartition(":")
    clients = [
        MqttDeviceClient(
            network, str(d.id), d.key, host, int(port), timeout_seconds=ANSWER_TIMEOUT_SECONDS, attempts=ATTEMPTS
        )
        for d in devices
    ]
    connected: list[MqttDeviceClient] = []
    tally = Tally()
    try:
        for start in range(0, len(clients), CONNECTING_AT_ONCE):
            batch = clients[start : start + CONNECTING_AT_ONCE]
            await asyncio.gather(*(client.__aenter__() for client in batch))
            connected += batch
        say(f"MQTT: {len(connected)} devices connected; load for {args.mqtt_duration:g} s")
        began = time.monotonic()
        deadline = began + args.mqtt_duration
        await asyncio.gather(
            *(_device(c, d, args, operation, tally, deadline) for c, d in zip(clients, devices, strict=True))
        )
        await asyncio.sleep(max(0.0, deadline - time.monotonic()))  # the rates are over the whole period
        elapsed = time.monotonic() - began
        await asyncio.sleep(GRACE_SECONDS)
        replies = [reply for client in connected for reply in client.replies]
    finally:
        for client in connected:
            with contextlib.suppress(Exception):
                await client.__aexit__(None, None, None)
    return tally, replies, elapsed


def charge_counts(tally: Tally, replies: list[Reply]) -> dict[str, Any]:
    """The charges sent and what came back: final answers by status, distinct charges, repeated answers."""
    per_message = Counter(reply.id for reply in replies if reply.id in tally.charge_messages)
    return {
        "charges_sent": tally.charges_sent,
        "charges_201": tally.charge.statuses.get("201", 0),
        "charge_ids": len(tally.charge_ids),
        "lost": tally.lost,
        "statuses": dict(tally.charge.statuses),
        "repeats": sum(n - 1 for n in per_message.values()),
        "replayed": sum(1 for reply in replies if reply.replayed and reply.id in tally.charge_messages),
    }


def measure_mqtt(
    server: Server,
    args: argparse.Namespace,
    url: str,
    devices: list[BenchDevice],
    paths: dict[str, Any],
    stamp: str,
) -> MqttResult:
    operation = heartbeat_operation(args.heartbeats, paths)
    server_offset = server.log.stat().st_size
    bridge_log = RESULTS / f"devices-bridge-{stamp}.log"
    with bridge(server, args.broker, bridge_log) as process:
        busy = settle(args.settle)
        charges_before = device_charges(url)
        cpu_before = cpu_snapshot(server.process.pid, args.database)
        bridge_before = cpu_snapshot(process.pid, "")["server"]
        tool_before = resource.getrusage(resource.RUSAGE_SELF)
        tally, replies, elapsed = asyncio.run(load(devices, args, operation))
        tool_after = resource.getrusage(resource.RUSAGE_SELF)
        bridge_used = cpu_snapshot(process.pid, "")["server"] - bridge_before
        cpu_after = cpu_snapshot(server.process.pid, args.database)
    ledger = device_charges(url) - charges_before
    used = {name: cpu_after[name] - cpu_before[name] for name in ("server", "postgres", "machine")}
    used["bridge"] = bridge_used
    used["devices"] = tool_after.ru_utime + tool_after.ru_stime - tool_before.ru_utime - tool_before.ru_stime
    cores = {name: value / elapsed for name, value in used.items()}
    cores["other"] = max(0.0, cores.pop("machine") - sum(cores.values()))
    charges = len(tally.charge.samples)
    return MqttResult(
        devices=len(devices),
        workers=args.workers,
        seconds=elapsed,
        charge_every=args.charge_every,
        heartbeat_every=args.heartbeat_every,
        heartbeat_op=operation,
        **charge_counts(tally, replies),
        ledger_charges=ledger,
        heartbeats_sent=tally.heartbeats_sent,
        heartbeat_statuses=dict(tally.heartbeat.statuses),
        heartbeats_lost=tally.heartbeats_lost,
        latency={"charge": tally.charge.summary(elapsed), "heartbeat": tally.heartbeat.summary(elapsed)},
        cpu_cores={name: round(value, 2) for name, value in cores.items()},
        cpu_ms_per_charge={
            name: 1000 * used[name] / charges if charges else 0.0 for name in ("server", "bridge", "postgres")
        },
        server_log_problems=log_problems(server.log, server_offset),
        bridge_log_problems=log_problems(bridge_log, 0),
        busy_before=busy,
    )
