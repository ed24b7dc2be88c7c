"""The broker configuration docs/mqtt.md recommends for production, on a mosquitto of the test's own: nobody
anonymous, the bridge alone reads the requests and writes the answers, and each device (its login is its id) writes
only its own requests and reads only its own answers — so no device reads another's key or answers."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import aiomqtt
import pytest

from coalition.adapters.mqtt.bridge import Bridge
from coalition.adapters.mqtt.device_client import MqttDeviceClient
from coalition.adapters.mqtt.protocol import Answer, Call, answer_topic
from tests.mqtt.conftest import OwnBroker, start_bridge, unique_code

pytestmark = pytest.mark.anyio

ACL = """\
user coalition-bridge
topic read coalition/+/devices/+/req/+
topic write coalition/+/devices/+/res/+

pattern write coalition/+/devices/%u/req/+
pattern read coalition/+/devices/%u/res/+
"""
LOGINS = {"coalition-bridge": "bridge-secret", "17": "device-17-secret", "18": "device-18-secret"}


async def echo(call: Call) -> Answer:
    return Answer(call.message_id, 200, {"path": call.path, "key_seen": call.key is not None})


@pytest.fixture()
def locked_broker(tmp_path: Path):
    passwd = shutil.which("mosquitto_passwd")
    if passwd is None or not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.skip("no mosquitto and mosquitto_passwd to run a broker of the test's own")
    passwords, acl = tmp_path / "passwords", tmp_path / "acl"
    acl.write_text(ACL)
    for login, password in LOGINS.items():
        create = ["-c"] if not passwords.exists() else []
        subprocess.run([passwd, *create, "-b", str(passwords), login, password], check=True, capture_output=True)
    broker = OwnBroker(tmp_path, ("allow_anonymous false", f"password_file {passwords}", f"acl_file {acl}"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


async def test_each_device_reaches_only_its_own_topics(locked_broker: OwnBroker) -> None:
    code, port = unique_code(), locked_broker.port
    bridge = Bridge(echo, "127.0.0.1", port, network=code, username="coalition-bridge", password="bridge-secret")
    task = await start_bridge(bridge)
    try:
        async with MqttDeviceClient(
            code, "17", "key-17", "127.0.0.1", port, username="17", password=LOGINS["17"]
        ) as d17:
            reply = await d17.call("config")
            assert (reply.status, reply.body) == (200, {"path": "/v1/devices/me", "key_seen": True})

            # device 18 listens on 17's answers and writes on 17's requests: the broker lets neither through
            async with aiomqtt.Client("127.0.0.1", port, username="18", password=LOGINS["18"]) as d18:
                await d18.subscribe(answer_topic(code, "17", "+"), qos=1)
                await d18.publish(f"coalition/{code}/devices/17/req/config", b'{"id": "forged", "key": "x"}', qos=1)
                await d17.call("member", path={"member": "M-1"})
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(1):
                        async for _ in d18.messages:
                            break
            assert all(reply.id != "forged" for reply in d17.replies)

        with pytest.raises(aiomqtt.MqttError):  # nobody anonymous
            async with aiomqtt.Client("127.0.0.1", port):
                pass
    finally:
        bridge.stop()
        await asyncio.wait_for(task, 10)
