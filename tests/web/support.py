"""Helpers for the web pages' tests over HTTP (no browser): sign in through the real forms, read CSRF tokens."""

from __future__ import annotations

import re

import httpx

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    found = _CSRF.search(html)
    if found is None:
        raise AssertionError("the page has no form with a CSRF token")
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, area: str, fields: dict[str, str]) -> httpx.Response:
    page = await http.get(f"/{area}/login")
    return await http.post(f"/{area}/login", data={**fields, "csrf_token": csrf_token(page.text)})


async def sign_in_cashier(http: httpx.AsyncClient, outlet_id: int, login: str, password: str) -> httpx.Response:
    return await sign_in(http, "terminal", {"outlet": str(outlet_id), "login": login, "password": password})


async def sign_in_console(http: httpx.AsyncClient, network: str, login: str, password: str) -> httpx.Response:
    return await sign_in(http, "console", {"network": network, "login": login, "password": password})
