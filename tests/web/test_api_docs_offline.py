"""/docs and /redoc work on a shop's LAN without the internet (issue 18, point 7): every request to a host other
than the server is aborted, and the pages still show the API, under the pages' own Content-Security-Policy."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Page, Route, expect

from tests.web.conftest import LiveServer


def _offline(page: Page, server: LiveServer) -> tuple[list[str], list[str]]:
    """Aborts every request that leaves the server; returns the aborted URLs and the console's CSP complaints."""
    own = urlsplit(server.url).netloc
    aborted: list[str] = []
    complaints: list[str] = []

    def route(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            aborted.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda m: complaints.append(m.text) if "Content Security Policy" in m.text else None)
    return aborted, complaints


def test_swagger_ui_shows_the_operations_without_the_internet(page: Page, live_server: LiveServer) -> None:
    aborted, complaints = _offline(page, live_server)
    page.goto(live_server.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Coalition", timeout=60_000)
    operation = page.locator(".opblock-post .opblock-summary-path", has_text="/v1/purchases").first
    expect(operation).to_be_visible()
    assert aborted == []
    assert complaints == []


def test_redoc_renders_without_the_internet(page: Page, live_server: LiveServer) -> None:
    aborted, complaints = _offline(page, live_server)
    page.goto(live_server.url + "/redoc")  # ReDoc lays out the whole document first: 10 to 20 s on a busy machine
    expect(page.locator("h1").first).to_contain_text("Coalition", timeout=60_000)
    expect(page.get_by_text("/v1/purchases").first).to_be_attached()
    assert aborted == []
    # ReDoc's "powered by" logo is an image on its CDN: our policy blocks it (it never leaves) and ReDoc hides it
    assert [c for c in complaints if "cdn.redoc.ly/redoc/logo-mini.svg" not in c] == []


def test_the_pages_and_assets_are_served_from_the_package(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        docs = http.get("/docs")
        assert "script-src 'self'" in docs.headers["content-security-policy"]
        assert "cdn" not in docs.text and "<script>" not in docs.text  # no CDN, no inline script
        bundle = http.get("/docs/assets/swagger-ui-bundle.js")
        assert bundle.status_code == 200 and 'PACKAGE_VERSION:"5.' in bundle.text
        assert bundle.headers["content-type"].startswith("text/javascript")
        again = http.get("/docs/assets/swagger-ui-bundle.js", headers={"If-None-Match": bundle.headers["etag"]})
        assert again.status_code == 304
        assert http.get("/docs/assets/redoc.standalone.js").status_code == 200
        missing = http.get("/docs/assets/..%2Fcore.py")
        assert missing.status_code == 404
