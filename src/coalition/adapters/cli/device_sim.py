"""`coalition device simulate`: a machine of a kind, calling the server with its key over HTTP or MQTT, printing
every answer as one JSON line (adapters/mqtt/simulator.py; docs/mqtt.md)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from coalition.adapters.cli.common import errors
from coalition.adapters.cli.mqtt import DEFAULT_BROKER, BrokerOption, parse_broker

device_app = typer.Typer(help="A device simulated: a vending machine, an arcade, a table, a turnstile, a kiosk.")

DEFAULT_SERVER = "http://127.0.0.1:8000"


@device_app.callback()
def _device() -> None:
    """Machines that take the card (issue 15)."""


@device_app.command("simulate")
def simulate(
    kind: Annotated[str, typer.Option(help="vending, arcade, dispenser, timed_table, turnstile or kiosk")],
    key: Annotated[str, typer.Option(envvar="COALITION_DEVICE_KEY", help="the device's key")],
    card: Annotated[str, typer.Option(help="the customer's card (any identifier)")],
    via: Annotated[str, typer.Option(help="http or mqtt")] = "http",
    network: Annotated[str | None, typer.Option(help="the network's code (the MQTT topic; --via mqtt)")] = None,
    device: Annotated[str | None, typer.Option(help="the device's id (the MQTT topic; --via mqtt)")] = None,
    count: Annotated[int, typer.Option(min=1, max=10_000, help="customers served, one use each")] = 1,
    product: Annotated[str | None, typer.Option(help="a slot of the price list (vending, dispenser)")] = None,
    amount: Annotated[str | None, typer.Option(help="the kiosk's cash; what a dispenser poured")] = None,
    minutes: Annotated[int | None, typer.Option(help="a table's minutes (at most, and at stop)")] = None,
    wait: Annotated[float, typer.Option(min=0, help="seconds between start and stop, entry and exit")] = 1.0,
    crash_after_hold: Annotated[
        bool, typer.Option("--crash-after-hold", help="hold money, then stop as if the power went (no capture)")
    ] = False,
    offline_for: Annotated[
        int,
        typer.Option(
            min=0,
            max=10_000,
            help="serve the first N customers offline (vending, arcade, dispenser, timed_table), then upload them",
        ),
    ] = 0,
    server: Annotated[str, typer.Option(help="the API (--via http)")] = DEFAULT_SERVER,
    broker: BrokerOption = DEFAULT_BROKER,
    timeout: Annotated[float, typer.Option(min=0.1, help="seconds to wait for an answer before sending again")] = 10,
    username: Annotated[str | None, typer.Option(envvar="COALITION_MQTT_USERNAME", help="broker login")] = None,
    password: Annotated[
        str | None, typer.Option(envvar="COALITION_MQTT_PASSWORD", help="broker password (from the environment)")
    ] = None,
) -> None:
    """Behave like the machine, printing each answer; exit 1 when a customer was refused."""
    from coalition.adapters.mqtt.device_client import HttpDeviceClient, MqttDeviceClient, Reply
    from coalition.adapters.mqtt.simulator import ACCEPTED, KINDS, OFFLINE_KINDS, Machine, Simulator

    if kind not in KINDS:
        errors.print(f"[red]error (kind):[/red] one of {', '.join(KINDS)}")
        raise typer.Exit(2)
    if via not in ("http", "mqtt"):
        errors.print("[red]error (via):[/red] http or mqtt")
        raise typer.Exit(2)
    if via == "mqtt" and not (network and device):
        errors.print("[red]error (network):[/red] --via mqtt needs --network and --device (they make the topic)")
        raise typer.Exit(2)
    if offline_for and kind not in OFFLINE_KINDS:
        errors.print(f"[red]error (offline-for):[/red] only {', '.join(OFFLINE_KINDS)} sell offline")
        raise typer.Exit(2)
    machine = Machine(kind, card, product, amount, minutes, wait, crash_after_hold, offline_for)

    def report(operation: str, reply: Reply) -> None:
        line = {"operation": operation, "id": reply.id, "status": reply.status, "body": reply.body}
        if reply.replayed:
            line["replayed"] = True
        print(json.dumps(line, ensure_ascii=False), flush=True)  # one JSON line per answer

    def summary(simulator: Simulator) -> None:
        if not offline_for:
            return
        results = [str(use.get("result")) for use in simulator.uploaded]
        counted = ", ".join(f"{results.count(name)} {name}" for name in (*ACCEPTED, "refused"))
        left = f"; {len(simulator.offline)} not uploaded" if simulator.offline else ""
        errors.print(f"offline uses uploaded: {len(results)} ({counted}){left}")

    async def main() -> int:
        opened: MqttDeviceClient | HttpDeviceClient
        if via == "mqtt":
            host, port = parse_broker(broker)
            assert network is not None and device is not None
            opened = MqttDeviceClient(
                network, device, key, host, port, timeout_seconds=timeout, username=username, password=password
            )
        else:
            opened = HttpDeviceClient.to_server(server, key)
        async with opened as client:
            simulator = Simulator(client, machine, report)
            try:
                return await simulator.run(count)
            finally:
                summary(simulator)

    try:
        served = asyncio.run(main())
    except TimeoutError as error:
        errors.print(f"[red]no answer:[/red] {error}")
        raise typer.Exit(1) from None
    wanted = 1 if crash_after_hold else count  # a crashed machine serves its one customer, then stops
    if served < wanted:
        raise typer.Exit(1)
