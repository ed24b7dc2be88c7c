"""RFC 9457 problem+json answers for every error, each naming the field at fault where there is one."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from coalition.domain import errors

PROBLEM_TYPE_BASE = "https://coalition.dev/problems/"
RETRY_AFTER_SECONDS = 5  # while the database is out of reach
UNAVAILABLE_TITLE = "The service is briefly unavailable"
UNAVAILABLE_DETAIL = "the database cannot be reached right now; try again in a few seconds"
_STATUS: tuple[tuple[type[errors.DomainError], int], ...] = (
    (errors.Unauthorized, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.CardNotActive, 409),
    (errors.InsufficientPoints, 409),
    (errors.IdempotencyKeyReused, 422),
    (errors.InvalidInput, 422),
    (errors.PreconditionFailed, 412),
    (errors.InsufficientFunds, 422),
    (errors.RedeemNotAllowed, 422),
    (errors.RefundNotAllowed, 422),
    (errors.TooManyAttempts, 429),
)


def status_of(error: errors.DomainError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def problem_body(error: errors.DomainError) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + error.code,
        "title": error.title,
        "status": status_of(error),
        "detail": error.detail,
    }
    if error.field is not None:
        body["field"] = error.field
    return body


def problem(status: int, code: str, title: str, detail: str, field: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status, "detail": detail}
    if field is not None:
        body["field"] = field
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def unavailable_problem() -> JSONResponse:
    """The API's answer while the database is out of reach (adapters/http/outage.py; also before routing, where
    BodyLimits checks a key)."""
    response = problem(503, "database-unavailable", UNAVAILABLE_TITLE, UNAVAILABLE_DETAIL)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def field_path(location: tuple[Any, ...]) -> str:
    """('body', 'items', 0, 'quantity') → 'items[0].quantity'; ('header', 'idempotency-key') → 'Idempotency-Key'."""
    parts = list(location[1:]) if location and location[0] in ("body", "query", "path", "header") else list(location)
    if location and location[0] == "header" and parts:
        return "-".join(word.capitalize() for word in str(parts[0]).split("-"))
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def domain_problem(error: errors.DomainError) -> JSONResponse:
    response = problem(status_of(error), error.code, error.title, error.detail, error.field)
    if isinstance(error, errors.TooManyAttempts) and error.retry_after_seconds is not None:
        response.headers["Retry-After"] = str(error.retry_after_seconds)
    return response


def http_problem(error: StarletteHTTPException) -> JSONResponse:
    code = {404: "not-found", 405: "method-not-allowed"}.get(error.status_code, "http-error")
    response = problem(error.status_code, code, str(error.detail), str(error.detail))
    response.headers.update(error.headers or {})  # a 405's Allow: the methods the path does answer
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.DomainError)
    async def _domain(_request: Request, error: errors.DomainError) -> JSONResponse:
        return domain_problem(error)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "field": "body" if item["type"] == "json_invalid" else field_path(tuple(item["loc"])),
                "message": item["msg"],
            }
            for item in error.errors()
        ]
        first = problems[0] if problems else {"field": "body", "message": "invalid request"}
        return problem(
            422,
            "invalid-input",
            "A field of the request is invalid",
            f"{first['field']}: {first['message']}",
            first["field"],
            errors=problems,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        return http_problem(error)
