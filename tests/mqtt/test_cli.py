"""`coalition mqtt` and `coalition device simulate` as an operator runs them: the bridge in its own process over a
database, a turnstile simulated over MQTT through it, and the bridge stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time

from typer.testing import CliRunner

from coalition.adapters.cli.main import app
from coalition.adapters.cli.mqtt import parse_broker
from coalition.adapters.mqtt.bridge import Bridge, HttpForward
from coalition.adapters.mqtt.device_client import MqttDeviceClient, Reply
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.http.device_charge_support import add_device
from tests.mqtt.conftest import BROKER_HOST, BROKER_PORT, free_port, require_broker, start_bridge, unique_code
from tests.support import client, enrol, make_network

CARD = "7700-0003"


def test_the_broker_option_reads_host_and_port() -> None:
    assert parse_broker("127.0.0.1:1884") == ("127.0.0.1", 1884)
    assert parse_broker("broker.local") == ("broker.local", 1883)
    assert parse_broker("[::1]:8883") == ("::1", 8883)
    result = CliRunner().invoke(app, ["mqtt", "--broker", "host:port"])
    assert result.exit_code == 2


def test_the_simulator_refuses_mqtt_without_its_topic() -> None:
    result = CliRunner().invoke(
        app, ["device", "simulate", "--kind", "arcade", "--via", "mqtt", "--key", "k", "--card", "c"]
    )
    assert result.exit_code == 2
    result = CliRunner().invoke(app, ["device", "simulate", "--kind", "toaster", "--key", "k", "--card", "c"])
    assert result.exit_code == 2
    offline_gate = ["device", "simulate", "--kind", "turnstile", "--key", "k", "--card", "c", "--offline-for", "2"]
    result = CliRunner().invoke(app, offline_gate)  # a turnstile sells nothing to upload later
    assert result.exit_code == 2 and "offline-for" in result.output


async def _network(database_url: str, code: str) -> dict[str, tuple[str, str]]:
    """The network with a turnstile and a kiosk: each one's (device id, key), the topic naming the id."""
    services = build_services(
        Settings(database_url=database_url, operator_token="operator-secret", public_url="http://testserver")
    )
    try:
        network = await make_network(services, code)
        async with client(services) as http:
            await enrol(http, network.shop_key, CARD)
        gate = await add_device(services, network.ref, "Gate", "turnstile", {"per_use": "0.00"})
        kiosk = await add_device(services, network.ref, "Kiosk", "kiosk", {})
        return {"gate": (str(gate.id), gate.key), "kiosk": (str(kiosk.id), kiosk.key)}
    finally:
        await services.close()


def test_coalition_mqtt_bridges_a_simulated_turnstile_and_stops_on_sigterm(sqlite_database_url: str) -> None:
    require_broker()
    code = unique_code()
    gate, key = asyncio.run(_network(sqlite_database_url, code))["gate"]
    command = [
        sys.executable,
        "-m",
        "coalition.adapters.cli.main",
        "mqtt",
        "--broker",
        f"{BROKER_HOST}:{BROKER_PORT}",
        "--network",
        code,
        "--database-url",
        sqlite_database_url,
    ]
    bridge = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ | {"CI": ""})
    try:
        simulate = [
            "device",
            "simulate",
            "--kind",
            "turnstile",
            "--via",
            "mqtt",
            "--network",
            code,
            "--device",
            gate,
            "--key",
            key,
            "--card",
            CARD,
            "--wait",
            "0",
            "--timeout",
            "2",
            "--broker",
            f"{BROKER_HOST}:{BROKER_PORT}",
        ]
        # until the bridge listens (it answers the simulator's repeats once it does): a loaded host (CI's two cores
        # under three test processes) takes as long to import and start it as the served tests allow a server
        deadline = time.monotonic() + 90
        while True:
            result = CliRunner().invoke(app, simulate)
            if result.exit_code == 0 or time.monotonic() > deadline or bridge.poll() is not None:
                break
        assert result.exit_code == 0, result.output
        lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
        assert [(line["operation"], line["status"]) for line in lines] == [("visit-start", 201), ("visit-end", 200)]
    finally:
        bridge.send_signal(signal.SIGTERM)
        output, _ = bridge.communicate(timeout=30)
    assert bridge.returncode == 0, output.decode()
    assert b"listening on coalition/" in output


def test_the_bridge_to_a_running_server_charges_once(sqlite_database_url: str) -> None:
    """--server URL: the messages go over real HTTP to `coalition serve`, headers and all."""
    require_broker()
    code, port = unique_code(), free_port()
    kiosk = asyncio.run(_network(sqlite_database_url, code))["kiosk"]
    serve = [sys.executable, "-m", "coalition.adapters.cli.main", "serve", "--port", str(port)]
    env = os.environ | {"COALITION_DATABASE_URL": sqlite_database_url}
    server = subprocess.Popen(serve, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        # the server listens before the bridge is asked anything (the test went on after 30 s without it, and a loaded
        # host's start can take longer: the bridge then answered the device 503, the server being out of reach)
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "coalition serve did not start"
                time.sleep(0.1)
        replies = asyncio.run(_top_up_twice(code, kiosk, f"http://127.0.0.1:{port}"))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    first, again, wallet = replies
    assert (first.status, again.status, again.replayed, again.body) == (201, 201, True, first.body)
    assert wallet.body["balance"] == "25.00"


async def _top_up_twice(code: str, kiosk: tuple[str, str], url: str) -> list[Reply]:
    forward = HttpForward.to_server(url)
    bridge = Bridge(forward, BROKER_HOST, BROKER_PORT, network=code)
    task = await start_bridge(bridge)
    try:
        async with MqttDeviceClient(code, kiosk[0], kiosk[1], BROKER_HOST, BROKER_PORT) as device:
            body = {"customer": CARD, "amount": "25.00"}
            first = await device.call("wallet-top-up", body, message_id="top-up-1")
            again = await device.call("wallet-top-up", body, message_id="top-up-1")
            return [first, again, await device.call("wallet", path={"member": CARD})]
    finally:
        bridge.stop()
        await task
        await forward.close()
