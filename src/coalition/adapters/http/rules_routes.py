"""The rules API: the network administrator edits a draft rule set, sees its conflicts, publishes it, reads history.

Rule sets travel as JSON (`{"rules": [...]}`, docs/rules.md) or, with `Content-Type: application/yaml`, as YAML.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field, StrictStr

from coalition.adapters.http.admin_answers import DraftProgramAnswer
from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, PathId, Svc
from coalition.adapters.http.pagination import PAGE_RESPONSES, Paging, paged
from coalition.application.program_editor import program_document, program_yaml
from coalition.application.program_form import form_fields, parse_program_form, refuse_unknown_fields
from coalition.domain.errors import InvalidInput
from coalition.domain.input_text import CONTROL_CHARACTER_MESSAGE, first_control_character_path
from coalition.domain.rules.documents import load_json, load_yaml
from coalition.domain.rules.shapes import rule_set_schema

router = APIRouter(prefix="/v1/admin/rule-sets", tags=["Rules"], route_class=CheckedRoute)

MAX_BODY_BYTES = 2_000_000
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
SCHEMA_TYPE = "application/schema+json"


class PublishBody(BaseModel):
    effective_from: datetime | None = Field(
        default=None, description="when the set takes effect (ISO 8601 with offset); now if omitted"
    )


async def _document(request: Request) -> object:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidInput("a rule set document is at most 2 MB", field="body")
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    try:  # limited in size and nesting (documents.py); read in a thread, as a large YAML takes a while
        if content_type in YAML_TYPES:
            document = await asyncio.to_thread(load_yaml, raw.decode(), "body")
        else:
            document = await asyncio.to_thread(load_json, raw, "body")
    except (ValueError, yaml.YAMLError, UnicodeDecodeError) as error:
        raise InvalidInput(
            f"the body is not valid {'YAML' if content_type in YAML_TYPES else 'JSON'}: "
            f"{str(error).splitlines()[0][:200]}",
            field="body",
        ) from None
    # a rule set is free text that may span lines (descriptions, conditions): tab and new lines are allowed in it
    found = first_control_character_path(document, all_multiline=True)
    if found is not None:
        raise InvalidInput(CONTROL_CHARACTER_MESSAGE, field=found)
    return document


@router.put(
    "/draft",
    summary="Save the draft rule set (replaces it); answers its conflicts",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "object"}},
            }
        }
    },
)
async def save_draft(request: Request, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.rules.save_draft(admin, await _document(request))


ProgramField = Annotated[StrictStr, Field(max_length=2000)]


@router.get(
    "/draft/program",
    summary="The program editor's fields: the draft's, else the version in force's, else the example",
    response_model=DraftProgramAnswer,
)
async def program_fields(svc: Svc, admin: NetworkAdmin) -> DraftProgramAnswer:
    start = await svc.rules.editor_start(admin)
    saved_at = await svc.rules.draft_saved_at(admin)
    return DraftProgramAnswer(
        source=start.source,
        version=start.version,
        fields=form_fields(start.form, admin.currency),
        draft_saved_at=None if saved_at is None else saved_at.isoformat(),
        yaml_draft=start.yaml_draft,
    )


@router.put(
    "/draft/program",
    summary="Save the draft rule set the program editor's fields describe (docs/program-editor.md); answers its "
    "conflicts and the YAML written",
)
async def save_program(
    svc: Svc, admin: NetworkAdmin, body: Annotated[dict[str, ProgramField], Body(max_length=100)]
) -> dict[str, Any]:
    """Body: the editor's fields as strings, e.g. `{"tier1_accrual": "3", "tier1_cap": "15", "tier2_from":
    "10000.00", …, "min_check": "1500.00"}`; a bad or unknown field is a 422 naming it."""
    refuse_unknown_fields(body)
    program = parse_program_form(body, admin.currency)
    document = program_document(program, admin.currency)
    return await svc.rules.save_draft(admin, document, program) | {"yaml": program_yaml(document)}


@router.get("/draft", summary="The draft rule set with its conflicts")
async def draft(svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.rules.draft(admin)


@router.post("/draft/publish", summary="Publish the draft now or at a future time; refused while it has errors")
async def publish(svc: Svc, admin: NetworkAdmin, body: Annotated[PublishBody | None, Body()] = None) -> dict[str, Any]:
    return await svc.rules.publish(admin, body.effective_from if body else None)


@router.post(
    "/explain",
    summary="Run a hypothetical purchase through the draft (or a version): every rule and why it applied or not",
)
async def explain(request: Request, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    """Body: `items` (sku, category, tags, quantity, unit_price) or `amount`; `outlet` (name), `at` (ISO 8601),
    `member` (lifetime_spend, period_spend, previous_period_spend, segments, card_type, visit_count, birth_date,
    points_balance), `coupons`, `redeem_points`, `trigger`, `version` (the draft if omitted)."""
    return await svc.rules.explain(admin, await _document(request))


class SimulateBody(BaseModel):
    model_config = {"extra": "forbid"}
    from_: datetime = Field(alias="from", description="start of the period (ISO 8601 with offset), inclusive")
    to: datetime = Field(description="end of the period, exclusive")
    version: PathId | None = Field(default=None, description="a version to simulate; the draft if omitted")


@router.post("/simulate", summary="Price the stored purchases of a period with the draft; nothing is written")
async def simulate(body: SimulateBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.rules.simulate(admin, body.from_, body.to, body.version)


# not paged: bounded, the documented context and functions are fixed by the code
@router.get("/context", summary="The documented context conditions are written over, and the extra functions")
async def context(admin: NetworkAdmin) -> dict[str, Any]:
    from coalition.domain.rules.context import DOCUMENTED_CONTEXT
    from coalition.domain.rules.expressions import FUNCTIONS

    return {
        "fields": [{"path": f.path, "type": f.cel_type, "meaning": f.meaning} for f in DOCUMENTED_CONTEXT],
        "functions": sorted(FUNCTIONS),
        "reference": "docs/rules.md",
    }


@router.get(
    "/schema",
    summary='The JSON Schema of a rule-set document, for editors (docs/rules.md, "Checking a rule set as you type")',
    response_model=None,
    responses={200: {"content": {SCHEMA_TYPE: {"schema": {"type": "object"}}}}},
)
async def schema(admin: NetworkAdmin) -> Response:
    """Generated from the declarations the parser reads documents by: a key it does not declare is refused."""
    return JSONResponse(rule_set_schema(), media_type=SCHEMA_TYPE)


@router.get("", summary="Every version, newest first, in pages, and the one in force", responses=PAGE_RESPONSES)
async def history(request: Request, response: Response, svc: Svc, admin: NetworkAdmin, page: Paging) -> dict[str, Any]:
    found = (await svc.rules.history(admin)).json()
    versions = paged(request, response, "versions", found["versions"], page, lambda v: v["version"], descending=True)
    return {**found, **versions}


@router.get(
    "/{version}",
    summary="One version, as JSON or (format=yaml) YAML",
    response_model=None,
    responses={200: {"content": {"application/json": {}, "application/yaml": {"schema": {"type": "object"}}}}},
)
async def version(
    version: PathId, svc: Svc, admin: NetworkAdmin, format: Annotated[str, Query(pattern="^(json|yaml)$")] = "json"
) -> dict[str, Any] | Response:
    document = await svc.rules.version(admin, version)
    if format == "yaml":
        return PlainTextResponse(
            yaml.safe_dump(document, sort_keys=False, allow_unicode=True), media_type="application/yaml"
        )
    return document
