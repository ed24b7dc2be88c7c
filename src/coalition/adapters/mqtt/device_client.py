"""What a device uses to call the server: the same operations (protocol.OPERATIONS) over MQTT or over HTTP, so the
simulator and the tests drive either transport alike.

Over MQTT a call publishes one request (QoS 1) and waits for the answer with its id on the device's answer topics;
without an answer in time it publishes the very same message again (same id: the server answers a repeat with the
stored first answer, and charges once), up to `attempts` times.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import quote

import aiomqtt
import httpx

from coalition.adapters.mqtt.protocol import ERROR_OPERATION, answer_topic, request_topic
from coalition_client import AsyncClient, routes

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Reply:
    id: str | None
    status: int
    body: Any
    replayed: bool = False
    operation: str | None = None  # the answer topic's operation ("error" for a message without a readable id)

    @classmethod
    def of_message(cls, operation: str, payload: object) -> Reply:
        if not isinstance(payload, bytes | bytearray | str):
            raise ValueError("not an answer")
        message = json.loads(payload)
        return cls(message.get("id"), message["status"], message.get("body"), bool(message.get("replayed")), operation)


class DeviceClient(Protocol):
    async def call(
        self,
        operation: str,
        body: dict[str, Any] | None = None,
        *,
        path: dict[str, str] | None = None,
        message_id: str | None = None,
    ) -> Reply: ...


class MqttDeviceClient:
    """A device on the broker: `async with MqttDeviceClient(...) as device: await device.call("use", {...})`."""

    def __init__(
        self,
        network: str,
        device: str,
        key: str | None,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        attempts: int = DEFAULT_ATTEMPTS,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.network, self.device, self.key = network, device, key
        self.timeout_seconds, self.attempts = timeout_seconds, attempts
        identifier = f"device-{device}-{uuid.uuid4().hex[:8]}"
        self.client = aiomqtt.Client(
            host, port, identifier=identifier, clean_session=True, username=username, password=password
        )
        self.waiting: dict[str, asyncio.Future[Reply]] = {}
        self.errors: asyncio.Queue[Reply] = asyncio.Queue()  # answers on .../res/error
        self.replies: list[Reply] = []  # every answer received, repeats included
        self.reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> MqttDeviceClient:
        await self.client.__aenter__()
        await self.client.subscribe(answer_topic(self.network, self.device, "+"), qos=1)
        self.reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader
        await self.client.__aexit__(kind, error, trace)

    async def _read(self) -> None:
        async for message in self.client.messages:
            operation = str(message.topic).rsplit("/", 1)[-1]
            try:
                reply = Reply.of_message(operation, message.payload)
            except (ValueError, KeyError, TypeError):
                continue  # not an answer of the bridge's
            self.replies.append(reply)
            if operation == ERROR_OPERATION or reply.id is None:
                self.errors.put_nowait(reply)
                continue
            waiting = self.waiting.get(reply.id)
            if waiting is not None and not waiting.done():
                waiting.set_result(reply)

    def message(self, message_id: str, body: dict[str, Any] | None = None, path: dict[str, str] | None = None) -> bytes:
        request: dict[str, Any] = {"id": message_id, "key": self.key}
        if body is not None:
            request["body"] = body
        if path:
            request["path"] = path
        return json.dumps(request, ensure_ascii=False).encode()

    async def call(
        self,
        operation: str,
        body: dict[str, Any] | None = None,
        *,
        path: dict[str, str] | None = None,
        message_id: str | None = None,
    ) -> Reply:
        message_id = message_id or uuid.uuid4().hex
        return await self.send(operation, self.message(message_id, body, path), message_id)

    async def send(self, operation: str, payload: bytes | str, message_id: str) -> Reply:
        """Publish a payload as it is (a test's malformed one too) and wait for the answer carrying `message_id`."""
        waiting = self.waiting.setdefault(message_id, asyncio.get_running_loop().create_future())
        try:
            for _ in range(self.attempts):
                await self.client.publish(request_topic(self.network, self.device, operation), payload, qos=1)
                with contextlib.suppress(TimeoutError):
                    return await asyncio.wait_for(asyncio.shield(waiting), self.timeout_seconds)
            raise TimeoutError(f"no answer to {operation} {message_id} after {self.attempts} attempts")
        finally:
            self.waiting.pop(message_id, None)

    async def send_unanswerable(self, operation: str, payload: bytes | str) -> Reply:
        """Publish a payload without a readable id and wait for the answer on .../res/error."""
        await self.client.publish(request_topic(self.network, self.device, operation), payload, qos=1)
        return await asyncio.wait_for(self.errors.get(), self.timeout_seconds)


class HttpDeviceClient:
    """The same calls straight over HTTP (a device on the LAN, or the simulator with --via http), through the
    project's own client package: its routes are checked against /openapi.json, and it retries a keyed write on
    503, 429 or a lost connection with the same key (the message id), so a charge is made once."""

    def __init__(self, http: httpx.AsyncClient, key: str | None) -> None:
        self.client = AsyncClient(str(http.base_url), key, http=http)

    @classmethod
    def to_server(cls, url: str, key: str | None) -> HttpDeviceClient:
        return cls(httpx.AsyncClient(base_url=url.rstrip("/"), timeout=DEFAULT_TIMEOUT_SECONDS * 3), key)

    async def __aenter__(self) -> HttpDeviceClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.client.aclose()

    async def call(
        self,
        operation: str,
        body: dict[str, Any] | None = None,
        *,
        path: dict[str, str] | None = None,
        message_id: str | None = None,
    ) -> Reply:
        route, names = _ROUTES[operation]
        message_id = message_id or uuid.uuid4().hex
        send_body = body if route.method != "GET" else None
        response = await self.client.send(
            route,
            send_body,
            path={names.get(name, name): value for name, value in (path or {}).items()},
            idempotency_key=message_id,
        )
        try:
            answer = response.json() if response.content else None
        except ValueError:
            answer = response.text
        replayed = response.headers.get("idempotent-replayed") == "true"
        return Reply(message_id, response.status_code, answer, replayed, operation)


# protocol.OPERATIONS → the client's routes, with the client's names for the path's parts.
_ROUTES: dict[str, tuple[routes.Route[Any], dict[str, str]]] = {
    "authorize": (routes.AUTHORIZE, {}),
    "charge": (routes.CHARGE, {}),
    "hold": (routes.HOLD, {}),
    "capture": (routes.CAPTURE, {"hold": "hold_id"}),
    "void": (routes.VOID, {"hold": "hold_id"}),
    "session-start": (routes.START_SESSION, {}),
    "session-stop": (routes.STOP_SESSION, {"session": "session_id"}),
    "top-up": (routes.KIOSK_TOP_UP, {}),
    "offline-uses": (routes.OFFLINE_USES, {}),
    "heartbeat": (routes.HEARTBEAT, {}),
    "config": (routes.DEVICE_CONFIG, {}),
    "use": (routes.DEVICE_USE, {}),
    "visit-start": (routes.START_VISIT, {}),
    "visit-end": (routes.END_VISIT, {"visit": "visit_id"}),
    "member": (routes.MEMBER, {"member": "identifier"}),
    "wallet": (routes.WALLET, {"member": "identifier"}),
    "wallet-top-up": (routes.TOP_UP, {}),
}


def httpx_segment(value: str) -> str:
    return quote(value, safe="")  # one path segment, whatever it holds (as the bridge does)
