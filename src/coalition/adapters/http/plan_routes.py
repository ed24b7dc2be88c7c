"""Plans of the hosted service over HTTP (issue 18, point 6; docs/plans.md): the operator's list of networks with
their plans, a network's plan and trial set, suspension and resumption (operator token); a network's own plan
(its admin key)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from coalition.adapters.http.actors import act_for_request, key_fingerprint
from coalition.adapters.http.body_limits import require_operator
from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, PathId, Svc, bearer
from coalition.adapters.http.pagination import PAGE_RESPONSES, Paging, announce, next_cursor_of
from coalition.adapters.web.sessions import client_address
from coalition.application.operator import NetworkPlan
from coalition.domain.plans import PLANS

router = APIRouter(prefix="/v1/admin", tags=["Plans"], route_class=CheckedRoute)
PLAN_CODES = "|".join(plan.code for plan in PLANS)


class PlanAnswer(BaseModel):
    network_id: int
    code: str = Field(description="the network's code")
    name: str
    plan: str = Field(description=f"one of {', '.join(p.code for p in PLANS)}")
    plan_name: str
    plan_max_members: int | None = Field(description="the plan's own limit on customers; null: none")
    max_members: int | None = Field(description="the limit in force now (the trial's while it is larger); null: none")
    members: int
    trial_ends_at: datetime | None
    in_trial: bool
    suspended_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, network: NetworkPlan, now: datetime) -> PlanAnswer:
        state = network.state
        return cls(
            network_id=network.network_id,
            code=network.code,
            name=network.name,
            plan=state.plan.code,
            plan_name=state.plan.name,
            plan_max_members=state.plan.max_members,
            max_members=state.max_members(now),
            members=network.members,
            trial_ends_at=state.trial_ends_at,
            in_trial=state.in_trial(now),
            suspended_at=state.suspended_at,
            created_at=network.created_at,
        )


class NetworksPage(BaseModel):
    networks: list[PlanAnswer]
    next_cursor: str | None


class PlanBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan: str = Field(pattern=f"^({PLAN_CODES})$", description="the plan's code")
    trial_ends_at: AwareDatetime | None = Field(
        default=None, description="the trial's end (ISO 8601 with its offset); send null to end the trial; omit to keep"
    )


def _operator(request: Request, svc: Svc, key: str | None) -> None:
    operator_key = require_operator(svc.settings.operator_token, key)
    act_for_request(request, client_address(request), "operator", key_fingerprint(operator_key))


OperatorKey = Annotated[str | None, Depends(bearer)]


@router.get("/plan", response_model=PlanAnswer, summary="The network's plan, its customers and its trial")
async def own_plan(svc: Svc, admin: NetworkAdmin) -> PlanAnswer:
    return PlanAnswer.of(await svc.operator.network(admin.id), svc.clock.now())


@router.get(
    "/networks",
    response_model=NetworksPage,
    summary="Every network with its plan and customers, in pages (operator token only)",
    responses=PAGE_RESPONSES,
)
async def networks(request: Request, response: Response, svc: Svc, key: OperatorKey, page: Paging) -> NetworksPage:
    _operator(request, svc, key)
    found = await svc.operator.networks(page.after, page.limit + 1)
    shown, cursor = next_cursor_of(found, page, lambda network: network.network_id)
    now = svc.clock.now()
    return NetworksPage(
        networks=[PlanAnswer.of(network, now) for network in shown], next_cursor=announce(request, response, cursor)
    )


@router.get(
    "/networks/{network_id}/plan", response_model=PlanAnswer, summary="A network's plan, customers and trial (operator)"
)
async def network_plan(request: Request, network_id: PathId, svc: Svc, key: OperatorKey) -> PlanAnswer:
    _operator(request, svc, key)
    return PlanAnswer.of(await svc.operator.network(network_id), svc.clock.now())


@router.put(
    "/networks/{network_id}/plan", response_model=PlanAnswer, summary="Set a network's plan and trial (operator)"
)
async def set_plan(request: Request, network_id: PathId, body: PlanBody, svc: Svc, key: OperatorKey) -> PlanAnswer:
    _operator(request, svc, key)
    changed = await svc.operator.set_plan(
        network_id,
        body.plan,
        trial_ends_at=body.trial_ends_at,
        change_trial="trial_ends_at" in body.model_fields_set,
    )
    return PlanAnswer.of(changed, svc.clock.now())


@router.post(
    "/networks/{network_id}/suspend",
    response_model=PlanAnswer,
    summary="Suspend a network: its tills, devices and enrolments stop; nothing is deleted (operator)",
)
async def suspend(request: Request, network_id: PathId, svc: Svc, key: OperatorKey) -> PlanAnswer:
    _operator(request, svc, key)
    return PlanAnswer.of(await svc.operator.suspend(network_id), svc.clock.now())


@router.post("/networks/{network_id}/resume", response_model=PlanAnswer, summary="Resume a suspended network")
async def resume(request: Request, network_id: PathId, svc: Svc, key: OperatorKey) -> PlanAnswer:
    _operator(request, svc, key)
    return PlanAnswer.of(await svc.operator.resume(network_id), svc.clock.now())
