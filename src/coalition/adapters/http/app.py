"""The FastAPI application: routers mounted in one place, problem+json for every error."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from coalition import __version__
from coalition.adapters.http import admin_routes, pos_routes, problems, rules_routes, settlement_routes
from coalition.adapters.http.body_limits import BodyLimits
from coalition.adapters.web import setup as web_pages
from coalition.settings import Settings
from coalition.wiring import Services, build_services


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

    app = FastAPI(
        title="Coalition",
        version=__version__,
        summary="A loyalty server for one shop or a coalition of independent businesses",
        lifespan=lifespan,
    )
    if services is not None:
        app.state.services = services  # usable without running the lifespan (tests over ASGI transport)
    problems.install(app)
    app.include_router(pos_routes.router)
    app.include_router(admin_routes.router)
    app.include_router(rules_routes.router)
    app.include_router(settlement_routes.router)
    web_pages.install(app)  # /terminal, /console, /me and /static
    app.add_middleware(BodyLimits)  # outermost of ours: a refused body is never read

    @app.get("/health", tags=["Health"])
    async def health() -> dict[str, Any]:
        async with app.state.services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    return app
