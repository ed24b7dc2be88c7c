"""Cursor pagination, the same on every list (issue 17, point 5; docs/api.md "Conventions").

A list route takes `page: Paging` (query `limit`, 1 to `MAX_LIMIT`, `DEFAULT_LIMIT` if omitted; and `cursor`, the
previous page's `next_cursor`) and answers `paged(response, items, page, id_of)` or, when its store reads the page
itself (keyset: `WHERE id > after ORDER BY id LIMIT limit + 1`), `next_cursor_of(...)`. Every page answers its
`next_cursor` in the body (null on the last page) and in the `X-Next-Cursor` and `Link: <…>; rel="next"` headers.

A cursor is opaque to the client: the last id of the page with a check, base64url. A limit beyond the maximum is a
422 naming `limit`; a cursor that is garbled, or not one of ours, a 422 naming `cursor`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request, Response

from coalition.domain.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_CURSOR = 100  # characters
_PREFIX = "c1."
_LARGEST_ID = 2**63 - 1
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    after: int | None  # the previous page's last id: this page starts after it


def _check(position: int) -> str:
    return hashlib.sha256(f"coalition cursor {position}".encode()).hexdigest()[:10]


def encode_cursor(position: int) -> str:
    raw = f"{position}.{_check(position)}".encode()
    return _PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The position a cursor stands for; a 422 naming `cursor` for anything we did not write."""
    refused = InvalidInput(
        "this cursor is not one this server gave: pass a page's next_cursor as it is", field="cursor"
    )
    if not cursor.startswith(_PREFIX) or len(cursor) > MAX_CURSOR:
        raise refused
    text = cursor[len(_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        position_text, check = raw.split(".")
        position = int(position_text)
    except ValueError:
        raise refused from None
    if not position_text.isdigit() or not 0 < position <= _LARGEST_ID or check != _check(position):
        raise refused
    return position


def paging_of(default: int) -> Callable[..., Any]:
    """The `Paging` dependency with another default `limit` (a list that answered more before it was paged:
    `Annotated[PageRequest, Depends(paging_of(500))]`)."""

    async def page_request_of(
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"items per page, at most {MAX_LIMIT}")] = default,
        cursor: Annotated[
            str | None,
            Query(max_length=MAX_CURSOR, description="the previous page's next_cursor; omit for the first"),
        ] = None,
    ) -> PageRequest:
        return PageRequest(limit, decode_cursor(cursor) if cursor else None)

    return page_request_of


page_request = paging_of(DEFAULT_LIMIT)
Paging = Annotated[PageRequest, Depends(page_request)]


def next_cursor_of(items: Sequence[T], page: PageRequest, id_of: Callable[[T], int]) -> tuple[list[T], str | None]:
    """A page read with `limit + 1` items (ordered by id): the page, and the cursor of the next one if there is one."""
    shown = list(items[: page.limit])
    more = len(items) > page.limit
    return shown, (encode_cursor(id_of(shown[-1])) if more and shown else None)


def older_page(lines: Sequence[T], page: PageRequest, id_of: Callable[[T], int]) -> tuple[list[T], str | None]:
    """A page of a history (a member's statement, a wallet's) read as its newest `limit + 1` lines before the
    cursor, oldest first: the newest `limit` of them, still oldest first, and the cursor of the older page."""
    newest_first, cursor = next_cursor_of(list(reversed(lines)), page, id_of)
    return list(reversed(newest_first)), cursor


def page_of(
    items: Sequence[T], page: PageRequest, id_of: Callable[[T], int], *, descending: bool = False
) -> tuple[list[T], str | None]:
    """A page of a list read whole (a short list: a network's devices, webhooks, statements), in ascending id (or
    descending: newest first)."""
    ordered = sorted(items, key=id_of, reverse=descending)
    if page.after is not None:
        after = page.after
        ordered = [item for item in ordered if (id_of(item) < after if descending else id_of(item) > after)]
    return next_cursor_of(ordered[: page.limit + 1], page, id_of)


def announce(request: Request, response: Response, cursor: str | None) -> str | None:
    """The headers of a page: `X-Next-Cursor` and `Link: <url>; rel="next"` when there is a next page."""
    if cursor is not None:
        response.headers["X-Next-Cursor"] = cursor
        response.headers["Link"] = f'<{request.url.include_query_params(cursor=cursor)}>; rel="next"'
    return cursor


def paged(
    request: Request,
    response: Response,
    name: str,
    items: Sequence[T],
    page: PageRequest,
    id_of: Callable[[T], int],
    show: Callable[[T], Any] = lambda item: item,
    *,
    descending: bool = False,
) -> dict[str, Any]:
    """`{name: [...], "next_cursor": ...}` for a list read whole, with the page's headers."""
    shown, cursor = page_of(items, page, id_of, descending=descending)
    return {name: [show(item) for item in shown], "next_cursor": announce(request, response, cursor)}


NEXT_CURSOR_DOC = "pass as `cursor` for the next page; null on the last page"
PAGE_HEADERS: dict[str, Any] = {
    "X-Next-Cursor": {"description": "the next page's cursor (absent on the last page)", "schema": {"type": "string"}},
    "Link": {
        "description": '<the next page\'s URL>; rel="next" (absent on the last page)',
        "schema": {"type": "string"},
    },
}
# a list route's `responses=`: its page's headers declared in the OpenAPI document
PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"headers": PAGE_HEADERS}}
