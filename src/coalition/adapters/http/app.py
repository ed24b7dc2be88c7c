"""The FastAPI application: routers mounted in one place, problem+json for every error."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from coalition import __version__
from coalition.adapters.http import (
    admin_routes,
    audit_routes,
    campaign_routes,
    catalogue_routes,
    device_admin_routes,
    device_charge_routes,
    device_offline_routes,
    device_status_routes,
    docs_pages,
    export_routes,
    file_routes,
    gift_card_routes,
    key_routes,
    list_routes,
    message_routes,
    network_routes,
    openapi,
    outage,
    plan_routes,
    pos_routes,
    problems,
    program_report_routes,
    refund_batch_routes,
    rules_routes,
    sales_file_routes,
    schedule_routes,
    settlement_routes,
    wallet_routes,
    webhook_routes,
)
from coalition.adapters.http.access_log import AccessLog
from coalition.adapters.http.body_limits import BodyLimits
from coalition.adapters.http.rate_limiting import RateLimitMiddleware
from coalition.adapters.http.security_headers import AsgiApp, SecurityHeaders
from coalition.adapters.http.usual_purchase import install_lane
from coalition.adapters.jobs.host import run_loops
from coalition.adapters.web import setup as web_pages
from coalition.application.rate_limits import is_trusted_proxy, parse_trusted_proxies
from coalition.settings import Settings
from coalition.wiring import Services, build_services

HEALTH_TIMEOUT_SECONDS = 3
BACKGROUND_GRACE_SECONDS = 10


class CoalitionApp(FastAPI):
    """FastAPI with the security headers outermost, so that even the answer to an unhandled error carries them."""

    def trusted_proxy(self, address: str) -> bool:
        """Whether the peer is a proxy named in COALITION_TRUSTED_PROXIES, whose X-Forwarded-Proto is believed."""
        services: Services | None = getattr(self.state, "services", None)
        if services is None:
            return False
        proxies = getattr(self.state, "trusted_proxy_networks", None)
        if proxies is None:  # parsed once, shared with client_address (adapters/web/sessions.py)
            proxies = parse_trusted_proxies(services.settings.trusted_proxies)
            self.state.trusted_proxy_networks = proxies
        # no proxies named (the default): no address to parse on every answer (~1 % of a purchase's CPU)
        return bool(proxies) and is_trusted_proxy(address, proxies)

    def access_log(self) -> str:
        """Where the access log goes (Settings.access_log), asked at the first request."""
        services: Services | None = getattr(self.state, "services", None)
        return services.settings.access_log if services is not None else "off"

    def build_middleware_stack(self) -> AsgiApp:
        stack = super().build_middleware_stack()
        # the usual purchase taken before the router matches (usual_purchase.py), inside every middleware
        install_lane(stack, self.router, pos_routes.PURCHASE_ROUTE)
        # the access log outside the security headers: it times and counts the whole answer
        return AccessLog(SecurityHeaders(stack, self.trusted_proxy), self.access_log)


async def _stopped(background: asyncio.Task[None]) -> None:
    """The loops end their current step and stop; one that takes longer than the grace is cancelled (its claims
    end with their lease and are taken over)."""
    with suppress(TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(background, timeout=BACKGROUND_GRACE_SECONDS)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = services or build_services(settings or Settings.from_env())
        # Objects alive at start-up live as long as the process: keep the cyclic collector from walking them on
        # every full collection, which shows up as latency spikes under load.
        gc.collect()
        gc.freeze()
        stop = asyncio.Event()
        background = None
        if app.state.services.settings.background:  # issue 16: the scheduler in every worker (database claims)
            background = asyncio.create_task(run_loops(app.state.services, stop), name="coalition-background")
        try:
            yield
        finally:
            stop.set()
            if background is not None:
                await _stopped(background)
            if services is None:
                await app.state.services.close()

    app = CoalitionApp(
        title="Coalition",
        version=__version__,
        summary="A loyalty server for one shop or a coalition of independent businesses",
        lifespan=lifespan,
        docs_url=None,  # docs_pages: served from the installed package, not a CDN (issue 18)
        redoc_url=None,
    )
    if services is not None:
        app.state.services = services  # usable without running the lifespan (tests over ASGI transport)
    problems.install(app)
    outage.install(app)  # a database out of reach: 503 with Retry-After on every route
    app.include_router(pos_routes.router)
    app.include_router(refund_batch_routes.router)
    app.include_router(admin_routes.router)
    app.include_router(network_routes.router)
    app.include_router(plan_routes.router)
    app.include_router(program_report_routes.router)
    app.include_router(key_routes.router)
    app.include_router(rules_routes.router)
    app.include_router(settlement_routes.router)
    app.include_router(audit_routes.router)
    app.include_router(list_routes.router)
    # before export_routes: GET /v1/admin/exports/members is the members file's, not an {what} of the exports
    app.include_router(file_routes.router)
    app.include_router(sales_file_routes.router)
    app.include_router(catalogue_routes.router)
    app.include_router(export_routes.router)
    app.include_router(schedule_routes.router)
    app.include_router(message_routes.router)
    app.include_router(campaign_routes.router)
    app.include_router(wallet_routes.router)
    app.include_router(wallet_routes.admin_router)
    app.include_router(gift_card_routes.pos_router)
    app.include_router(gift_card_routes.admin_router)
    app.include_router(device_charge_routes.router)
    app.include_router(device_admin_routes.admin_router)
    app.include_router(device_status_routes.device_router)
    app.include_router(device_offline_routes.router)
    app.include_router(webhook_routes.router)
    web_pages.install(app)  # /terminal, /console, /me and /static
    app.add_middleware(BodyLimits)  # inside the rate limits: a refused body is never read
    app.add_middleware(RateLimitMiddleware)  # 429 before anything else runs (pure ASGI, in memory)
    docs_pages.install(app)  # /docs and /redoc without the internet
    openapi.install(app)  # /openapi.json as the server behaves: required headers, every error with its body

    @app.get("/health", tags=["Health"], summary="The server and its database answer (503 while the database is down)")
    async def health() -> dict[str, Any]:
        # a database that does not answer at all (a network cut) is a 503 within seconds, not a hung probe
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS), app.state.services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    return app
