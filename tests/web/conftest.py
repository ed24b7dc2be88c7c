"""Fixtures for the web pages: a live server on 127.0.0.1 (a random port) over the demo network, and Playwright
driving Debian's Chromium (never a downloaded browser; see ../shared/notes/browser-tests.md).

Browser tests run on SQLite, the embedded default; the sessions' storage is tested on both engines over HTTP
(test_sessions.py). Without Chromium the browser tests are skipped, except under CI=true, where that fails.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from coalition.adapters.http.app import create_app
from coalition.demo import load_demo
from coalition.settings import Settings
from coalition.wiring import build_services

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
IN_CI = os.environ.get("CI", "").lower() == "true"
PHONE = {"width": 360, "height": 740}
# a rule set's draft is checked for conflicts over sampled baskets when it is saved: about a second of the server's
# work here, more than httpx's default 5 s on a loaded host (CI's two cores under three test processes)
RULES_API_TIMEOUT_S = 60
RULES_SAVE_TIMEOUT_MS = RULES_API_TIMEOUT_S * 1000  # the same through the console (Playwright's expect waits 5 s)


@pytest.fixture()
def browser() -> Iterator[Browser]:
    """Chromium for one test. Playwright's sync API runs an event loop in this thread while it is started, which
    the async (anyio) tests cannot share: so it starts and stops with each test rather than once per session."""
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install -y chromium); browser tests skipped"
        if IN_CI:
            pytest.fail(message + " — under CI=true this is a failure")
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    """A phone-sized page (360 × 740) in English."""
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def demo_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database with the demo network loaded, made once and copied for each test."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copyfile(sqlite_template, path)

    async def load() -> None:
        services = build_services(_settings(f"sqlite:///{path}"))
        try:
            await load_demo(services)
        finally:
            await services.close()

    asyncio.run(load())
    return path


def _settings(database_url: str, **overrides: Any) -> Settings:
    overrides.setdefault("public_url_set", False)  # as `coalition serve` without COALITION_PUBLIC_URL: the port served
    return Settings(
        database_url=database_url, operator_token="operator-secret", public_url="http://127.0.0.1", **overrides
    )


class LiveServer:
    """The whole application served by uvicorn in a thread, as `coalition serve` would, on a free port."""

    def __init__(self, database_url: str, clock: Any = None, **settings: Any) -> None:
        self.database_url = database_url
        chosen = _settings(database_url, **settings)
        config = uvicorn.Config(
            create_app(chosen, services=build_services(chosen, clock=clock) if clock is not None else None),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60  # generous: the suite runs in parallel on small hosts
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture()
def live_server(demo_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """A server of its own per test, over a fresh copy of the demo database."""
    database = tmp_path / "web.db"
    shutil.copyfile(demo_template, database)
    with LiveServer(f"sqlite:///{database}") as server:
        yield server
