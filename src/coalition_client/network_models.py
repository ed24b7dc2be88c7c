"""The network's partners, outlets, terminals and cashiers as the admin API lists them, a page at a time
(GET /v1/admin/partners, …/outlets, …/terminals, …/cashiers), and the network's country (GET/PUT
/v1/admin/network/country: the region phones typed without their country code are read in)."""

from __future__ import annotations

from dataclasses import field
from datetime import datetime

from coalition_client.admin_models import Json, model


@model
class ListedPartner:
    id: int
    name: str
    extra: Json = field(default_factory=dict)


@model
class PartnerList:
    partners: list[ListedPartner]
    next_cursor: str | None = None  # the next page's cursor (`pages()` walks them); None on the last page
    extra: Json = field(default_factory=dict)


@model
class ListedOutlet:
    id: int  # the outlet's number, which the web terminal's sign-in asks for
    partner_id: int
    name: str
    timezone: str
    extra: Json = field(default_factory=dict)


@model
class OutletList:
    outlets: list[ListedOutlet]
    next_cursor: str | None = None
    extra: Json = field(default_factory=dict)


@model
class PreviousKey:
    key_prefix: str  # a replaced key's first characters, never the key
    valid_until: datetime  # the end of its grace period
    extra: Json = field(default_factory=dict)


@model
class ListedTerminal:
    id: int
    outlet_id: int
    name: str
    key_prefix: str  # the key's first characters; the key itself is shown only when the terminal is created
    active: bool  # False: revoked
    key_expires_at: datetime | None  # None: never
    previous_keys: list[PreviousKey]  # replaced keys still in their grace period
    extra: Json = field(default_factory=dict)


@model
class TerminalList:
    terminals: list[ListedTerminal]
    next_cursor: str | None = None
    extra: Json = field(default_factory=dict)


@model
class ListedCashier:
    id: int
    outlet_id: int
    login: str
    name: str
    active: bool  # False: blocked
    extra: Json = field(default_factory=dict)


@model
class CashierList:
    cashiers: list[ListedCashier]
    next_cursor: str | None = None
    extra: Json = field(default_factory=dict)


@model
class Country:
    """The body of PUT /v1/admin/network/country: ISO 3166-1 alpha-2 (RU, KZ, DE, …)."""

    country: str


@model
class CountryAnswer:
    country: str | None  # None: no default region (a phone must carry its country code)
    extra: Json = field(default_factory=dict)
