"""The bridge against the real broker (Mosquitto on 127.0.0.1:1883, docs/mqtt.md), over the application in process,
on both engines. Each test has its own network code, so its topics never meet another test's (or another run's) on
the shared broker. Without a broker the tests are skipped — except under CI=true, where that is a failure."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from coalition.adapters.http.app import create_app
from coalition.adapters.mqtt.bridge import Bridge, HttpForward
from coalition.adapters.mqtt.device_client import MqttDeviceClient
from coalition.wiring import Services
from tests.http.device_charge_support import Device, add_device
from tests.support import Network, make_network

BROKER_HOST = os.environ.get("COALITION_TEST_MQTT_HOST", "127.0.0.1")
BROKER_PORT = int(os.environ.get("COALITION_TEST_MQTT_PORT", "1883"))


def broker_reachable(host: str = BROKER_HOST, port: int = BROKER_PORT) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require_broker() -> None:
    if broker_reachable():
        return
    message = f"no MQTT broker at {BROKER_HOST}:{BROKER_PORT}; the MQTT tests are skipped"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " — under CI=true this is a failure")
    pytest.skip(message)


def unique_code() -> str:
    return f"mqtt-{uuid.uuid4().hex[:12]}"


@dataclass
class Bridged:
    services: Services
    network: Network
    bridge: Bridge
    kiosk: Device  # always open: it tops up, enrols, reports uses and reads (docs/devices.md)

    def device(self, key: str | None, device: str | None = None, **options: float) -> MqttDeviceClient:
        """A device on the broker; its topic names `device` (by default the kiosk: the key must be the topic's)."""
        topic_device = device if device is not None else str(self.kiosk.id)
        return MqttDeviceClient(self.network.ref.code, topic_device, key, BROKER_HOST, BROKER_PORT, **options)  # type: ignore[arg-type]


async def start_bridge(bridge: Bridge) -> asyncio.Task[None]:
    task = asyncio.create_task(bridge.run())
    await asyncio.wait_for(bridge.ready.wait(), 10)
    return task


@pytest.fixture()
async def bridged(services: Services) -> AsyncIterator[Bridged]:
    require_broker()
    network = await make_network(services, unique_code())
    kiosk = await add_device(services, network.ref, "Kiosk", "kiosk", {})
    forward = HttpForward.in_process(create_app(services=services))
    bridge = Bridge(forward, BROKER_HOST, BROKER_PORT, network=network.ref.code)
    task = await start_bridge(bridge)
    try:
        yield Bridged(services, network, bridge, kiosk)
    finally:
        bridge.stop()
        await asyncio.wait_for(task, 40)
        await forward.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnBroker:
    """A mosquitto of the test's own on a free port, with the configuration lines given (anonymous by default)."""

    def __init__(self, directory: Path, lines: tuple[str, ...] = ("allow_anonymous true",)) -> None:
        self.port = free_port()
        self.config = directory / "mosquitto.conf"
        # as root, mosquitto would drop to its own user, who cannot read the test's files
        user = ("user root",) if os.geteuid() == 0 else ()
        text = "\n".join((f"listener {self.port} 127.0.0.1", "persistence false", *user, *lines))
        self.config.write_text(text + "\n")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        log = self.config.with_suffix(".log").open("ab")
        self.process = subprocess.Popen([binary, "-c", str(self.config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not start: {self.config.with_suffix('.log').read_text()}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture()
def own_broker(tmp_path: Path) -> Iterator[OwnBroker]:
    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.skip("no mosquitto binary to run a broker of the test's own")
    broker = OwnBroker(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
