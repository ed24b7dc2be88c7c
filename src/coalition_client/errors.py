"""problem+json answers (RFC 9457) raised as typed exceptions: one class per status an integrator acts on."""

from __future__ import annotations

from typing import Any

from coalition_client.admin_models import FileError


class CoalitionError(Exception):
    """Anything the client raises on purpose."""


class ProblemError(CoalitionError):
    """The server refused the call and said why in a problem+json body."""

    def __init__(self, status: int, body: dict[str, Any], retry_after_seconds: float | None = None) -> None:
        self.status = status
        self.body = body
        self.type: str = str(body.get("type", "about:blank"))
        self.title: str = str(body.get("title", ""))
        self.detail: str = str(body.get("detail", ""))
        field = body.get("field")
        self.field: str | None = None if field is None else str(field)
        self.retry_after_seconds = retry_after_seconds
        # A refused file (docs/files.md) lists its errors, each with its row and column (the first 1,000 of them).
        self.file_errors: list[FileError] = [
            FileError(row=int(e.get("row", 0)), column=str(e.get("column", "")), reason=str(e.get("reason", "")))
            for e in body.get("file_errors") or []
            if isinstance(e, dict)
        ]
        count = body.get("file_error_count")
        self.file_error_count: int = count if isinstance(count, int) else len(self.file_errors)
        where = f" (field {self.field})" if self.field else ""
        super().__init__(f"{status} {self.title}: {self.detail}{where}")

    @property
    def code(self) -> str:
        """The last part of the problem type, e.g. `insufficient_points`: what a program branches on."""
        return self.type.rstrip("/").rsplit("/", 1)[-1]


class InvalidInput(ProblemError):
    """400/422: a field is wrong; `field` names it."""


class FileRefused(InvalidInput):
    """422 `file-refused`: an imported file had bad rows and nothing was written. `file_errors` names each row and
    column (`field` the first error's column); `file_error_count` counts them all."""


class Unauthorized(ProblemError):
    """401: the key is missing, wrong, expired or revoked."""


class Forbidden(ProblemError):
    """403: the key is good but may not do this."""


class NotFound(ProblemError):
    """404: no such member, purchase, card, …"""


class Conflict(ProblemError):
    """409: the state forbids it (a blocked card, too few points, …)."""


class PreconditionFailed(ProblemError):
    """412: the If-Match sent names a version the resource no longer has (another edit came first)."""


class PayloadTooLarge(ProblemError):
    """413: the body is over the server's limit."""


class RateLimited(ProblemError):
    """429: too many calls; `retry_after_seconds` says when to come back."""


class ServiceUnavailable(ProblemError):
    """503 after the client's retries ran out."""


class TransportError(CoalitionError):
    """The server could not be reached (after the retries allowed for this call)."""


_BY_STATUS: dict[int, type[ProblemError]] = {
    400: InvalidInput,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    422: InvalidInput,
    429: RateLimited,
    503: ServiceUnavailable,
}


def problem_for(status: int, body: dict[str, Any], retry_after_seconds: float | None = None) -> ProblemError:
    if status == 422 and "file_errors" in body:
        return FileRefused(status, body, retry_after_seconds)
    return _BY_STATUS.get(status, ProblemError)(status, body, retry_after_seconds)
