"""Migration 0055 on both engines: the program editor's form column on `rule_sets` comes and goes, a form-written
draft's form is dropped by the downgrade, and the table keeps its one-draft-per-network index through both."""

from __future__ import annotations

import anyio
import pytest
import sqlalchemy as sa

from coalition.adapters.storage import migrate
from coalition.application.admin import NetworkRef
from coalition.application.program_editor import BRIEF_FORM, program_document
from coalition.wiring import build_services
from tests.http.water_park import PROGRAM

pytestmark = pytest.mark.anyio


async def _columns_and_draft_index(settings) -> tuple[set[str], bool]:
    services = build_services(settings)
    try:
        async with services.engine.begin() as connection:

            def inspect(sync_connection: sa.Connection) -> tuple[set[str], bool]:
                inspector = sa.inspect(sync_connection)
                columns = {column["name"] for column in inspector.get_columns("rule_sets")}
                indexes = {index["name"] for index in inspector.get_indexes("rule_sets")}
                return columns, "uq_rule_sets_one_draft" in indexes

            return await connection.run_sync(inspect)
    finally:
        await services.close()


async def test_the_editor_form_column_comes_and_goes(settings) -> None:
    services = build_services(settings)
    try:
        created = await services.admin.create_network("mig", "Migration", "RUB", PROGRAM)
        net = NetworkRef(created["id"], "mig", "Migration", "RUB")
        await services.rules.save_draft(net, program_document(BRIEF_FORM, "RUB"), BRIEF_FORM)
        assert (await services.rules.editor_start(net)).source == "draft"
    finally:
        await services.close()
    assert await _columns_and_draft_index(settings) == (
        {"id", "network_id", "version", "status", "body", "created_at", "updated_at", "published_at"}
        | {"effective_from", "editor_form"},
        True,
    )

    await anyio.to_thread.run_sync(migrate.downgrade, settings.database_url, "0054")
    columns, indexed = await _columns_and_draft_index(settings)
    assert "editor_form" not in columns and indexed

    await anyio.to_thread.run_sync(migrate.upgrade, settings.database_url)
    services = build_services(settings)
    try:
        start = await services.rules.editor_start(net)  # the draft is kept, its form is not: written as YAML now
        assert (start.source, start.yaml_draft) == ("example", 1)
    finally:
        await services.close()
