"""Devices at a fixed, realistic rate (open loop) beside the saturation figures of bench/devices.py: a p99 target
only means something at a stated load. 200 devices each serving a customer every 5 s is 40 authorize + charge pairs
a second; 100 pairs/s is a park at its busiest.

Pairs start at random moments (Poisson arrivals at --rates pairs/s), whether or not earlier ones have answered, each
on an idle keep-alive connection (a new one when none is idle). A pair's and its authorize's latency count from the
moment the pair was due, so a server that falls behind shows it (no coordinated omission).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.purchases import Server, cpu_snapshot, say, settle

if TYPE_CHECKING:
    from bench.devices import BenchDevice, Latency

DEFAULT_RATES = "40,100"


@dataclass
class RateResult:
    rate: float  # pairs a second asked for
    due: int  # pairs started (Poisson: about rate × seconds)
    seconds: float
    calls: dict[str, dict[str, float]]  # authorize, charge, pair: count, rate, p50, p95, p99, max
    errors: int  # answers other than 2xx
    broken: int  # connections found closed (idle past the server's keep-alive), the call sent again
    first_error: str
    cpu_ms_per_pair: dict[str, float]  # server, postgres


async def fixed_rate_load(
    port: int, devices: list[BenchDevice], members: int, rate: float, seconds: float, seed: int = 15
) -> tuple[dict[str, Latency], str, int]:
    """Authorize + charge pairs arriving at `rate` a second for `seconds`: latencies and answers of each call and of
    the pair, the first error, and how many pairs were started."""
    from bench.devices import CARD_PREFIX, Latency, RawConnection

    kinds = {"authorize": Latency(), "charge": Latency(), "pair": Latency()}
    first_error = ""
    idle: list[RawConnection] = []
    chance = random.Random(seed)

    async def pair(due: float, device: BenchDevice, card: str) -> None:
        nonlocal first_error
        connection = idle.pop() if idle else RawConnection("127.0.0.1", port)
        body = json.dumps({"customer": card, "product": device.product()}).encode()
        try:
            for attempt in range(2):  # the server closes a connection now and then (balancing its workers): again
                try:
                    status, answer = await connection.post("/v1/devices/authorize", device.key, None, body)
                    break
                except ConnectionError:
                    kinds["authorize"].statuses["socket"] += 1
                    if attempt == 1:
                        return
            asked = time.perf_counter()
            kinds["authorize"].add((asked - due) * 1000, status)
            if status != 200 or not json.loads(answer)["allowed"]:
                first_error = first_error or f"authorize {status} {answer[:300].decode(errors='replace')}"
                return
            key = uuid.uuid4().hex
            for attempt in range(3):  # a broken connection: the same key again, as a device does
                try:
                    status, answer = await connection.post("/v1/devices/charges", device.key, key, body)
                    break
                except ConnectionError:
                    kinds["charge"].statuses["socket"] += 1
                    if attempt == 2:
                        return
            ended = time.perf_counter()
            kinds["charge"].add((ended - asked) * 1000, status)
            if status == 201:
                kinds["pair"].add((ended - due) * 1000, status)
            else:
                first_error = first_error or f"charge {status} {answer[:300].decode(errors='replace')}"
        finally:
            idle.append(connection)

    began = time.perf_counter()
    due, started = began, 0
    running: set[asyncio.Task[None]] = set()
    while due < began + seconds:
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        card = f"{CARD_PREFIX}{chance.randint(1, members):08d}"
        task = asyncio.create_task(pair(due, chance.choice(devices), card))
        running.add(task)
        task.add_done_callback(running.discard)
        started += 1
        due += chance.expovariate(rate)
    await asyncio.gather(*running)
    for connection in idle:
        connection.close()
    return kinds, first_error, started


def drive_rate(
    server: Server, args: argparse.Namespace, devices: list[BenchDevice], rate: float, seconds: float
) -> RateResult:
    cpu_before = cpu_snapshot(server.process.pid, args.database)
    kinds, first_error, started = asyncio.run(fixed_rate_load(server.port, devices, args.members, rate, seconds))
    cpu_after = cpu_snapshot(server.process.pid, args.database)
    pairs = len(kinds["pair"].samples)
    statuses = [(code, n) for k in ("authorize", "charge") for code, n in kinds[k].statuses.items()]
    errors = sum(n for code, n in statuses if code[0] != "2" and code != "socket")
    broken = sum(n for code, n in statuses if code == "socket")  # sent again on a new connection
    return RateResult(
        rate=rate,
        due=started,
        seconds=seconds,
        calls={name: latency.summary(seconds) for name, latency in kinds.items()},
        errors=errors,
        broken=broken,
        first_error=first_error,
        cpu_ms_per_pair={
            name: 1000 * (cpu_after[name] - cpu_before[name]) / pairs if pairs else 0.0
            for name in ("server", "postgres")
        },
    )


def measure_rates(server: Server, args: argparse.Namespace, devices: list[BenchDevice]) -> list[RateResult]:
    results = []
    for rate in parse_rates(args.rates):
        busy = settle(args.settle)
        say(f"HTTP at a fixed rate: {rate:g} pairs/s for {args.rate_duration:g} s (machine {busy:.2f} cores busy)")
        result = drive_rate(server, args, devices, rate, args.rate_duration)
        pair = result.calls["pair"]
        say(f"{pair['rate']:,.1f} pairs/s answered; pair p50 {pair['p50']:.1f} p99 {pair['p99']:.1f} ms")
        results.append(result)
    return results


def parse_rates(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def _verdict(result: RateResult, target_ms: float) -> str:
    each = max(result.calls["authorize"]["p99"], result.calls["charge"]["p99"]) <= target_ms
    pair = result.calls["pair"]["p99"] <= target_ms
    if pair:
        return "met, for each call and for the pair together"
    return "met for each call, missed for the pair together" if each else "missed"


def rates_text(results: list[RateResult], target_ms: float) -> str:
    if not results:
        return ""
    rows = []
    for result in results:
        for name, what in (("authorize", "authorize"), ("charge", "charge"), ("pair", "the pair")):
            c = result.calls[name]
            rows.append(
                f"| {result.rate:g} | {what} | {c['rate']:,.1f} | {c['p50']:.1f} | {c['p95']:.1f} | {c['p99']:.1f} | "
                f"{c['max']:.1f} |"
            )
    notes = [
        f"- {r.rate:g} pairs/s: {r.due:,} pairs started, {r.calls['pair']['count']:,.0f} charged; {r.errors} "
        f"errors (first: {r.first_error or 'none'}), {r.broken} calls sent again on a new connection; CPU per "
        f"pair: server {r.cpu_ms_per_pair['server']:.3f} ms, PostgreSQL {r.cpu_ms_per_pair['postgres']:.3f} ms; "
        f"authorize p99 {r.calls['authorize']['p99']:.1f} ms, charge p99 {r.calls['charge']['p99']:.1f} ms, "
        f"the pair p99 {r.calls['pair']['p99']:.1f} ms — issue 15's target (an authorize + charge at p99 ≤ "
        f"{target_ms:g} ms): {_verdict(r, target_ms)}."
        for r in results
    ]
    return "\n".join(
        [
            "At a fixed rate (open loop, Poisson arrivals; a pair's and its authorize's latency from the moment it "
            f"was due), {results[0].seconds:.0f} s each:",
            "",
            "| pairs/s asked | call | answered per second | p50 ms | p95 ms | p99 ms | max ms |",
            "|---:|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            *notes,
        ]
    )
