"""Reading a request message never fails: whatever bytes arrive on whatever operation, the bridge gets either the
HTTP call or an answer refusing the message with 400/413/422 naming the field — never an exception."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from coalition.adapters.mqtt.protocol import (
    MAX_PAYLOAD_BYTES,
    OPERATIONS,
    Answer,
    Call,
    parse_topic,
    read_request,
    request_topic,
    subscription,
)

operations = st.sampled_from([*OPERATIONS, "error", "teleport", ""])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
messages = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=70) | json_values,
        "key": st.text(max_size=20) | json_values,
        "body": json_values,
        "path": st.dictionaries(st.sampled_from(["hold", "session", "visit", "member", "x"]), json_values),
    },
)


def check(read: Call | Answer) -> None:
    if isinstance(read, Answer):
        assert read.status in (400, 413, 422)
        assert read.body["field"]
        json.loads(read.payload())
    else:
        assert read.path.startswith("/v1/")
        assert "/../" not in read.path and not read.path.endswith("/..")
        if read.content is not None:
            assert isinstance(json.loads(read.content), dict)


@settings(max_examples=300, deadline=None)
@given(operations, st.binary(max_size=300))
def test_any_bytes_are_read_or_refused(operation: str, payload: bytes) -> None:
    check(read_request(operation, payload))


@settings(max_examples=500, deadline=None)
@given(operations, messages)
def test_any_json_message_is_read_or_refused(operation: str, message: dict) -> None:
    check(read_request(operation, json.dumps(message).encode()))


def test_a_well_formed_message_is_its_http_call() -> None:
    payload = json.dumps({"id": "k-1", "key": "term_x", "body": {"amount": "1.50"}, "path": {"hold": "a/b c"}})
    call = read_request("capture", payload.encode())
    assert call == Call("k-1", "term_x", "POST", "/v1/devices/holds/a%2Fb%20c/capture", b'{"amount":"1.50"}')
    read = read_request("member", json.dumps({"id": "k-2", "path": {"member": "1000"}, "body": {"x": 1}}).encode())
    assert read == Call("k-2", None, "GET", "/v1/members/1000", None)


def test_an_oversized_message_is_refused_unread() -> None:
    padding = "x" * MAX_PAYLOAD_BYTES
    first = read_request("use", json.dumps({"id": "k-3", "body": {"p": padding}}).encode())
    assert isinstance(first, Answer) and (first.status, first.message_id) == (413, "k-3")
    last = read_request("use", json.dumps({"body": {"p": padding}, "id": "k-3"}).encode())
    assert isinstance(last, Answer) and (last.status, last.message_id) == (413, None)


def test_topics() -> None:
    topic = request_topic("park", "17", "charge")
    assert topic == "coalition/park/devices/17/req/charge"
    route = parse_topic(topic)
    assert route is not None and route.answer_topic() == "coalition/park/devices/17/res/charge"
    assert route.answer_topic("error") == "coalition/park/devices/17/res/error"
    assert parse_topic("coalition/park/devices/17/res/charge") is None
    assert parse_topic("coalition/park/devices//req/charge") is None
    assert parse_topic("coalition/park/devices/17/req/charge/more") is None
    assert subscription() == "coalition/+/devices/+/req/+"
    assert subscription("park", "bridges") == "$share/bridges/coalition/park/devices/+/req/+"
