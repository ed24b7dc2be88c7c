"""Control characters refused at the edge, for every route in one place (issue 12, hole 3).

Every router is built with `route_class=CheckedRoute`: before a route runs, its path parameters, query parameters,
the Idempotency-Key header and its parsed JSON body are searched for control characters, and the first one found is
a 422 naming its field (`items[0].sku`, `Idempotency-Key`); an integer parameter beyond 64 bits is a 422 too.
Forms are checked by `checked_form` in the pages' sessions module, and the rule-set documents (JSON or YAML read by
the route itself) where they are parsed.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Coroutine
from typing import Any, Union, get_args, get_origin

from fastapi import Request, Response, params
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute

from coalition.domain.errors import InvalidInput, NotFound
from coalition.domain.input_text import (
    CONTROL_CHARACTER_MESSAGE,
    MAX_WHOLE_NUMBER,
    first_control_character_path,
    has_control_character,
    may_hold_control_characters,
)

# JSON fields of free text that may span lines: tab, line feed and carriage return are allowed in them.
MULTILINE_FIELDS = frozenset({"notes", "body"})  # body: a message template (message_routes.py)
# Bodies whose list items are judged one by one by their route (one bad purchase of a batch is refused alone).
ITEMS_JUDGED_ALONE = {
    "/v1/purchases/batch": "purchases",
    "/v1/refunds/batch": "refunds",
    "/v1/devices/offline-uses": "uses",
}


_INTEGER = re.compile(r"[+-]?[0-9]+")
_TOO_LARGE_MESSAGE = "this number is larger than this server accepts"
_NO_SUCH_RECORD_MESSAGE = "nothing has this number"


def integer_parameters(route: APIRoute) -> tuple[tuple[str, str], ...]:
    """(where, name) of the route's path and query parameters typed `int`: a database's integers end at 2^63 − 1,
    and a larger one must be a 422, not an overflow in the driver."""
    found = []
    for param in get_flat_params(route.dependant):
        if not isinstance(param.field_info, params.Path | params.Query):
            continue
        where = "path" if isinstance(param.field_info, params.Path) else "query"
        annotation = param.field_info.annotation
        kinds = get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else (annotation,)
        bounded = any(
            hasattr(constraint, "le") or hasattr(constraint, "lt") for constraint in param.field_info.metadata
        )
        if int in kinds and not bounded:  # a bounded one (PathId, a query's limit) is FastAPI's 422 already
            found.append((where, param.alias))
    return tuple(found)


def refuse_huge_integers(request: Request, parameters: tuple[tuple[str, str], ...]) -> None:
    for where, name in parameters:
        raw = request.path_params.get(name) if where == "path" else request.query_params.get(name)
        digits = raw.lstrip("+-") if isinstance(raw, str) else ""
        if len(digits) > 18 and _INTEGER.fullmatch(str(raw)) and int(digits) > MAX_WHOLE_NUMBER:
            if where == "path":  # a page's record number no record can have: as any other unknown number
                raise NotFound(_NO_SUCH_RECORD_MESSAGE, field=name)
            raise InvalidInput(_TOO_LARGE_MESSAGE, field=name)


def refuse_control_characters(request: Request, body: object, items_judged_alone: str | None = None) -> None:
    """`body` is the parsed JSON body, or None when it cannot hold a control character (or there is none)."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and has_control_character(value):
            raise InvalidInput(CONTROL_CHARACTER_MESSAGE, field=name)
    for name, value in request.query_params.multi_items():
        if has_control_character(name) or has_control_character(value):
            raise InvalidInput(CONTROL_CHARACTER_MESSAGE, field=name)
    key = request.headers.get("idempotency-key")
    if key is not None and has_control_character(key):
        raise InvalidInput(CONTROL_CHARACTER_MESSAGE, field="Idempotency-Key")
    if items_judged_alone is not None and isinstance(body, dict):
        body = {name: value for name, value in body.items() if name != items_judged_alone}
    found = first_control_character_path(body, multiline_fields=MULTILINE_FIELDS)
    if found is not None:
        raise InvalidInput(CONTROL_CHARACTER_MESSAGE, field=found)


async def json_body(request: Request) -> object:
    """The parsed JSON body when it may hold a control character, else None (no body, none possible, not JSON, or
    malformed: FastAPI answers that one itself). Starlette keeps what it parsed, so FastAPI does not parse it again."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        return None  # FastAPI parses only these as JSON
    if not may_hold_control_characters(await request.body()):
        return None
    try:
        return await request.json()
    except ValueError:
        return None


class CheckedRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        has_body = self.body_field is not None
        items_judged_alone = ITEMS_JUDGED_ALONE.get(self.path_format)
        integers = integer_parameters(self)

        async def checked(request: Request) -> Response:
            body = await json_body(request) if has_body else None
            refuse_control_characters(request, body, items_judged_alone)
            if integers:
                refuse_huge_integers(request, integers)
            return await handler(request)

        return checked
