"""Shared fixtures: a migrated database per test on SQLite and on PostgreSQL, services, and a ready network.

PostgreSQL tests use a database cloned per test from a migrated template. Without a reachable server they are
skipped with a plain message — except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

if "PYTEST_XDIST_WORKER" in os.environ:
    # pytest-xdist's workers are started with COLUMNS=80 and LINES=24: Rich's consoles, made when the CLI's modules
    # are imported, would fix their width at 80 and ignore the COLUMNS a test gives its CliRunner
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)

from coalition.adapters.storage import migrate
from coalition.settings import Settings
from coalition.wiring import Services, build_services

PG_ADMIN_URL = os.environ.get("COALITION_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TEMPLATE = f"coalition_test_template_{uuid.uuid4().hex[:8]}"  # per run: parallel runs must not share it
IN_CI = os.environ.get("CI", "").lower() == "true"
# servers the tests start as subprocesses (`coalition serve`) run no background loops unless a test asks
os.environ.setdefault("COALITION_BACKGROUND", "off")
os.environ.setdefault("COALITION_WEBHOOKS_ALLOW_PRIVATE", "1")  # the tests' receivers listen on 127.0.0.1


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def _postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.OperationalError as error:
        return str(error).strip().splitlines()[0]


def pytest_report_header() -> str:
    problem = _postgres_reachable()
    if problem is None:
        return f"PostgreSQL: reachable at {PG_ADMIN_URL}; storage tests run on SQLite and PostgreSQL"
    consequence = "a failure under CI=true" if IN_CI else "the PostgreSQL half of the storage tests is SKIPPED"
    return f"PostgreSQL: NOT reachable at {PG_ADMIN_URL} ({problem}); {consequence}"


def _pg_url(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """Create the migrated template database once per session; skip (or fail in CI) without PostgreSQL."""
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
    except psycopg.OperationalError as error:
        message = f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({error}); PostgreSQL tests skipped"
        if IN_CI:
            pytest.fail(message + " — under CI=true this is a failure")
        pytest.skip(message)
    migrate.upgrade(_pg_url(TEMPLATE))
    yield TEMPLATE
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")


@pytest.fixture()
def pg_database_url(pg_template: str) -> Iterator[str]:
    name = f"coalition_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    yield _pg_url(name)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture()
def sqlite_database_url(sqlite_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "coalition.db"
    target.write_bytes(sqlite_template.read_bytes())
    return f"sqlite:///{target}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Every storage test runs on both engines."""
    fixture = "sqlite_database_url" if request.param == "sqlite" else "pg_database_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture()
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, operator_token="operator-secret", public_url="http://testserver")


@pytest.fixture()
async def services(settings: Settings) -> AsyncIterator[Services]:
    built = build_services(settings)
    try:
        yield built
    finally:
        await built.close()
