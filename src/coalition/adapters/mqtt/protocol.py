"""The devices' MQTT protocol without the network: topics, the operation table, reading a request message into the
HTTP call it stands for, and writing the answer message.

    request  coalition/<network code>/devices/<device id>/req/<operation>
             {"id": "<1–64 visible ASCII: the Idempotency-Key>", "key": "<device key>", "body": {...}, "path": {...}}
    answer   coalition/<network code>/devices/<device id>/res/<operation>
             {"id": ..., "status": <HTTP status>, "body": {... or problem+json}, "replayed": true?}

A message whose id cannot be read is answered on .../res/error (with "id": null and the operation), since the device
could not match the answer to its request anyway. Who the device is and what it may do is the key's, checked by the
HTTP layer like any terminal's; the topic's network and device go along (header Coalition-Device-Topic) and must be
the key's device's, so a device cannot act on another device's topic (and have that device read the answers).
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from coalition.adapters.http.problems import PROBLEM_TYPE_BASE

TOPIC_ROOT = "coalition"
ERROR_OPERATION = "error"  # the answer topic of a message whose id could not be read
MAX_PAYLOAD_BYTES = 16 * 1024
MAX_ID_LENGTH = 64
MAX_KEY_LENGTH = 256
MAX_PATH_VALUE_LENGTH = 128
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
# an oversized payload is not parsed; its id is still read when it comes first, as devices write it
_LEADING_ID = re.compile(rb'\A\s*\{\s*"id"\s*:\s*"([\x21\x23-\x5b\x5d-\x7e]{1,64})"')


@dataclass(frozen=True, slots=True)
class Operation:
    """One message kind: the HTTP request it becomes. `{name}` in the path is filled from the message's "path"."""

    name: str
    method: str
    path: str

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(field for _, field, _, _ in string.Formatter().parse(self.path) if field)


def _table(*operations: Operation) -> dict[str, Operation]:
    return {operation.name: operation for operation in operations}


# The device routes (docs/devices.md) and the terminal routes a device may also call with its key.
OPERATIONS: dict[str, Operation] = _table(
    Operation("authorize", "POST", "/v1/devices/authorize"),
    Operation("charge", "POST", "/v1/devices/charges"),
    Operation("hold", "POST", "/v1/devices/holds"),
    Operation("capture", "POST", "/v1/devices/holds/{hold}/capture"),
    Operation("void", "POST", "/v1/devices/holds/{hold}/void"),
    Operation("session-start", "POST", "/v1/devices/sessions"),
    Operation("session-stop", "POST", "/v1/devices/sessions/{session}/stop"),
    Operation("top-up", "POST", "/v1/devices/top-ups"),
    Operation("offline-uses", "POST", "/v1/devices/offline-uses"),  # a day's offline sales (each use keyed)
    Operation("heartbeat", "POST", "/v1/devices/heartbeat"),
    Operation("config", "GET", "/v1/devices/me"),
    Operation("use", "POST", "/v1/device-uses"),
    Operation("visit-start", "POST", "/v1/visits"),  # a turnstile's entry
    Operation("visit-end", "POST", "/v1/visits/{visit}/end"),  # … and exit
    Operation("member", "GET", "/v1/members/{member}"),
    Operation("wallet", "GET", "/v1/members/{member}/wallet"),
    Operation("wallet-top-up", "POST", "/v1/wallets/top-ups"),  # a till's top-up (a kiosk has "top-up")
)


def request_topic(network: str, device: str, operation: str) -> str:
    return f"{TOPIC_ROOT}/{network}/devices/{device}/req/{operation}"


def answer_topic(network: str, device: str, operation: str) -> str:
    return f"{TOPIC_ROOT}/{network}/devices/{device}/res/{operation}"


def subscription(network: str | None = None, group: str | None = None) -> str:
    """What the bridge subscribes to: one network's requests or every network's; `group` shares them among bridges
    (MQTT shared subscription: each message goes to one bridge of the group)."""
    topic = request_topic(network or "+", "+", "+")
    return f"$share/{group}/{topic}" if group else topic


@dataclass(frozen=True, slots=True)
class Route:
    """Where a request came from, read off its topic."""

    network: str
    device: str
    operation: str

    def answer_topic(self, operation: str | None = None) -> str:
        return answer_topic(self.network, self.device, operation or self.operation)


def parse_topic(topic: str) -> Route | None:
    parts = topic.split("/")
    if len(parts) != 6 or parts[0] != TOPIC_ROOT or parts[2] != "devices" or parts[4] != "req":
        return None
    if not all(parts[i] for i in (1, 3, 5)):
        return None
    return Route(parts[1], parts[3], parts[5])


@dataclass(frozen=True, slots=True)
class Call:
    """The HTTP request a message stands for."""

    message_id: str
    key: str | None
    method: str
    path: str
    content: bytes | None  # JSON; None: no body
    topic: str | None = None  # `<network code>/<device id>` of the topic it came on: the key must be that device's


@dataclass(frozen=True, slots=True)
class Answer:
    message_id: str | None  # None: answered on .../res/error
    status: int
    body: Any
    replayed: bool = False
    retry_after: str | None = None
    operation: str | None = None  # on .../res/error only: the operation of the refused message

    def payload(self) -> bytes:
        message: dict[str, Any] = {"id": self.message_id, "status": self.status, "body": self.body}
        if self.replayed:
            message["replayed"] = True
        if self.retry_after is not None:
            message["retry_after"] = self.retry_after
        if self.message_id is None and self.operation is not None:
            message["operation"] = self.operation
        return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()

    def topic_operation(self, operation: str) -> str:
        return operation if self.message_id is not None else ERROR_OPERATION


def problem(status: int, code: str, title: str, detail: str, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status, "detail": detail}
    if field is not None:
        body["field"] = field
    return body


def _invalid(message_id: str | None, operation: str, field: str, detail: str, status: int = 422) -> Answer:
    title = "The message is not JSON" if status == 400 else "A field of the request is invalid"
    code = {400: "malformed-message", 413: "message-too-large"}.get(status, "invalid-input")
    if status == 413:
        title = "The message is too large"
    return Answer(message_id, status, problem(status, code, title, detail, field), operation=operation)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_request(operation_name: str, payload: bytes) -> Call | Answer:
    """The HTTP call of a request message, or the answer refusing it (400/413/422 naming the field)."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        leading = _LEADING_ID.match(payload[:200])
        message_id = leading.group(1).decode() if leading else None
        detail = f"a message may hold at most {MAX_PAYLOAD_BYTES} bytes; this one holds {len(payload)}"
        return _invalid(message_id, operation_name, "payload", detail, 413)
    try:
        message = json.loads(payload.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _invalid(None, operation_name, "payload", "the message must be a JSON object in UTF-8", 400)
    if not isinstance(message, dict):
        return _invalid(None, operation_name, "payload", "the message must be a JSON object")
    message_id = message.get("id")
    if not isinstance(message_id, str) or not 1 <= len(message_id) <= MAX_ID_LENGTH:
        detail = f"id: a string of 1 to {MAX_ID_LENGTH} characters is required (the idempotency key)"
        return _invalid(None, operation_name, "id", detail)
    if not _VISIBLE_ASCII.fullmatch(message_id):
        return _invalid(None, operation_name, "id", "id: visible ASCII characters only (no spaces)")
    operation = OPERATIONS.get(operation_name)
    if operation is None:
        known = ", ".join(sorted(OPERATIONS))
        return _invalid(
            message_id, operation_name, "operation", f"unknown operation {operation_name!r}; one of {known}"
        )
    unknown = sorted(set(message) - {"id", "key", "body", "path"})
    if unknown:
        return _invalid(message_id, operation_name, unknown[0], f"{unknown[0]}: not a field of a request message")
    key = message.get("key")
    if key is not None and (not isinstance(key, str) or len(key) > MAX_KEY_LENGTH or not _VISIBLE_ASCII.fullmatch(key)):
        return _invalid(message_id, operation_name, "key", f"key: the device key, 1 to {MAX_KEY_LENGTH} characters")
    path = _fill_path(message_id, operation, message.get("path"))
    if isinstance(path, Answer):
        return path
    return _with_body(message_id, operation, key, path, message)


def _fill_path(message_id: str, operation: Operation, given: Any) -> str | Answer:
    given = {} if given is None else given
    if not isinstance(given, dict):
        return _invalid(message_id, operation.name, "path", "path: an object of the operation's ids")
    wanted = operation.parameters
    for name in given:
        if name not in wanted:
            return _invalid(message_id, operation.name, f"path.{name}", f"path.{name}: {operation.name} has no such id")
    values: dict[str, str] = {}
    for name in wanted:
        value = given.get(name)
        field = f"path.{name}"
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_PATH_VALUE_LENGTH:
            return _invalid(message_id, operation.name, field, f"{field}: a string of 1 to 128 characters is required")
        if value in (".", "..") or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            return _invalid(message_id, operation.name, field, f"{field}: not an id")
        values[name] = quote(value, safe="")  # one path segment, whatever it holds
    return operation.path.format(**values)


def _with_body(
    message_id: str, operation: Operation, key: str | None, path: str, message: dict[str, Any]
) -> Call | Answer:
    body = message.get("body")
    if operation.method == "GET" or body is None:
        return Call(message_id, key, operation.method, path, None)
    if not isinstance(body, dict):
        return _invalid(message_id, operation.name, "body", "body: a JSON object")
    try:
        content = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    except ValueError:  # 1e999 read as infinity
        return _invalid(message_id, operation.name, "body", "body: a number out of range")
    return Call(message_id, key, operation.method, path, content)
