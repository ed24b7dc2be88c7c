"""Every list filters by what its rows carry (issue 17, point 5 "filters by time, outlet and member"; docs/api.md
"Conventions"): the OpenAPI document is walked like tests/http/test_every_list_pages.py, and every paged list is
classified below by its three dimensions. A dimension is either the query parameters that filter it (which the
list must take, typed: aware date-times; ids from 1 to the largest id) or the reason the list has none. A new paged
list fails here until it is classified."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from coalition.adapters.http.app import create_app
from coalition.adapters.http.schemas import MAX_RECORD_ID
from coalition_client.aio import AsyncClient
from coalition_client.client import Client
from coalition_client.routes import all_routes

TIME, OUTLET, MEMBER = "time", "outlet", "member"
Filter = tuple[str, ...] | str  # the parameters, or why the list has none
WINDOW = ("since", "until")
NO_TIME_OUTLET_OR_MEMBER = "configuration: a record carries no time, outlet or member"

LISTS: dict[str, dict[str, Filter]] = {
    "/v1/admin/transactions": {TIME: WINDOW, OUTLET: ("outlet_id",), MEMBER: ("member_id",)},
    "/v1/admin/members": {
        TIME: ("enrolled_since", "enrolled_until"),
        OUTLET: "a member is the network's, not an outlet's: its row carries no outlet",
        MEMBER: "the list of members itself: `q` finds one by a part of its name or an identifier",
    },
    "/v1/admin/members/{identifier}/statement": {
        TIME: WINDOW,
        OUTLET: "a member's history with its running balance, read back in time; by outlet: /v1/admin/transactions",
        MEMBER: "one member's, named in the path",
    },
    "/v1/members/{identifier}/wallet/history": {
        TIME: WINDOW,
        OUTLET: "a wallet's history with its running balance, read back in time (the till's view of one member)",
        MEMBER: "one member's, named in the path",
    },
    "/v1/admin/coupons": {
        TIME: "a coupon carries its validity (valid_from, valid_until), a window rather than a moment it happened",
        OUTLET: "a coupon is the network's: any outlet takes it",
        MEMBER: ("member_id",),
    },
    "/v1/admin/devices": {
        TIME: "a device carries only its registration time; a short list, one row per machine",
        OUTLET: ("outlet_id",),
        MEMBER: "a device is an outlet's machine: no member",
    },
    "/v1/admin/webhooks/{subscription_id}/deliveries": {
        TIME: WINDOW,
        OUTLET: "a delivery carries its event's kind and id, not the event's outlet",
        MEMBER: "a delivery carries its event's kind and id, not the event's member",
    },
    "/v1/admin/schedules/runs": {
        TIME: WINDOW,
        OUTLET: "a run is the network's job for a period: no outlet",
        MEMBER: "a run is the network's job for a period: no member",
    },
    # a partner's catalogue (docs/files.md "Products and categories"): filtered by `partner_id`, `category`, `q`
    "/v1/admin/products": {
        TIME: "a product is a partner's price-list entry: it carries only when it was last imported",
        OUTLET: "a catalogue is a partner's, the same at each of its outlets: `partner_id` filters it",
        MEMBER: NO_TIME_OUTLET_OR_MEMBER,
    },
    "/v1/admin/product-categories": {
        TIME: "a category is a partner's price-list entry: it carries only when it was last imported",
        OUTLET: "a catalogue is a partner's, the same at each of its outlets: `partner_id` filters it",
        MEMBER: NO_TIME_OUTLET_OR_MEMBER,
    },
    "/v1/admin/audit": {
        TIME: WINDOW,
        OUTLET: "an entry names its object by type and id: `object_type=outlet&object_id=…`",
        MEMBER: "an entry names its object by type and id: `object_type=member&object_id=…`",
    },
    "/v1/admin/campaigns": {
        TIME: WINDOW,
        OUTLET: "a campaign is sent to the network's members: no outlet",
        MEMBER: "a campaign's audience is a segment, not a member",
    },
    "/v1/admin/cashiers": {
        TIME: "a cashier carries no time",
        OUTLET: ("outlet_id",),
        MEMBER: "a cashier is staff: no member",
    },
    "/v1/admin/terminals": {
        TIME: "a terminal carries only its key's expiry, not a moment it happened",
        OUTLET: ("outlet_id",),
        MEMBER: "a terminal is an outlet's: no member",
    },
    "/v1/admin/outlets": {
        TIME: "an outlet carries no time",
        OUTLET: "the list of outlets itself (by partner: `partner_id`)",
        MEMBER: "an outlet has no member",
    },
    "/v1/admin/partners": {
        TIME: NO_TIME_OUTLET_OR_MEMBER,
        OUTLET: NO_TIME_OUTLET_OR_MEMBER,
        MEMBER: NO_TIME_OUTLET_OR_MEMBER,
    },
    "/v1/admin/gift-types": {
        TIME: NO_TIME_OUTLET_OR_MEMBER,
        OUTLET: NO_TIME_OUTLET_OR_MEMBER,
        MEMBER: NO_TIME_OUTLET_OR_MEMBER,
    },
    "/v1/admin/message-templates": {
        TIME: NO_TIME_OUTLET_OR_MEMBER,
        OUTLET: NO_TIME_OUTLET_OR_MEMBER,
        MEMBER: NO_TIME_OUTLET_OR_MEMBER,
    },
    "/v1/admin/webhooks": {
        TIME: "configuration: at most 20 subscriptions; their created and updated times are not a history",
        OUTLET: NO_TIME_OUTLET_OR_MEMBER,
        MEMBER: NO_TIME_OUTLET_OR_MEMBER,
    },
    "/v1/admin/rule-sets": {
        TIME: "the rule set's versions in order; the version in force at a moment is its `effective_from`",
        OUTLET: "a rule set is the network's: its scopes name outlets inside the document",
        MEMBER: "a rule set is the network's: no member",
    },
    "/v1/admin/settlement/statements": {
        TIME: "one statement per closed period, in order: the period is the statement's number",
        OUTLET: "a statement is the network's, one line per partner",
        MEMBER: "a statement sums partners' obligations: no member",
    },
    "/v1/admin/settlement/statements/{number}/partners/{partner_id}": {
        TIME: "one closed period's entries, whole as mailed; by time, outlet and member: /v1/admin/transactions",
        OUTLET: "one closed period's entries, whole as mailed; by time, outlet and member: /v1/admin/transactions",
        MEMBER: "one closed period's entries, whole as mailed; by time, outlet and member: /v1/admin/transactions",
    },
    "/v1/admin/networks": {
        TIME: "the operator's list of networks, a handful per host",
        OUTLET: "the operator's list of networks: no outlet",
        MEMBER: "the operator's list of networks: no member",
    },
}
# what a filter of each dimension is called when the list's rows carry it
NAMES = {TIME: {"since", "until"}, OUTLET: {"outlet_id"}, MEMBER: {"member_id"}}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app().openapi()


def _query(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}


def _paged_lists(document: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    gets = {path: item["get"] for path, item in document["paths"].items() if path.startswith("/v1") and "get" in item}
    return {path: _query(op) for path, op in gets.items() if {"cursor", "limit"} <= _query(op).keys()}


def _types(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]


def test_every_paged_list_is_classified_by_time_outlet_and_member(document: dict[str, Any]) -> None:
    lists = _paged_lists(document)
    assert sorted(set(lists) - LISTS.keys()) == [], "classify the new list here: its filters, or why it has none"
    assert sorted(LISTS.keys() - set(lists)) == [], "a classified list that is gone (or no longer pages)"
    for path, dimensions in LISTS.items():
        assert set(dimensions) == {TIME, OUTLET, MEMBER}, path
        for dimension, kept in dimensions.items():
            assert kept, (path, dimension)
            if isinstance(kept, str):  # a reason: the list must not take the dimension's usual filter meanwhile
                stale = NAMES[dimension] & lists[path].keys()
                assert not stale, f"{path} filters {dimension} by {stale}: name the parameters instead of a reason"


def test_every_filter_a_list_must_have_it_takes_typed(document: dict[str, Any]) -> None:
    lists = _paged_lists(document)
    for path, dimensions in LISTS.items():
        for dimension, kept in dimensions.items():
            if isinstance(kept, str):
                continue
            for name in kept:
                assert name in lists[path], f"{path} must filter {dimension} by `{name}`"
                (schema,) = _types(lists[path][name]["schema"])
                if dimension == TIME:
                    assert (schema.get("type"), schema.get("format")) == ("string", "date-time"), (path, name, schema)
                else:
                    assert schema.get("type") == "integer", (path, name, schema)
                    assert (schema.get("minimum"), schema.get("maximum")) == (1, MAX_RECORD_ID), (path, name, schema)


def _filters(path: str) -> set[str]:
    return {name for kept in LISTS[path].values() if not isinstance(kept, str) for name in kept}


@pytest.mark.parametrize("client_class", [Client, AsyncClient])
def test_the_client_calls_of_every_list_take_its_filters(client_class: type) -> None:
    """The route declares them (tests/client/test_client_matches_openapi.py holds them to the server), and every
    method of the client that calls the route takes each of them as a keyword."""
    methods = {name: method for name, method in inspect.getmembers(client_class, inspect.isfunction)}
    for name, route in all_routes().items():
        if route.method != "GET" or route.path not in LISTS:
            continue
        wanted = _filters(route.path)
        assert wanted <= set(route.query), f"{name}: declare {sorted(wanted - set(route.query))} in its query"
        callers = [m for m in methods.values() if f"r.{name}," in inspect.getsource(m)]
        assert callers, f"no method of {client_class.__name__} calls {name}"
        for method in callers:
            missing = wanted - inspect.signature(method).parameters.keys()
            assert not missing, f"{client_class.__name__}.{method.__name__} lacks {sorted(missing)}"
