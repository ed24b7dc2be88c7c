"""The FastAPI application: routers mounted in one place, problem+json for every error."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from coalition import __version__
from coalition.adapters.http import admin_routes, openapi, outage, pos_routes, problems, rules_routes, settlement_routes
from coalition.adapters.http.security_headers import AsgiApp, SecurityHeaders, no_trusted_proxy
from coalition.adapters.web import setup as web_pages
from coalition.settings import Settings
from coalition.wiring import Services, build_services

HEALTH_TIMEOUT_SECONDS = 3


class CoalitionApp(FastAPI):
    """FastAPI with the security headers outermost, so that even the answer to an unhandled error carries them."""

    # the seam for COALITION_TRUSTED_PROXIES (the rate-limits slice): whose X-Forwarded-Proto is believed
    trusted_proxy = staticmethod(no_trusted_proxy)

    def build_middleware_stack(self) -> AsgiApp:
        return SecurityHeaders(super().build_middleware_stack(), self.trusted_proxy)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = services or build_services(settings or Settings.from_env())
        # Objects alive at start-up live as long as the process: keep the cyclic collector from walking them on
        # every full collection, which shows up as latency spikes under load.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if services is None:
                await app.state.services.close()

    app = CoalitionApp(
        title="Coalition",
        version=__version__,
        summary="A loyalty server for one shop or a coalition of independent businesses",
        lifespan=lifespan,
    )
    if services is not None:
        app.state.services = services  # usable without running the lifespan (tests over ASGI transport)
    problems.install(app)
    outage.install(app)  # a database out of reach: 503 with Retry-After on every route
    app.include_router(pos_routes.router)
    app.include_router(admin_routes.router)
    app.include_router(rules_routes.router)
    app.include_router(settlement_routes.router)
    web_pages.install(app)  # /terminal, /console, /me and /static
    openapi.install(app)  # /openapi.json as the server behaves: required headers, every error with its body

    @app.get("/health", tags=["Health"], summary="The server and its database answer (503 while the database is down)")
    async def health() -> dict[str, Any]:
        # a database that does not answer at all (a network cut) is a 503 within seconds, not a hung probe
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS), app.state.services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    return app
