"""Answers of the admin API described in /openapi.json, so that typed clients (coalition_client) are held to them:
cashiers and the jobs' schedules. Times stay the text the services write (ISO 8601 with offset)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class CashierAnswer(BaseModel):
    id: int
    outlet_id: int
    login: str
    name: str


class CashierPasswordAnswer(BaseModel):
    id: int
    password_changed: bool


class CashierActiveAnswer(BaseModel):
    id: int
    active: bool


class JobRunAnswer(BaseModel):
    id: int
    job: str
    period: str = Field(description="the period the run is for: a day, a month, or the expiry's slot")
    status: str = Field(description="running, done or failed")
    trigger: str = Field(description="scheduler, cli or api")
    claimed_by: str
    attempts: int
    started_at: str
    finished_at: str | None
    lease_until: str | None
    next_attempt_at: str | None
    error: str | None
    result: Any = Field(description="what the job reported (JSON), when it finished")


class NextRunAnswer(BaseModel):
    period: str
    at: str = Field(description="in the network's time zone")


class ScheduleAnswer(BaseModel):
    job: str
    enabled: bool
    cadence: str = Field(description="daily, interval or monthly")
    time: str | None = Field(description="HH:MM in the network's time zone (daily and monthly jobs)")
    every_minutes: int | None
    day_of_month: int | None
    default: bool = Field(description="never changed: the built-in schedule")
    next_run: NextRunAnswer | None = Field(description="none: disabled (left to cron)")
    due_period: str
    last_run: JobRunAnswer | None
    blocked: str | None = Field(description="why the scheduler waits (e-mail off), if it does")


class SchedulesAnswer(BaseModel):
    timezone: str
    now: str
    schedules: list[ScheduleAnswer]


class JobRunsAnswer(BaseModel):
    runs: list[JobRunAnswer]
    next_cursor: str | None = Field(description="the next page's cursor; null on the last page")


class CouponsCreatedAnswer(BaseModel):
    campaign: str
    valid_from: str
    valid_until: str
    uses: int = Field(description="uses per code")
    member_id: int | None = Field(description="the only member who may use them, if one")
    codes: list[str]


class CouponAnswer(BaseModel):
    id: int = Field(description="the coupon's number: pages follow it")
    code: str
    campaign: str
    member_id: int | None
    valid_from: str
    valid_until: str
    uses: int = Field(description="uses so far")
    max_uses: int


class CouponsAnswer(BaseModel):
    coupons: list[CouponAnswer]
    next_cursor: str | None = Field(description="the next page's cursor; null on the last page")


class PermissionEntryAnswer(BaseModel):
    outlet: str
    counter: str
    operations: list[str]


class PermissionsAnswer(BaseModel):
    defined: bool = Field(description="false: no matrix, every outlet may do everything")
    entries: list[PermissionEntryAnswer]


# --- the states the admin edits change, each read by a GET at the edit's own path (its ETag is the edit's If-Match)


class CashierPasswordState(BaseModel):
    id: int
    login: str
    active: bool
    password_changed_at: str | None = Field(
        description="when an administrator or owner last set the password (the audit log); null: as created"
    )


class PartnerEmailAnswer(BaseModel):
    id: int
    email: str | None = Field(description="where its statements and daily reports go; null: not set")
    language: str | None = Field(description="the language they are written in; null: English")


class MemberLabelsAnswer(BaseModel):
    member_id: int
    tier: str = Field(description="empty: none")
    segments: list[str]


class AdminKeyExpiryAnswer(BaseModel):
    network: str
    expires_at: str | None = Field(description="null: never")


class TerminalKeyExpiryAnswer(BaseModel):
    id: int
    expires_at: str | None = Field(description="null: never")


class DraftProgramAnswer(BaseModel):
    source: str = Field(description="draft, in_force or example: whose form the fields are")
    version: int | None = Field(description="the version whose form is shown (null: the example)")
    fields: dict[str, str] = Field(description="the program editor's fields, as PUT takes them")
    draft_saved_at: str | None = Field(description="when the draft was last saved, by either PUT; null: no draft")
    yaml_draft: int | None = Field(
        description="a draft written as YAML, which the form cannot show; saving replaces it"
    )
