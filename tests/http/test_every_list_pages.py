"""Every list pages (issue 17, point 5 "Done when: every list paginates"; docs/api.md "Conventions"): the OpenAPI
document is walked and every GET under /v1 either takes `cursor` and `limit` (at most 500), or is named below with
the reason it needs neither. A new GET fails here until it pages or is named, with its reason."""

from __future__ import annotations

from typing import Any

import pytest

from coalition.adapters.http.app import create_app
from coalition.adapters.http.pagination import MAX_LIMIT

# one resource each, not a list (settings, one record, a document)
ONE_RESOURCE = {
    "/v1/admin/campaigns/{campaign_id}",
    "/v1/admin/devices/{device_id}",
    "/v1/admin/gift-breakage",
    "/v1/admin/gift-card-breakage",
    "/v1/admin/gift-cards/{card_number}",
    "/v1/admin/limits",
    "/v1/admin/plan",
    "/v1/admin/message-settings",
    "/v1/admin/message-templates/{kind}/{channel}/{language}",
    # the first 100 of each list and `<list>_next`, the link to the rest through the list's paged route
    "/v1/admin/network",
    "/v1/admin/network/country",
    "/v1/admin/points-breakage",
    "/v1/admin/rule-sets/draft",  # one document, within the rule-set limits (docs/rules.md)
    "/v1/admin/rule-sets/schema",
    "/v1/admin/rule-sets/{version}",
    "/v1/admin/settlement/fees",
    "/v1/admin/settlement/statements/{number}",  # one line per party of the period and the transfer plans
    "/v1/devices/me",
    "/v1/gift-cards/{card_number}",
    "/v1/members/{identifier}",
    "/v1/members/{identifier}/wallet",
    "/v1/visits/{visit_id}",
    # the state an edit at the same path changes (its If-Match is checked against this GET's ETag)
    "/v1/admin/cashiers/{cashier_id}/active",
    "/v1/admin/cashiers/{cashier_id}/password",
    "/v1/admin/members/{identifier}",
    "/v1/admin/members/{member_id}/wallet",
    "/v1/admin/networks/{network_id}/plan",
    "/v1/admin/networks/{network}/admin-key/expiry",
    "/v1/admin/partners/{partner_id}/email",
    "/v1/admin/rule-sets/draft/program",
    "/v1/admin/schedules/{job}",
    "/v1/admin/terminals/{terminal_id}/key/expiry",
}
# lists that are bounded by construction, each with why
BOUNDED = {
    "/v1/admin/schedules": "one line per scheduled job kind: a fixed set in domain/schedules.py",
    "/v1/admin/permissions": "the matrix is replaced whole by PUT, whose body holds at most 10,000 entries",
    "/v1/admin/rule-sets/context": "the documented context and functions: fixed by the code",
    "/v1/admin/webhooks/{subscription_id}": "its 20 latest deliveries (RECENT_DELIVERIES); all at …/deliveries, paged",
    # a period's reports (docs/reports.md): figures summed over the period, their rows fixed by the calendar
    "/v1/admin/reports/attendance": "one row per hour of the day (24) and per weekday (7) that had checks",
    "/v1/admin/reports/customers": "two groups, new and returning, with their totals",
    "/v1/admin/reports/effectiveness": "members' against anonymous checks, the repeat rate and the program's cost",
    "/v1/admin/reports/threshold": "one threshold computed from two periods' average checks",
}
# files streamed whole by design (an export is every row asked for, written as it is read: docs/exports.md)
DOWNLOADS = {
    "/v1/admin/audit.csv",
    "/v1/admin/exports/members",
    "/v1/admin/exports/products",
    "/v1/admin/exports/categories",
    "/v1/admin/exports/{what}",
}
# not paged yet (issue 17, point 5): none left
NOT_YET: set[str] = set()


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app().openapi()


def _gets(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {path: item["get"] for path, item in document["paths"].items() if path.startswith("/v1") and "get" in item}


def _query(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}


def test_every_get_list_under_v1_pages_by_cursor_or_is_named_with_its_reason(document: dict[str, Any]) -> None:
    gets = _gets(document)
    named = ONE_RESOURCE | BOUNDED.keys() | DOWNLOADS | NOT_YET
    paged = {path for path, operation in gets.items() if {"cursor", "limit"} <= _query(operation).keys()}
    assert not paged & named, "a paged route need not be named"
    assert sorted(set(gets) - paged - named) == [], "page it (take `page: Paging`) or name it here with the reason"
    assert sorted(named - set(gets)) == [], "a named route that is gone"
    assert {
        "/v1/admin/members",
        "/v1/admin/members/{identifier}/statement",
        "/v1/members/{identifier}/wallet/history",
        "/v1/admin/campaigns",
        "/v1/admin/transactions",
        "/v1/admin/audit",
        "/v1/admin/settlement/statements/{number}/partners/{partner_id}",
        "/v1/admin/partners",
        "/v1/admin/outlets",
        "/v1/admin/terminals",
        "/v1/admin/cashiers",
    } <= paged
    for path in paged:
        limit = _query(gets[path])["limit"]["schema"]
        assert limit.get("minimum") == 1 and limit.get("maximum") == MAX_LIMIT, (path, limit)


def test_every_paged_list_but_the_audit_log_declares_its_next_page_headers(document: dict[str, Any]) -> None:
    gets = _gets(document)
    for path, operation in gets.items():
        if "cursor" in _query(operation) and path != "/v1/admin/audit":  # the audit log answers next_cursor only
            headers = operation["responses"]["200"].get("headers", {})
            assert {"X-Next-Cursor", "Link"} <= headers.keys(), path
