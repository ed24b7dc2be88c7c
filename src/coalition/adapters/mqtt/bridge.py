"""The MQTT bridge: every request message becomes the HTTP request of its operation (protocol.OPERATIONS), sent
through httpx to the application in this process or to a server, and its answer is published back, QoS 1 both ways.

Authentication, validation, idempotency and problems are the HTTP layer's, so a redelivered message (the broker's
or the device's retry with the same id) gets the stored answer of the first and is charged once.

The bridge's session is clean on purpose: requests published while no bridge listens are not queued by the broker
to be carried out hours later, after the device gave up and told the customer so; the device retries with the same
id while it still wants the answer. Messages are handled concurrently up to a bound (a semaphore), and a bounded
number wait behind them (past it a message is dropped and its device's retry brings it back); the connection is
re-opened with a growing pause; `stop()` lets the messages in hand finish and their answers go out before it
disconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiomqtt
import httpx

from coalition.adapters.mqtt.protocol import (
    Answer,
    Call,
    Route,
    parse_topic,
    problem,
    read_request,
    subscription,
)

log = logging.getLogger("coalition.mqtt")

Forward = Callable[[Call], Awaitable[Answer]]
DEFAULT_CONCURRENCY = 32
FIRST_PAUSE_SECONDS = 0.5
LONGEST_PAUSE_SECONDS = 30.0
DRAIN_SECONDS = 30.0  # at most this long for the messages in hand at shutdown
# received but not yet in hand; past it a message is dropped (and logged) — its device sends it again
MAX_WAITING_MESSAGES = 10_000
HTTP_TIMEOUT_SECONDS = 30.0
DEVICE_TOPIC_HEADER = "Coalition-Device-Topic"  # adapters/http/dependencies.py reads it


class HttpForward:
    """Sends a call to the HTTP API: in process (ASGI) or to a server's URL."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    @classmethod
    def in_process(cls, app: Callable[..., Awaitable[None]]) -> HttpForward:
        # an application error comes back as the 500 the server would send, not as an exception in the bridge
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        return cls(httpx.AsyncClient(transport=transport, base_url="http://mqtt-bridge", timeout=HTTP_TIMEOUT_SECONDS))

    @classmethod
    def to_server(cls, url: str) -> HttpForward:
        return cls(httpx.AsyncClient(base_url=url.rstrip("/"), timeout=HTTP_TIMEOUT_SECONDS))

    async def __call__(self, call: Call) -> Answer:
        headers = {"Idempotency-Key": call.message_id}
        if call.key is not None:
            headers["Authorization"] = f"Bearer {call.key}"
        if call.content is not None:
            headers["Content-Type"] = "application/json"
        if call.topic is not None:  # the API refuses the call unless the key is this topic's device's
            headers[DEVICE_TOPIC_HEADER] = call.topic
        try:
            response = await self._send(call, headers)
        except httpx.HTTPError as error:
            log.warning("the server did not answer %s %s: %s", call.method, call.path, type(error).__name__)
            detail = "the server could not be reached; send the same message (same id) again in a few seconds"
            body = problem(503, "server-unavailable", "The service is briefly unavailable", detail)
            return Answer(call.message_id, 503, body, retry_after="5")
        answered: Any
        try:
            answered = response.json() if response.content else None
        except ValueError:
            answered = response.text
        replayed = response.headers.get("idempotent-replayed") == "true"
        return Answer(call.message_id, response.status_code, answered, replayed, response.headers.get("retry-after"))

    async def _send(self, call: Call, headers: dict[str, str]) -> httpx.Response:
        """The request, sent once more on a fresh connection when a kept-alive one broke under it (the server closed
        it as the request went out): safe, since every call carries its message id as the Idempotency-Key."""
        try:
            return await self.http.request(call.method, call.path, content=call.content, headers=headers)
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
            return await self.http.request(call.method, call.path, content=call.content, headers=headers)

    async def close(self) -> None:
        await self.http.aclose()


class Bridge:
    def __init__(
        self,
        forward: Forward,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        network: str | None = None,
        group: str | None = None,
        client_id: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.forward, self.host, self.port = forward, host, port
        self.topic = subscription(network, group)
        self.client_id = client_id or f"coalition-bridge-{uuid.uuid4().hex[:12]}"
        self.username, self.password = username, password
        self.slots = asyncio.Semaphore(concurrency)
        self.in_hand: set[asyncio.Task[None]] = set()
        self.ready = asyncio.Event()  # subscribed (tests and the CLI wait for it)
        self.stopping = asyncio.Event()
        self.connections = 0  # how many times it connected (a reconnect test reads it)

    def stop(self) -> None:
        self.stopping.set()

    async def run(self) -> None:
        """Serve until `stop()`, reconnecting with a growing pause (with jitter) whenever the broker goes away."""
        pause = FIRST_PAUSE_SECONDS
        while not self.stopping.is_set():
            try:
                async with aiomqtt.Client(
                    self.host,
                    self.port,
                    identifier=self.client_id,
                    clean_session=True,
                    username=self.username,
                    password=self.password,
                    max_queued_incoming_messages=MAX_WAITING_MESSAGES,
                ) as client:
                    await client.subscribe(self.topic, qos=1)
                    self.connections += 1
                    log.info("listening on %s at %s:%s", self.topic, self.host, self.port)
                    self.ready.set()
                    pause = FIRST_PAUSE_SECONDS
                    await self._serve(client)
            except aiomqtt.MqttError as error:
                self.ready.clear()
                if self.stopping.is_set():
                    break
                log.warning("broker %s:%s: %s; again in %.1f s", self.host, self.port, error, pause)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), pause * random.uniform(0.8, 1.2))
                pause = min(pause * 2, LONGEST_PAUSE_SECONDS)
        self.ready.clear()

    async def _serve(self, client: aiomqtt.Client) -> None:
        listening = asyncio.create_task(self._listen(client))
        stopping = asyncio.create_task(self.stopping.wait())
        try:
            await asyncio.wait({listening, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (listening, stopping):
                task.cancel()
            ended = await asyncio.gather(listening, stopping, return_exceptions=True)
            await self._drain()  # while connected: the answers in hand still go out
        if isinstance(ended[0], aiomqtt.MqttError):
            raise ended[0]  # the broker went away: reconnect
        if isinstance(ended[0], Exception):
            log.error("reading from the broker failed", exc_info=ended[0])
            raise aiomqtt.MqttError("reading failed")  # reconnect after a pause, never spin

    async def _listen(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            if message.retain:  # kept by the broker from some time before: as stale as a queued request
                log.warning("retained request on %s ignored (devices publish requests without retain)", message.topic)
                continue
            await self.slots.acquire()  # at the bound, stop taking messages: they wait (up to MAX_WAITING_MESSAGES)
            payload = message.payload if isinstance(message.payload, bytes | bytearray) else b""
            task = asyncio.create_task(self._handle(client, str(message.topic), bytes(payload)))
            self.in_hand.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.in_hand.discard(task)
        self.slots.release()

    async def _drain(self) -> None:
        if not self.in_hand:
            return
        _, late = await asyncio.wait(set(self.in_hand), timeout=DRAIN_SECONDS)
        for task in late:  # its device asks again and gets the stored answer, if the request went through
            task.cancel()
        if late:
            await asyncio.wait(late)

    async def _handle(self, client: aiomqtt.Client, topic: str, payload: bytes) -> None:
        route = parse_topic(topic)
        if route is None:
            return  # not a request topic (a misdirected publish): nobody to answer
        try:
            answer = await self.answer(route, payload)
            log.debug("%s/%s %s → %s", route.network, route.device, route.operation, answer.status)
            await client.publish(route.answer_topic(answer.topic_operation(route.operation)), answer.payload(), qos=1)
        except aiomqtt.MqttError as error:  # the device asks again with the same id and gets the stored answer
            log.warning("answer to %s not sent: %s", topic, error)
        except Exception:  # one message must never stop the bridge
            log.exception("message on %s failed", topic)

    async def answer(self, route: Route, payload: bytes) -> Answer:
        read = read_request(route.operation, payload)
        if isinstance(read, Answer):
            return read
        return await self.forward(dataclasses.replace(read, topic=f"{route.network}/{route.device}"))
