"""Helpers the tests share: a small network with the seed's program, members, and an HTTP client."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa

from coalition.adapters.http.app import create_app
from coalition.application.admin import NetworkRef
from coalition.demo import SMALL_SHOP_PROGRAM
from coalition.wiring import Services


@dataclass
class Network:
    ref: NetworkRef
    admin_key: str
    shop_key: str
    cafe_key: str


async def make_network(services: Services, code: str = "shop") -> Network:
    created = await services.admin.create_network(code, "Test network", "RUB", SMALL_SHOP_PROGRAM)
    ref = NetworkRef(created["id"], code, created["name"], "RUB")
    keys = []
    for partner_name in ("Shop", "Cafe"):
        partner = await services.admin.create_partner(ref, partner_name)
        outlet = await services.admin.create_outlet(ref, partner["id"], f"{partner_name} till", "Europe/Moscow")
        keys.append((await services.admin.create_terminal(ref, outlet["id"], "POS"))["key"])
    return Network(ref, created["admin_key"], keys[0], keys[1])


def client(services: Services) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(services=services)), base_url="http://test")


def auth(key: str, idempotency_key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def new_key() -> str:
    return uuid.uuid4().hex


async def enrol(http: httpx.AsyncClient, key: str, card: str, phone: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "personal",
        "card_number": card,
        "profile": {"name": "Test Member", "consent_data_processing": True},
    }
    if phone:
        body["profile"]["phone"] = phone
    response = await http.post("/v1/members", json=body, headers=auth(key, new_key()))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def buy(
    http: httpx.AsyncClient, key: str, card: str, amount: str, redeem: int | None = None, receipt: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"customer": card, "amount": amount, "receipt": receipt or new_key()}
    if redeem is not None:
        body["redeem_points"] = redeem
    return await http.post("/v1/purchases", json=body, headers=auth(key, new_key()))


# --- helpers for the behaviour tests of the HTTP and storage adapters ---------------------------------------------

WRITTEN_TABLES = (
    "members",
    "cards",
    "identifiers",
    "ledger_transactions",
    "postings",
    "lots",
    "lot_takes",
    "purchases",
    "purchase_lines",
    "refunds",
    "refund_lines",
    "idempotency_keys",
)


async def table_counts(services: Services) -> dict[str, int]:
    """Row counts of every table a POS command writes, to prove that a refused request wrote nothing."""
    from sqlalchemy import text

    async with services.engine.connect() as connection:
        return {
            table: int((await connection.execute(text(f"SELECT COUNT(*) FROM {table}"))).scalar_one())
            for table in WRITTEN_TABLES
        }


async def balance_of(http: httpx.AsyncClient, key: str, identifier: str) -> int:
    response = await http.get(f"/v1/members/{identifier}", headers=auth(key))
    assert response.status_code == 200, response.text
    points: int = response.json()["points_balance"]
    return points


def assert_problem(response: httpx.Response, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem+json answer with the given status, type code and (if given) field."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["type"] == f"https://coalition.dev/problems/{code}", body
    assert body["status"] == status, body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    if field is not None:
        assert body.get("field") == field, body
    return body


async def ledger_balance(services: Services, card: str) -> int:
    """A member's balance as the sum of their postings, straight from the database."""
    async with services.engine.connect() as connection:
        return int(
            await connection.scalar(
                sa.text(
                    "SELECT COALESCE(SUM(p.amount), 0) FROM postings p "
                    "JOIN member_balances b ON b.account_id = p.account_id "
                    "JOIN identifiers i ON i.member_id = b.member_id WHERE i.value = :card"
                ),
                {"card": card},
            )
        )


def signed_minor(amount: str) -> int:
    """A signed decimal amount the API shows ("-166.00") in minor units of a two-decimal currency."""
    negative = amount.startswith("-")
    whole, _, fraction = amount.lstrip("-").partition(".")
    if not whole.isdigit() or len(fraction) != 2 or not fraction.isdigit():
        raise ValueError(f"not an amount with two decimals: {amount!r}")
    minor = int(whole) * 100 + int(fraction)
    return -minor if negative else minor


class SettableClock:
    """A clock a test sets (`clock.moment = …`); until it is set, the real time."""

    def __init__(self, moment: datetime | None = None) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment or datetime.now(UTC)
