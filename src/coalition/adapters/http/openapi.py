"""The OpenAPI document (/openapi.json) as the server behaves: `Idempotency-Key` required on the till's writes (a
missing one is a 422 naming it), and every error status an operation can answer declared with its
`application/problem+json` body (one `Problem` schema) and the headers that come with it.

The routes declare their successes; the errors are added here in one place, by what an operation is: everything
may meet a database outage (503); the API's operations authenticate, look things up and validate (401, 403, 404,
409, 422) and are rate limited (429); an operation with a body may be sent one that cannot be read (400) or
one too large (413).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An error, as RFC 9457 problem details; `field` names the part of the request at fault.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "https://coalition.dev/problems/<code>, stable per kind"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "field": {"type": "string", "description": "e.g. `items[0].quantity`, `Idempotency-Key`"},
        "file_errors": {
            "type": "array",
            "description": "every error of a refused file (imports): its row, column and reason",
            "items": {
                "type": "object",
                "required": ["row", "column", "reason"],
                "properties": {"row": {"type": "integer"}, "column": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
        "errors": {
            "type": "array",
            "description": "every invalid field, when the request failed validation",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}
RETRY_AFTER = {"description": "seconds to wait before trying again", "schema": {"type": "integer", "minimum": 1}}
ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    400: ("The body could not be read as text (not UTF-8); a body that is not JSON is a 422", {}),
    401: ("No key, or a key that is not (or no longer) valid", {"WWW-Authenticate": {"schema": {"type": "string"}}}),
    403: ("The key may not do this (another network, the permissions matrix, the operator's token)", {}),
    404: ("Nothing of that identifier in the key's network", {}),
    409: ("The state does not allow it (a card not active, too few points, already done)", {}),
    412: ("If-Match named a version the resource no longer has: read it again (its ETag) and redo the edit", {}),
    413: ("The request body is larger than this route accepts", {}),
    422: ("A field of the request (body, path, query or header) is invalid; `field` names it", {}),
    429: ("Too many requests or attempts for this key or address", {"Retry-After": RETRY_AFTER}),
    503: ("The database cannot be reached right now", {"Retry-After": RETRY_AFTER}),
}
_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    if not path.startswith("/v1/"):
        return [503]
    statuses = [401, 403, 404, 409, 422, 429, 503]
    if "requestBody" in operation:
        statuses += [400, 413]  # a body that is not UTF-8 text cannot be parsed at all; one too large
    if path.startswith(ADMIN_PREFIX) and method in ("put", "patch", "delete"):
        statuses.append(412)  # If-Match (adapters/http/conventions.py)
    return sorted(statuses)


def _error_response(status: int) -> dict[str, Any]:
    description, headers = ERRORS[status]
    content = {"application/problem+json": {"schema": PROBLEM_REF}}
    response: dict[str, Any] = {"description": description, "content": content}
    if headers:
        response["headers"] = headers
    return response


def _is_idempotency_key(parameter: dict[str, Any]) -> bool:
    return parameter.get("in") == "header" and parameter.get("name") == "Idempotency-Key"


ADMIN_PREFIX = "/v1/admin/"
ADMIN_IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "optional: a retry with the same key and request gets the first success again (header "
    "Idempotent-Replayed: true) instead of doing it twice; the same key with another request is a 422; kept 24 h",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}
IF_MATCH: dict[str, Any] = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "optional: the ETag the resource's GET answered; if the resource has changed since, the edit is "
    "refused with a 412 (without it, the edit is made whatever the version)",
    "schema": {"type": "string", "maxLength": 200},
}
ETAG = {"description": "the version of what was answered, for If-Match", "schema": {"type": "string"}}


def _admin_conventions(method: str, operation: dict[str, Any]) -> None:
    """The admin API's conventions (adapters/http/conventions.py) declared on one of its operations."""
    parameters = operation.setdefault("parameters", [])
    names = {(parameter.get("in"), str(parameter.get("name")).lower()) for parameter in parameters}
    if method in ("post", "put", "patch", "delete") and ("header", "idempotency-key") not in names:
        parameters.append(dict(ADMIN_IDEMPOTENCY_KEY))
    if method in ("put", "patch", "delete") and ("header", "if-match") not in names:
        parameters.append(dict(IF_MATCH))
    success = operation.get("responses", {}).get("200")
    if success is not None and method in ("get", "put", "patch", "delete"):
        success.setdefault("headers", {})["ETag"] = ETAG


def amend(document: dict[str, Any]) -> dict[str, Any]:
    """Declare the errors and the required idempotency key on the document FastAPI generated (changed in place)."""
    for path, item in document.get("paths", {}).items():
        for method in _HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            for parameter in operation.get("parameters", []):
                # a till's write without one is refused (422 naming it) once the key is known: it is required;
                # the admin side's (a rotation's retry) stays optional, as its route declares it
                if _is_idempotency_key(parameter) and not path.startswith("/v1/admin/"):
                    parameter["required"] = True
                    parameter["description"] = "a fresh key per attempt; a retry repeats it and gets the first answer"
                    parameter["schema"] = {"type": "string", "minLength": 1, "maxLength": 200}
            responses = operation.setdefault("responses", {})
            if path.startswith(ADMIN_PREFIX):
                _admin_conventions(method, operation)
            for status in _statuses(path, method, operation):
                responses[str(status)] = _error_response(status)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's own 422 body, which we never send
        schemas.pop(unused, None)
    return document


def install(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = amend(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
