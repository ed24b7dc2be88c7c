"""The bridge's life: it comes back by itself when its broker restarts, holds at most its bound of messages at once,
and on stop lets the messages in hand finish and their answers go out. A broker of the test's own (mosquitto on a
free port) is stopped and started; the shared one on 1883 is never touched."""

from __future__ import annotations

import asyncio

import pytest

from coalition.adapters.mqtt.bridge import Bridge, HttpForward
from coalition.adapters.mqtt.device_client import MqttDeviceClient
from coalition.adapters.mqtt.protocol import Answer, Call
from tests.mqtt.conftest import (
    BROKER_HOST,
    BROKER_PORT,
    OwnBroker,
    free_port,
    require_broker,
    start_bridge,
    unique_code,
)

pytestmark = pytest.mark.anyio


class SlowEcho:
    """A forward that answers after a pause, counting how many calls it holds at once."""

    def __init__(self, pause_seconds: float) -> None:
        self.pause_seconds, self.now, self.most, self.calls = pause_seconds, 0, 0, 0

    async def __call__(self, call: Call) -> Answer:
        self.calls += 1
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await asyncio.sleep(self.pause_seconds)
            return Answer(call.message_id, 200, {"path": call.path})
        finally:
            self.now -= 1


async def test_the_bridge_reconnects_when_its_broker_comes_back(own_broker: OwnBroker) -> None:
    code = unique_code()
    bridge = Bridge(SlowEcho(0), "127.0.0.1", own_broker.port, network=code)
    task = await start_bridge(bridge)
    try:
        async with MqttDeviceClient(code, "d1", "k", "127.0.0.1", own_broker.port) as device:
            assert (await device.call("config")).body == {"path": "/v1/devices/me"}
        own_broker.stop()
        async with asyncio.timeout(10):
            while bridge.ready.is_set():
                await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)  # a few refused attempts while the broker is away
        assert not task.done()
        own_broker.start()
        await asyncio.wait_for(bridge.ready.wait(), 40)
        assert bridge.connections == 2
        async with MqttDeviceClient(code, "d1", "k", "127.0.0.1", own_broker.port) as device:
            reply = await device.call("capture", path={"hold": "h-1"})
            assert reply.body == {"path": "/v1/devices/holds/h-1/capture"}
    finally:
        bridge.stop()
        await asyncio.wait_for(task, 10)


async def test_a_stopping_bridge_answers_the_messages_in_hand_and_holds_at_most_its_bound() -> None:
    require_broker()
    code, slow = unique_code(), SlowEcho(0.5)
    bridge = Bridge(slow, BROKER_HOST, BROKER_PORT, network=code, concurrency=4)
    task = await start_bridge(bridge)
    async with MqttDeviceClient(code, "d1", "k", BROKER_HOST, BROKER_PORT, attempts=1) as device:
        calls = [asyncio.create_task(device.call("member", path={"member": f"m{i}"})) for i in range(10)]
        async with asyncio.timeout(10):
            while slow.now < 4:
                await asyncio.sleep(0.02)
        bridge.stop()
        await asyncio.wait_for(task, 10)
        done, pending = await asyncio.wait(calls, timeout=3)
        answered = [call.result() for call in done if call.exception() is None]
        assert len(answered) >= 4  # the four in hand when it stopped
        assert all(reply.status == 200 for reply in answered)
        assert slow.most == 4
        for call in pending:
            call.cancel()


async def test_a_server_out_of_reach_is_a_503_to_try_again() -> None:
    """`coalition mqtt --server URL` with the server down: the device is told to send the same message again."""
    require_broker()
    code = unique_code()
    forward = HttpForward.to_server(f"http://127.0.0.1:{free_port()}")
    bridge = Bridge(forward, BROKER_HOST, BROKER_PORT, network=code)
    task = await start_bridge(bridge)
    try:
        async with MqttDeviceClient(code, "d1", "k", BROKER_HOST, BROKER_PORT) as device:
            reply = await device.call("use", {"customer": "1"})
        assert reply.status == 503, reply
        assert reply.body["type"] == "https://coalition.dev/problems/server-unavailable"
    finally:
        bridge.stop()
        await asyncio.wait_for(task, 10)
        await forward.close()


async def test_bridges_of_one_group_share_the_messages_each_answered_once() -> None:
    """--group: an MQTT shared subscription, so two bridges split the load and no message is answered twice."""
    require_broker()
    code, group = unique_code(), unique_code()
    echoes = [SlowEcho(0.05), SlowEcho(0.05)]
    bridges = [Bridge(echo, BROKER_HOST, BROKER_PORT, network=code, group=group) for echo in echoes]
    tasks = [await start_bridge(bridge) for bridge in bridges]
    try:
        async with MqttDeviceClient(code, "d1", "k", BROKER_HOST, BROKER_PORT) as device:
            replies = await asyncio.gather(*(device.call("member", path={"member": f"m{i}"}) for i in range(40)))
            await asyncio.sleep(0.5)  # time for a second answer to any message, were there one
            assert all(reply.status == 200 for reply in replies)
            assert len(device.replies) == 40
        assert all(echo.calls > 0 for echo in echoes)
        assert sum(echo.calls for echo in echoes) == 40
    finally:
        for bridge in bridges:
            bridge.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)


async def test_a_connection_the_server_drops_under_a_request_is_sent_again_once() -> None:
    """The kept-alive connection a server closes just as a request goes out (the race of its keep-alive timeout):
    the bridge sends the call once more on a fresh connection — safe, its message id is the Idempotency-Key — rather
    than telling the device the service is unavailable. A real socket server: the first connection is dropped
    after the request is read, the next is answered."""
    connections: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        connections.append(request)
        if len(connections) > 1:
            writer.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}')
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    forward = HttpForward.to_server(f"http://127.0.0.1:{port}")
    try:
        answer = await forward(Call("m-1", "k", "POST", "/v1/devices/heartbeat", b"{}"))
    finally:
        await forward.close()
        server.close()
        await server.wait_closed()
    assert (answer.status, answer.body) == (200, {"ok": True})
    assert len(connections) == 2 and all(b"Idempotency-Key: m-1" in request for request in connections)
