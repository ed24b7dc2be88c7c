"""The admin API: the network administrator's key manages partners, outlets, terminals, cashiers and members (their
lists and the network itself: adapters/http/network_routes.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from coalition.adapters.http.actors import act_for_request, key_fingerprint
from coalition.adapters.http.admin_answers import (
    CashierActiveAnswer,
    CashierAnswer,
    CashierPasswordAnswer,
    CashierPasswordState,
    CouponsAnswer,
    CouponsCreatedAnswer,
    MemberLabelsAnswer,
    PartnerEmailAnswer,
    PermissionsAnswer,
)
from coalition.adapters.http.body_limits import require_operator
from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, PathId, Svc, bearer
from coalition.adapters.http.list_routes import Since, Until
from coalition.adapters.http.pagination import (
    MAX_LIMIT,
    PAGE_RESPONSES,
    PageRequest,
    Paging,
    announce,
    next_cursor_of,
    older_page,
    paged,
    paging_of,
)
from coalition.adapters.http.pos_answers import StatementAnswer
from coalition.adapters.http.schemas import (
    MAX_RECORD_ID,
    CashierBody,
    ConsoleUserBody,
    CouponsBody,
    GiftTypeBody,
    MatrixBody,
    MemberLabelsBody,
    NetworkBody,
    OutletBody,
    PartnerBody,
    PartnerEmailBody,
    PasswordBody,
    TerminalBody,
)
from coalition.adapters.web.sessions import client_address
from coalition.application.audit import AuditQuery
from coalition.application.member_admin import MemberAdministration
from coalition.application.period_close import month_of
from coalition.application.ports import LineWindow
from coalition.application.scheduled_jobs import expire_all
from coalition.application.scheduler import utc_today
from coalition.domain.errors import NotFound
from coalition.domain.limits import MAX_LINES_CEILING, MAX_POINTS_CEILING
from coalition.domain.schedules import BIRTHDAYS, DAILY_REPORTS, EXPIRE, PERIOD_CLOSE

router = APIRouter(prefix="/v1/admin", tags=["Admin"], route_class=CheckedRoute)


@router.post("/networks", status_code=201, summary="Create a network (operator token only)")
async def create_network(
    request: Request, body: NetworkBody, svc: Svc, key: Annotated[str | None, Depends(bearer)]
) -> dict[str, Any]:
    operator_key = require_operator(svc.settings.operator_token, key)
    act_for_request(request, client_address(request), "operator", key_fingerprint(operator_key))
    program = body.program.to_settings(body.currency)
    return await svc.admin.create_network(
        body.code, body.name, body.currency, program, admin_key_expires_at=body.admin_key_expires_at
    )


@router.post("/partners", status_code=201)
async def create_partner(body: PartnerBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.admin.create_partner(admin, body.name)


@router.post("/outlets", status_code=201)
async def create_outlet(body: OutletBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.admin.create_outlet(admin, body.partner_id, body.name, body.timezone)


@router.post("/terminals", status_code=201, summary="Create a terminal; its key is shown only in this answer")
async def create_terminal(body: TerminalBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.admin.create_terminal(admin, body.outlet_id, body.name, expires_at=body.expires_at)


@router.delete("/terminals/{terminal_id}", summary="Revoke a terminal: its key is refused from now on")
async def revoke_terminal(terminal_id: PathId, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    revoked = await svc.admin.deactivate_terminal(admin, terminal_id)
    svc.pos.forget_terminal_keys()
    return revoked


@router.post("/cashiers", status_code=201, response_model=CashierAnswer)
async def create_cashier(body: CashierBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.admin.create_cashier(admin, body.outlet_id, body.login, body.name, body.password)


@router.get(
    "/cashiers/{cashier_id}/password",
    summary="A cashier's sign-in state: login, active, when the password was last set (never the password)",
    response_model=CashierPasswordState,
)
async def password_state(cashier_id: PathId, svc: Svc, admin: NetworkAdmin) -> CashierPasswordState:
    cashier = await svc.admin.cashier(admin, cashier_id)
    query = AuditQuery(
        admin.id, action="cashier.password_reset", object_type="cashier", object_id=str(cashier_id), limit=1
    )
    last = await svc.audit.entries(query)
    changed_at = last[0].recorded_at.isoformat() if last else None
    return CashierPasswordState(
        id=cashier.id, login=cashier.login, active=cashier.active, password_changed_at=changed_at
    )


@router.put(
    "/cashiers/{cashier_id}/password",
    summary="Change a cashier's password at once",
    response_model=CashierPasswordAnswer,
)
async def set_password(cashier_id: PathId, body: PasswordBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    changed = await svc.admin.set_cashier_password(admin, cashier_id, body.password)
    await svc.web_sessions.sign_out_cashier(cashier_id)  # the old password's sessions end with it
    return changed


class CashierActiveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    active: StrictBool = Field(description="false blocks the cashier: no sign-in, no purchases naming them")


@router.get("/cashiers/{cashier_id}/active", summary="Whether a cashier is blocked", response_model=CashierActiveAnswer)
async def cashier_active(cashier_id: PathId, svc: Svc, admin: NetworkAdmin) -> CashierActiveAnswer:
    cashier = await svc.admin.cashier(admin, cashier_id)
    return CashierActiveAnswer(id=cashier.id, active=cashier.active)


@router.put(
    "/cashiers/{cashier_id}/active", summary="Block or unblock a cashier at once", response_model=CashierActiveAnswer
)
async def set_cashier_active(
    cashier_id: PathId, body: CashierActiveBody, svc: Svc, admin: NetworkAdmin
) -> dict[str, Any]:
    changed = await svc.admin.set_cashier_active(admin, cashier_id, body.active)
    if not body.active:
        await svc.web_sessions.sign_out_cashier(cashier_id)  # a blocked cashier's open terminals close now
    return changed


@router.get(
    "/members/{identifier}/statement",
    response_model=StatementAnswer,
    summary="A member's points transactions with the running balance, newest pages first, each oldest first",
    responses=PAGE_RESPONSES,
)
async def statement(
    request: Request,
    response: Response,
    identifier: str,
    svc: Svc,
    admin: NetworkAdmin,
    page: Annotated[PageRequest, Depends(paging_of(MAX_LIMIT))],
    since: Since = None,
    until: Until = None,
) -> StatementAnswer:
    """Each transaction shows the points it brought (`points_earned`) and took (`points_spent`), their net and the
    balance after it. The first page holds the newest `limit` transactions, oldest first; `next_cursor` reads the
    ones before them. `since`/`until` narrow it by recorded time; the balances still count every transaction."""
    window = LineWindow(page.after, since, until)
    found = await svc.pos.statement(admin.id, identifier, page.limit + 1, window)
    lines, cursor = older_page(found.transactions, page, lambda line: line.tx_id)
    answer = StatementAnswer.of(replace(found, transactions=tuple(lines)))
    return answer.model_copy(update={"next_cursor": announce(request, response, cursor)})


@router.get(
    "/members/{identifier}",
    summary="A member's tier and segments, as PATCH sets them",
    response_model=MemberLabelsAnswer,
)
async def member_labels(identifier: str, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await MemberAdministration(svc.pos).member_labels(admin.id, identifier)


@router.patch("/members/{identifier}", summary="Set a member's tier and segments, which rules read at the till")
async def set_member_labels(identifier: str, body: MemberLabelsBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    labels = MemberAdministration(svc.pos)
    return await labels.set_member_labels(admin.id, identifier, tier=body.tier, segments=body.segments)


@router.post(
    "/coupons",
    status_code=201,
    summary="Register a campaign's coupon codes, given or generated",
    response_model=CouponsCreatedAnswer,
)
async def create_coupons(body: CouponsBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.coupons.create(admin.id, body.to_request())


@router.get(
    "/coupons",
    summary="The network's coupons with their uses, by campaign and member, in pages",
    response_model=CouponsAnswer,
    responses=PAGE_RESPONSES,
)
async def list_coupons(
    request: Request,
    response: Response,
    svc: Svc,
    admin: NetworkAdmin,
    page: Paging,
    campaign: str | None = None,
    member_id: Annotated[
        int | None,
        Query(ge=1, le=MAX_RECORD_ID, description="only this member may present it; another network's: an empty page"),
    ] = None,
) -> dict[str, Any]:
    found = await svc.coupons.listing(admin.id, campaign, page.limit + 1, page.after, member_id=member_id)
    found["coupons"], cursor = next_cursor_of(found["coupons"], page, lambda coupon: coupon["id"])
    return {**found, "next_cursor": announce(request, response, cursor)}


@router.post("/gift-types", status_code=201, summary="Add a gift type: agreed price and the partners that hand it over")
async def create_gift_type(body: GiftTypeBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.gifts.create_type(admin.id, admin.currency, body.to_request())


@router.get("/gift-types", summary="The network's gift catalogue, in pages", responses=PAGE_RESPONSES)
async def gift_types(
    request: Request, response: Response, svc: Svc, admin: NetworkAdmin, page: Paging
) -> dict[str, Any]:
    found = (await svc.gifts.listing(admin.id, admin.currency))["gift_types"]
    return paged(request, response, "gift_types", found, page, lambda gift_type: gift_type["id"])


# not paged: bounded, the matrix is replaced whole by PUT with at most 10,000 entries (MatrixBody)
@router.get(
    "/permissions", summary="The permissions matrix: outlet × counter × operation", response_model=PermissionsAnswer
)
async def permissions(svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.permissions.matrix(admin.id)


@router.put(
    "/permissions",
    summary="Replace the permissions matrix ([] lets every outlet do everything)",
    response_model=PermissionsAnswer,
)
async def set_permissions(body: MatrixBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.permissions.replace(admin.id, body.to_entries())


@router.get(
    "/partners/{partner_id}/email",
    summary="Where the partner's settlement statements are e-mailed, and in which language",
    response_model=PartnerEmailAnswer,
)
async def partner_email(partner_id: PathId, svc: Svc, admin: NetworkAdmin) -> PartnerEmailAnswer:
    found = next((p for p in await svc.admin.partners(admin) if p["id"] == partner_id), None)
    if found is None:
        raise NotFound(f"this network has no partner {partner_id}", field="partner_id")
    return PartnerEmailAnswer(id=partner_id, email=found["email"], language=found.get("language"))


@router.put("/partners/{partner_id}/email", summary="Where the partner's settlement statements are e-mailed")
async def set_partner_email(
    partner_id: PathId, body: PartnerEmailBody, svc: Svc, admin: NetworkAdmin
) -> dict[str, Any]:
    return await svc.admin.set_partner_email(admin, partner_id, body.email, body.language)


class BirthdaysBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: dt.date | None = Field(default=None, description="the day; today (UTC) if omitted")


@router.post("/jobs/birthdays", summary="Grant the birthday rules' bonuses to members born on the day (daily job)")
async def birthdays(body: BirthdaysBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    day = body.date or utc_today(svc.clock)  # recorded in job_runs: the scheduler does not run this day again
    return await svc.scheduler.run_now(admin.id, BIRTHDAYS, day, "api", lambda: svc.birthdays.grant(admin.id, day))


class DailyReportsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: dt.date | None = Field(default=None, description="the day; yesterday where the outlets are if omitted")
    again: StrictBool = Field(default=False, description="send to partners that were sent this day's report before")


@router.post(
    "/jobs/daily-reports",
    summary="E-mail each partner with an address its day's report: totals, per outlet and cashier, every purchase",
)
async def daily_reports(body: DailyReportsBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    day = body.day or await svc.reports.today(admin.id, None) - dt.timedelta(days=1)
    return await svc.scheduler.run_now(
        admin.id, DAILY_REPORTS, day, "api", lambda: svc.daily_reports.send(admin.id, day, again=body.again)
    )


class PeriodCloseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: StrictStr | None = Field(default=None, description="YYYY-MM (UTC); the month before this one if omitted")


@router.post("/jobs/period-close", summary="Run the period_close rules for every member at the end of a month")
async def period_close(body: PeriodCloseBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    month = month_of(body.month, utc_today(svc.clock))  # a month that is not one is refused before any record
    return await svc.scheduler.run_now(
        admin.id, PERIOD_CLOSE, month.start.date(), "api", lambda: svc.period_close.run(admin.id, month.label)
    )


class BreakageBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gifts: str = Field(description="'kept' (the node keeps the granting partner's obligation) or 'released'")


@router.get("/gift-breakage", summary="What happens to a gift's obligation when it expires unused")
async def gift_breakage(svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.gifts.breakage(admin.id)


@router.put("/gift-breakage", summary="Keep or release the granting partner's obligation for expired gifts")
async def set_gift_breakage(body: BreakageBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.gifts.set_breakage(admin.id, body.gifts)


class PointsBreakageBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: StrictStr = Field(
        description="'kept' (the node keeps the granting partner's obligation), 'returned' (the expired points' "
        "settlement value goes back to the partner that granted them) or 'shared'",
        examples=["shared"],
    )
    share_bp: StrictInt | None = Field(
        default=None,
        description="'shared' only: the granting partner's share of the value, 0 to 10000 basis points (rounded "
        "down to the minor unit; the remainder stays with the node)",
        examples=[2500],
    )


@router.get("/points-breakage", summary="What happens to the granting partner's obligation when points expire")
async def points_breakage(svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.breakage.points(admin.id)


@router.put("/points-breakage", summary="Keep, return or share the value of points that expire unused")
async def set_points_breakage(body: PointsBreakageBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.breakage.set_points(admin.id, body.policy, body.share_bp)


@router.post(
    "/jobs/expire",
    summary="Post expired points to breakage, expire gifts not handed over in time, gift cards past their validity "
    "and release devices' holds past their expiry",
)
async def expire(svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    def work() -> Awaitable[dict[str, Any]]:  # gift cards audited as job.expire_gift_cards
        return expire_all(svc.pos, svc.audit, svc.gift_cards, svc.device_charges, admin.id)

    return await svc.scheduler.run_now(admin.id, EXPIRE, None, "api", work)


@router.post("/console-users", status_code=201, summary="Create a login for the web console (/console)")
async def create_console_user(body: ConsoleUserBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    user_id = await svc.web_sessions.add_console_user(
        admin.id, body.role, body.partner_id, body.login, body.name, body.password
    )
    return {"id": user_id, "role": body.role, "partner_id": body.partner_id, "login": body.login, "name": body.name}


class LimitsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_amount: StrictStr | None = Field(
        default=None, max_length=32, description="the largest check, line total or unit price", examples=["50000.00"]
    )
    max_quantity: StrictStr | StrictInt | None = Field(
        default=None, description="the largest quantity of a line", examples=["1000"]
    )
    max_lines_per_purchase: StrictInt | None = Field(default=None, ge=1, le=MAX_LINES_CEILING)
    max_points_per_purchase: StrictInt | None = Field(
        default=None, ge=1, le=MAX_POINTS_CEILING, description="redeemed, and earned, by one purchase"
    )


@router.get("/limits", summary="The network's limits on one purchase: amount, quantity, lines, points")
async def limits(svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.limits.limits(admin.id, admin.currency)


@router.put("/limits", summary="Change the limits given; a purchase beyond one is refused with a 422 naming the field")
async def set_limits(body: LimitsBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.limits.set_limits(admin.id, admin.currency, **body.model_dump())
