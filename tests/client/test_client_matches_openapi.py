"""The client package cannot drift from the server: every route, field and key is held against the app's own
OpenAPI document, and the async client offers exactly the sync client's methods."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest

from coalition.adapters.http.app import create_app
from coalition_client import check, models
from coalition_client.aio import AsyncClient
from coalition_client.client import Client
from coalition_client.routes import Route, all_routes


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app().openapi()


# /v1 operations the client may lack, each with its reason; keep it short. Anything else under /v1 without a Route
# in coalition_client.routes fails the test below, so a new server route cannot ship without its client call.
EXCLUDED: dict[tuple[str, str], str] = {}


def test_every_route_of_the_client_matches_the_servers_openapi(spec: dict[str, Any]) -> None:
    assert check.problems(spec) == []
    assert len(all_routes()) >= 140


def test_every_v1_operation_of_the_server_has_a_client_route(spec: dict[str, Any]) -> None:
    assert check.uncovered(spec, EXCLUDED) == []
    operations = check.operations(spec)
    stale = {op for op in EXCLUDED if op in {(r.method, r.path) for r in all_routes().values()}}
    assert not stale, f"excluded but covered now: drop them from EXCLUDED: {sorted(stale)}"
    assert len(operations) >= 140


def test_the_check_catches_a_renamed_field_a_missing_required_one_a_wrong_type_and_a_wrong_path(
    spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    @dataclasses.dataclass(kw_only=True)
    class Renamed:
        customer: str
        receipt_number: str  # the server calls it `receipt`

    @dataclasses.dataclass(kw_only=True)
    class Answer:
        id: str
        points_awarded: int  # the server calls it `points_earned`
        points_balance: str  # an integer on the wire

    drifted = {
        "PURCHASE": Route("POST", "/v1/purchases", Answer, Renamed, idempotency_key=True),
        "GONE": Route("GET", "/v1/members/{identifier}/nothing", dict, safe=True),
        "KEYLESS": Route("POST", "/v1/purchases/quote", models.QuoteAnswer, models.Quote, idempotency_key=True),
    }
    monkeypatch.setattr(check, "all_routes", lambda: drifted)
    found = "\n".join(check.problems(spec))
    assert "sends Renamed.receipt_number, which the schema does not have" in found
    assert "never sends required field receipt" in found
    assert "reads Answer.points_awarded, which the answer's schema does not have" in found
    assert "Answer.points_balance: the client reads ['string'] where the server sends ['integer']" in found
    assert "GONE (GET /v1/members/{identifier}/nothing): no such operation" in found
    assert "sends an Idempotency-Key the server does not take" in found


def test_the_check_holds_uploads_query_parameters_and_file_answers(
    spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from coalition_client import admin_models

    @dataclasses.dataclass(kw_only=True)
    class Options:
        separator: str | None = None  # the server's form calls it `delimiter`

    drifted = {
        "UPLOAD": Route(
            "POST", "/v1/admin/imports/members", admin_models.MemberImport, Options, safe=True, upload="upload"
        ),
        "JSON_UPLOAD": Route(
            "POST", "/v1/admin/imports/refunds", admin_models.SalesImport, dict, safe=True, upload="file"
        ),
        "QUERY": Route("GET", "/v1/admin/exports/{what}", bytes, safe=True, query=("from", "since")),
        "NOT_A_FILE": Route("GET", "/v1/admin/network", bytes, safe=True),
    }
    monkeypatch.setattr(check, "all_routes", lambda: drifted)
    found = "\n".join(check.problems(spec))
    assert (
        "UPLOAD (POST /v1/admin/imports/members): sends the form field separator, which the schema does not have"
        in found
    )
    assert "sends the form field upload, which the schema does not have" in found
    assert "never sends required form field file" in found
    assert "sends the query parameter since, which the server does not take" in found
    assert "query parameter from" not in found
    assert "NOT_A_FILE (GET /v1/admin/network): the server does not answer a file the client could stream" in found
    assert "JSON_UPLOAD" not in found  # the options' dict body is not checked field by field; the file's field is

    from coalition_client import routes
    from coalition_client._files import export_query

    assert set(export_query()) == set(routes.EXPORT.query)  # what the export methods send is what the check holds


def test_the_async_client_has_the_sync_clients_methods_with_the_same_signatures() -> None:
    def public(cls: type) -> dict[str, inspect.Signature]:
        members = {name: getattr(cls, name) for name in dir(cls)}  # the mixins' methods (_money.py, …) too
        return {
            name: inspect.signature(member)
            for name, member in members.items()
            if callable(member) and not name.startswith("_") and name not in ("close", "aclose")
        }

    sync, asynchronous = public(Client), public(AsyncClient)
    assert sync.keys() == asynchronous.keys()
    for name in sync:
        if name == "pages":  # a generator: Iterator in one, AsyncIterator in the other
            assert sync[name].parameters == asynchronous[name].parameters
            assert inspect.isasyncgenfunction(AsyncClient.pages)
            continue
        assert str(sync[name]) == str(asynchronous[name]), name
        assert inspect.iscoroutinefunction(getattr(AsyncClient, name)), name


def test_the_check_runs_from_the_command_line_against_a_saved_document(spec: dict[str, Any], tmp_path: Any) -> None:
    import json

    saved = tmp_path / "openapi.json"
    saved.write_text(json.dumps(spec))
    assert check.main(["check", str(saved)]) == 0


def test_the_device_simulator_reaches_every_device_operation_through_the_clients_routes() -> None:
    from coalition.adapters.mqtt.device_client import _ROUTES
    from coalition.adapters.mqtt.protocol import OPERATIONS

    assert _ROUTES.keys() == OPERATIONS.keys()
    for name, operation in OPERATIONS.items():
        route, renamed = _ROUTES[name]
        path = operation.path
        for old, new in renamed.items():
            path = path.replace("{" + old + "}", "{" + new + "}")
        assert (route.method, route.path) == (operation.method, path), name
