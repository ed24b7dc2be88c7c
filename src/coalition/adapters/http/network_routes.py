"""The network's partners, outlets, terminals and cashiers for its administrator, in pages (issue 17, point 5;
docs/api.md "Conventions"), the network itself as one bounded resource, and its country (issue 18, point 4: the
region a phone typed without its country code is read in)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictStr

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, Svc
from coalition.adapters.http.pagination import (
    NEXT_CURSOR_DOC,
    PAGE_RESPONSES,
    PageRequest,
    Paging,
    announce,
    encode_cursor,
    next_cursor_of,
)
from coalition.adapters.http.schemas import MAX_RECORD_ID
from coalition.application.network_lists import SUMMARY_ITEMS, ListQuery

router = APIRouter(prefix="/v1/admin", tags=["Admin"], route_class=CheckedRoute)
T = TypeVar("T")


class PartnerOut(BaseModel):
    id: int
    name: str


class OutletOut(BaseModel):
    id: int = Field(description="the outlet's number, which the web terminal's sign-in asks for")
    partner_id: int
    name: str
    timezone: str = Field(description="IANA time zone of the outlet's reports")


class PreviousKeyOut(BaseModel):
    key_prefix: str = Field(description="the replaced key's first characters (never the key)")
    valid_until: AwareDatetime = Field(description="the end of its grace period")


class TerminalOut(BaseModel):
    id: int
    outlet_id: int
    name: str
    key_prefix: str = Field(description="the key's first characters, to recognise it; the key is shown only once")
    active: bool = Field(description="false: revoked, its key is refused")
    key_expires_at: AwareDatetime | None = Field(description="null: the key never expires")
    previous_keys: list[PreviousKeyOut] = Field(description="replaced keys still in their grace period")


class CashierOut(BaseModel):
    id: int
    outlet_id: int
    login: str
    name: str
    active: bool = Field(description="false: blocked")


class PartnerPage(BaseModel):
    partners: list[PartnerOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR_DOC)


class OutletPage(BaseModel):
    outlets: list[OutletOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR_DOC)


class TerminalPage(BaseModel):
    terminals: list[TerminalOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR_DOC)


class CashierPage(BaseModel):
    cashiers: list[CashierOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR_DOC)


_FILTER_DOC = "; one this network does not have answers an empty page"


async def _page(
    request: Request,
    response: Response,
    page: PageRequest,
    read: Callable[[ListQuery], Awaitable[Sequence[T]]],
    query: ListQuery,
) -> tuple[list[T], str | None]:
    found, cursor = next_cursor_of(await read(query), page, lambda item: item.id)  # type: ignore[attr-defined]
    return found, announce(request, response, cursor)


def _query(admin: NetworkAdmin, page: PageRequest, **filters: int | None) -> ListQuery:
    return ListQuery(admin.id, page.after, page.limit + 1, **filters)


@router.get(
    "/partners",
    response_model=PartnerPage,
    summary="The network's partners in id order, in pages",
    responses=PAGE_RESPONSES,
)
async def partners(request: Request, response: Response, svc: Svc, admin: NetworkAdmin, page: Paging) -> PartnerPage:
    found, cursor = await _page(request, response, page, svc.network_lists.partners, _query(admin, page))
    return PartnerPage(partners=[PartnerOut(**p.json()) for p in found], next_cursor=cursor)


@router.get(
    "/outlets",
    response_model=OutletPage,
    summary="The network's outlets in id order, in pages, by partner",
    responses=PAGE_RESPONSES,
)
async def outlets(
    request: Request,
    response: Response,
    svc: Svc,
    admin: NetworkAdmin,
    page: Paging,
    partner_id: Annotated[int | None, Query(ge=1, le=MAX_RECORD_ID, description="this partner's" + _FILTER_DOC)] = None,
) -> OutletPage:
    query = _query(admin, page, partner_id=partner_id)
    found, cursor = await _page(request, response, page, svc.network_lists.outlets, query)
    return OutletPage(outlets=[OutletOut(**o.json()) for o in found], next_cursor=cursor)


@router.get(
    "/terminals",
    response_model=TerminalPage,
    summary="The network's terminals in id order, in pages, by outlet; their keys' prefixes, never the keys",
    responses=PAGE_RESPONSES,
)
async def terminals(
    request: Request,
    response: Response,
    svc: Svc,
    admin: NetworkAdmin,
    page: Paging,
    outlet_id: Annotated[int | None, Query(ge=1, le=MAX_RECORD_ID, description="this outlet's" + _FILTER_DOC)] = None,
) -> TerminalPage:
    query = _query(admin, page, outlet_id=outlet_id)
    found, cursor = await _page(request, response, page, svc.network_lists.terminals, query)
    return TerminalPage(terminals=[TerminalOut(**t.json()) for t in found], next_cursor=cursor)


@router.get(
    "/cashiers",
    response_model=CashierPage,
    summary="The network's cashiers in id order, in pages, by outlet; never their passwords",
    responses=PAGE_RESPONSES,
)
async def cashiers(
    request: Request,
    response: Response,
    svc: Svc,
    admin: NetworkAdmin,
    page: Paging,
    outlet_id: Annotated[int | None, Query(ge=1, le=MAX_RECORD_ID, description="this outlet's" + _FILTER_DOC)] = None,
) -> CashierPage:
    query = _query(admin, page, outlet_id=outlet_id)
    found, cursor = await _page(request, response, page, svc.network_lists.cashiers, query)
    return CashierPage(cashiers=[CashierOut(**c.json()) for c in found], next_cursor=cursor)


class NetworkOut(BaseModel):
    id: int
    code: str
    name: str
    currency: str


_NEXT_DOC = f"where the list goes on past its first {SUMMARY_ITEMS} (its paged route's next page); null: all shown"


class NetworkAnswer(BaseModel):
    network: NetworkOut
    partners: list[PartnerOut] = Field(description=f"the first {SUMMARY_ITEMS}, in id order")
    partners_next: str | None = Field(description=_NEXT_DOC)
    outlets: list[OutletOut] = Field(description=f"the first {SUMMARY_ITEMS}, in id order")
    outlets_next: str | None = Field(description=_NEXT_DOC)
    terminals: list[TerminalOut] = Field(description=f"the first {SUMMARY_ITEMS}, in id order")
    terminals_next: str | None = Field(description=_NEXT_DOC)
    cashiers: list[CashierOut] = Field(description=f"the first {SUMMARY_ITEMS}, in id order")
    cashiers_next: str | None = Field(description=_NEXT_DOC)


def _next(name: str, shown: Sequence[Any], more: bool) -> str | None:
    return f"/v1/admin/{name}?cursor={encode_cursor(shown[-1].id)}" if more and shown else None


@router.get(
    "/network",
    response_model=NetworkAnswer,
    summary=f"The network with the first {SUMMARY_ITEMS} of its partners, outlets, terminals and cashiers",
)
async def network(svc: Svc, admin: NetworkAdmin) -> NetworkAnswer:
    """One bounded resource: each list holds its first items in id order, and `<list>_next` the link to the rest
    through the list's own paged route (GET /v1/admin/partners, …/outlets, …/terminals, …/cashiers)."""
    found = await svc.network_lists.summary(admin)
    lists: dict[str, Any] = {}
    for name in ("partners", "outlets", "terminals", "cashiers"):
        lists[name] = [item.json() for item in found[name]]
        lists[f"{name}_next"] = _next(name, found[name], found[f"{name}_more"])
    return NetworkAnswer.model_validate({"network": found["network"], **lists})


class CountryAnswer(BaseModel):
    country: str | None = Field(
        description="ISO 3166-1 alpha-2: phones typed without their country code are read as its numbers; null: "
        "none (a phone must carry its country code)",
        examples=["RU"],
    )


class CountryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    country: StrictStr = Field(
        max_length=8, description="ISO 3166-1 alpha-2 (RU, KZ, DE, …), a region the phone library reads"
    )


@router.get("/network/country", response_model=CountryAnswer, summary="The network's country (phones' default region)")
async def country(svc: Svc, admin: NetworkAdmin) -> CountryAnswer:
    """The network's country, else its currency's (a RUB network without one reads phones as Russian)."""
    return CountryAnswer(country=await svc.limits.country(admin.id, admin.currency))


@router.put(
    "/network/country",
    response_model=CountryAnswer,
    summary="Set the network's country: phones typed without their country code are read as its numbers from now on",
)
async def set_country(body: CountryBody, svc: Svc, admin: NetworkAdmin) -> CountryAnswer:
    """Phones already stored keep their international form; a phone typed from now on without its country code
    (at a till, in a form, in an imported file) is read as a number of this country. A code that is not one is a
    422 naming `country`."""
    return CountryAnswer(country=await svc.limits.set_country(admin.id, admin.currency, body.country))
