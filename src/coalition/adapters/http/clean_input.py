"""Control characters refused at the edge, for every route in one place (issue 12, hole 3).

Every router is built with `route_class=CheckedRoute`: before a route runs, its path parameters, query parameters,
the Idempotency-Key header and its parsed JSON body are searched for control characters, and the first one found is
a 422 naming its field (`items[0].sku`, `Idempotency-Key`). Forms are checked by `checked_form` in the pages'
sessions module, and the rule-set documents (JSON or YAML read by the route itself) where they are parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from coalition.domain.errors import InvalidInput
from coalition.domain.input_text import CONTROL_CHARACTER_MESSAGE, first_control_character_path, has_control_character

# JSON fields of free text that may span lines: tab, line feed and carriage return are allowed in them.
MULTILINE_FIELDS = frozenset({"notes"})
# Bodies whose list items are judged one by one by their route (one bad purchase of a batch is refused alone).
ITEMS_JUDGED_ALONE = {"/v1/purchases/batch": "purchases"}


def refuse_control_characters(request: Request, body: object, items_judged_alone: str | None = None) -> None:
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
    """The parsed JSON body, or None (no body, not JSON, or malformed: FastAPI answers that one itself). Starlette
    keeps what it parsed, so FastAPI does not parse the body twice."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/json"):
        return None
    if not await request.body():
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

        async def checked(request: Request) -> Response:
            body = await json_body(request) if has_body else None
            refuse_control_characters(request, body, items_judged_alone)
            return await handler(request)

        return checked
