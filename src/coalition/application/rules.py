"""Rule sets: edit a draft, see its conflicts, publish it now or later, read the history (issue 3).

The draft is checked whenever it is saved (a rule that does not parse or type-check is refused, naming the rule and
the field, and the stored draft is left as it was); publishing re-checks it and refuses while any conflict is an
error. Published versions never change: the next edit starts a new draft.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from coalition.application.admin import NetworkRef
from coalition.application.audit import AuditTrail, entry
from coalition.application.cache import TtlCache
from coalition.application.ports import Clock
from coalition.application.program_editor import EditorStart, ProgramForm, WrittenVersion, editor_start, form_json
from coalition.application.rule_explanations import Explanation, explanation_of
from coalition.application.simulation import (
    PAGE_SIZE,
    Simulation,
    StoredSale,
    check_period,
    report_of,
    split_period,
)
from coalition.domain.coupons import MAX_COUPONS_PER_PURCHASE
from coalition.domain.errors import Conflict, InvalidInput, NotFound
from coalition.domain.members import MAX_SEGMENTS
from coalition.domain.money import line_total_minor, parse_quantity_milli
from coalition.domain.purchase import MAX_BASKET_LINES
from coalition.domain.rules.budget import MAX_LINE_TAGS
from coalition.domain.rules.conflicts import Finding, Network, Severity, find_conflicts
from coalition.domain.rules.context import LineFacts, MemberFacts, PurchaseFacts
from coalition.domain.rules.engine import CompiledRuleSet, compile_rule_set, evaluate
from coalition.domain.rules.model import MOMENT_RANGE_MESSAGE, RuleSet, Trigger, within_calendar
from coalition.domain.rules.parsing import Reader, parse_rule_set, rule_set_to_data

MAX_BODY_CHARS = 2_000_000
MAX_COMPILED_SETS = 1000


@dataclass(frozen=True, slots=True)
class StoredRuleSet:
    version: int
    status: str  # draft | published
    body: str
    updated_at: datetime
    published_at: datetime | None = None
    effective_from: datetime | None = None
    editor_form: str | None = None  # the program editor's form that wrote it, as JSON (None: written as YAML)


class RulesUnitOfWork(AuditTrail, Protocol):
    async def draft(self, network_id: int) -> StoredRuleSet | None: ...
    async def version(self, network_id: int, version: int) -> StoredRuleSet | None: ...
    async def history(self, network_id: int) -> list[StoredRuleSet]: ...
    async def in_force(self, network_id: int, at: datetime) -> StoredRuleSet | None: ...
    async def published_schedule(self, network_id: int) -> list[tuple[datetime, int]]:
        """(effective_from, version) of every published version."""
        ...

    async def save_draft(self, network_id: int, body: str, now: datetime, editor_form: str | None = None) -> int:
        """Store the draft (replacing the current one's body and form: None when it was not written by the form)."""
        ...

    async def publish_draft(self, network_id: int, version: int, now: datetime, effective_from: datetime) -> bool: ...
    async def scope_names(self, network_id: int) -> tuple[frozenset[str], frozenset[str]]: ...
    async def gift_type_codes(self, network_id: int) -> frozenset[str]: ...
    async def network_currency(self, network_id: int) -> str | None: ...
    async def outlet_place(self, network_id: int, outlet: str) -> tuple[str, str] | None:
        """The partner's name and the time zone of the outlet with this name."""
        ...

    async def point_value_minor(self, network_id: int) -> int: ...
    async def spend_before(self, network_id: int, start: datetime, end: datetime) -> dict[int, int]: ...
    async def count_sales(self, network_id: int, start: datetime, end: datetime) -> int: ...
    async def summarize_time_index(self) -> None: ...
    async def sales_between(self, network_id: int, start: datetime, end: datetime) -> list[StoredSale]: ...


class RulesUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[RulesUnitOfWork]: ...


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "severity": finding.severity.value,
        "kind": finding.kind,
        "rules": list(finding.rules),
        "message": finding.message,
        "method": finding.method.value,
    }


@dataclass(frozen=True, slots=True)
class RuleSetVersion:
    """One stored version of a network's rule set, as the history lists it."""

    version: int
    status: str
    rules: int
    updated_at: datetime
    published_at: datetime | None
    effective_from: datetime | None

    def json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "status": self.status,
            "rules": self.rules,
            "updated_at": self.updated_at.isoformat(),
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
        }


@dataclass(frozen=True, slots=True)
class RuleSetHistory:
    """Every version, newest first, and the number of the one in force (None: none is)."""

    in_force: int | None
    versions: tuple[RuleSetVersion, ...]

    @property
    def in_force_version(self) -> RuleSetVersion | None:
        return next((v for v in self.versions if v.version == self.in_force), None)

    def json(self) -> dict[str, Any]:
        return {"in_force": self.in_force, "versions": [v.json() for v in self.versions]}


class RulesService:
    def __init__(
        self,
        unit_of_work: RulesUnitOfWorkFactory,
        clock: Clock,
        schedule_ttl_seconds: float = 5.0,
        published: Callable[[], None] | None = None,
    ) -> None:
        self.unit_of_work = unit_of_work
        self.clock = clock
        # told after each publication, so that this worker prices by it at once (the others within their cache's TTL)
        self._published = published
        self._compiled: dict[tuple[int, int], CompiledRuleSet] = {}
        # when each published version took effect, per network: an offline sale is priced by the one in force then
        self._schedules: TtlCache[int, tuple[tuple[datetime, int], ...]] = TtlCache(schedule_ttl_seconds)

    async def save_draft(self, network: NetworkRef, data: object, form: ProgramForm | None = None) -> dict[str, Any]:
        """Check and store the draft (replacing the current one); answer its findings. The checks evaluate every
        condition hundreds of times, so they run in a thread: the worker keeps answering meanwhile (each
        evaluation is short, by the conditions' budget, and hands the interpreter back when it ends).

        `form`: the program editor's form that wrote `data`, kept with the draft (and the version once published)
        so that the editor opens with it; a draft saved without one (YAML) forgets the form it replaced."""
        rule_set = await asyncio.to_thread(parse_rule_set, data, network.currency)
        body = json.dumps(rule_set_to_data(rule_set, network.currency), ensure_ascii=False)
        if len(body) > MAX_BODY_CHARS:
            raise InvalidInput("this rule set is too large", field="rules")
        async with self.unit_of_work() as uow:
            previous = await uow.draft(network.id)
            editor_form = None if form is None else form_json(form)
            version = await uow.save_draft(network.id, body, self.clock.now(), editor_form)
            saved = {
                "version": version,
                "rules": [rule.code for rule in rule_set.rules],
                "written_by": "form" if form is not None else "rules",
            }
            before = None if previous is None else {"version": previous.version}
            await uow.audit(entry(network.id, "rules.save_draft", "rule_set", version, before=before, after=saved))
            findings = await self._findings(uow, network, rule_set, version)
        return self._answer(network, version, "draft", rule_set, findings)

    async def draft(self, network: NetworkRef) -> dict[str, Any]:
        async with self.unit_of_work() as uow:
            stored, rule_set, findings = await self._checked_draft(uow, network)
        return self._answer(network, stored.version, stored.status, rule_set, findings)

    async def draft_saved_at(self, network: NetworkRef) -> datetime | None:
        """When the draft was last saved (None: no draft), by PUT /draft or the program editor alike."""
        async with self.unit_of_work() as uow:
            draft = await uow.draft(network.id)
        return None if draft is None else draft.updated_at

    async def editor_start(self, network: NetworkRef) -> EditorStart:
        """What the program editor opens with: the draft's form, else the in-force version's, else the example."""
        async with self.unit_of_work() as uow:
            draft = await uow.draft(network.id)
            in_force = await uow.in_force(network.id, self.clock.now())
        return editor_start(
            None if draft is None else WrittenVersion(draft.version, draft.editor_form),
            None if in_force is None else WrittenVersion(in_force.version, in_force.editor_form),
        )

    async def _checked_draft(
        self, uow: RulesUnitOfWork, network: NetworkRef
    ) -> tuple[StoredRuleSet, RuleSet, list[Finding]]:
        stored = await uow.draft(network.id)
        if stored is None:
            raise NotFound("this network has no draft rule set: PUT one first", field="draft")
        rule_set = await asyncio.to_thread(parse_rule_set, json.loads(stored.body), network.currency)
        return stored, rule_set, await self._findings(uow, network, rule_set, stored.version)

    async def publish(self, network: NetworkRef, effective_from: datetime | None) -> dict[str, Any]:
        now = self.clock.now()
        start = effective_from or now
        if start.tzinfo is None:
            raise InvalidInput("effective_from needs its offset, e.g. +03:00", field="effective_from")
        if start > now and not within_calendar(start):  # past moments mean now; a far one the drivers cannot store
            raise InvalidInput(f"effective_from is {MOMENT_RANGE_MESSAGE}", field="effective_from")
        async with self.unit_of_work() as uow:
            stored, rule_set, findings = await self._checked_draft(uow, network)
            errors = [f for f in findings if f.severity is Severity.ERROR]
            if errors:
                raise Conflict(
                    f"the draft has {len(errors)} conflict(s) that are errors: "
                    + "; ".join(f.message for f in errors[:5]),
                    field="draft",
                )
            if not await uow.publish_draft(network.id, stored.version, now, max(start, now)):
                raise Conflict("the draft changed while it was being published: try again", field="draft")
            published = {"status": "published", "effective_from": max(start, now).isoformat()}
            await uow.audit(
                entry(
                    network.id, "rules.publish", "rule_set", stored.version, before={"status": "draft"}, after=published
                )
            )
        self._schedules.clear()
        if self._published is not None:
            self._published()
        answer = self._answer(network, stored.version, "published", rule_set, findings)
        return answer | {"published_at": now.isoformat(), "effective_from": max(start, now).isoformat()}

    async def history(self, network: NetworkRef) -> RuleSetHistory:
        async with self.unit_of_work() as uow:
            stored = await uow.history(network.id)
            current = await uow.in_force(network.id, self.clock.now())
        return RuleSetHistory(
            in_force=current.version if current else None,
            versions=tuple(
                RuleSetVersion(
                    version=s.version,
                    status=s.status,
                    rules=len(json.loads(s.body)["rules"]),
                    updated_at=s.updated_at,
                    published_at=s.published_at,
                    effective_from=s.effective_from,
                )
                for s in stored
            ),
        )

    async def version(self, network: NetworkRef, version: int) -> dict[str, Any]:
        async with self.unit_of_work() as uow:
            stored = await uow.version(network.id, version)
        if stored is None:
            raise NotFound(f"this network has no rule set version {version}", field="version")
        document: dict[str, Any] = json.loads(stored.body)
        return {"version": stored.version, "status": stored.status} | document

    async def in_force(self, network: NetworkRef, at: datetime | None = None) -> CompiledRuleSet | None:
        """The published set in force, compiled once per version and kept (published versions never change)."""
        async with self.unit_of_work() as uow:
            stored = await uow.in_force(network.id, at or self.clock.now())
        if stored is None:
            return None
        key = (network.id, stored.version)
        if key not in self._compiled:
            if len(self._compiled) >= MAX_COMPILED_SETS:
                self._compiled.clear()  # old versions of many networks: recompiling the few in force is cheap
            rule_set = parse_rule_set(json.loads(stored.body), network.currency, budgeted=False)  # as published
            self._compiled[key] = compile_rule_set(rule_set, stored.version)
        return self._compiled[key]

    async def in_force_at(self, network_id: int, at: datetime) -> CompiledRuleSet | None:
        """The published set in force at a past (or near) moment: the sale of an offline till is priced by it. The
        versions' start times are cached for a few seconds and each version is compiled once, so this reads the
        database only when a publication may have changed the schedule."""

        async def load() -> tuple[tuple[datetime, int], ...]:
            async with self.unit_of_work() as uow:
                return tuple(await uow.published_schedule(network_id))

        schedule = await self._schedules.get_or_load(network_id, load) or ()
        started = [(effective_from, version) for effective_from, version in schedule if effective_from <= at]
        if not started:
            return None
        version = max(started)[1]  # the latest start, and of two starting together the later version
        if (network_id, version) not in self._compiled:
            async with self.unit_of_work() as uow:
                stored = await uow.version(network_id, version)
                currency = await uow.network_currency(network_id)
            if stored is None or currency is None:
                return None
            self._keep(network_id, stored, currency)
        return self._compiled[(network_id, version)]

    def _keep(self, network_id: int, stored: StoredRuleSet, currency: str) -> None:
        if len(self._compiled) >= MAX_COMPILED_SETS:
            self._compiled.clear()  # old versions of many networks: recompiling the few in force is cheap
        rule_set = parse_rule_set(json.loads(stored.body), currency, budgeted=False)  # as published
        self._compiled[(network_id, stored.version)] = compile_rule_set(rule_set, stored.version)

    async def explain(self, network: NetworkRef, data: object) -> dict[str, Any]:
        """Run a hypothetical event through the draft (or a version): every rule with why it did or did not apply."""
        return (await self.explanation(network, data)).json()

    async def explanation(self, network: NetworkRef, data: object) -> Explanation:
        """`explain`'s answer, typed (the console's rules page reads it)."""
        request = parse_explain(data, network.currency)
        lines, outlet, partner, member, coupons = request.facts_without_time
        now = request.at or self.clock.now()
        async with self.unit_of_work() as uow:
            stored = await (
                uow.draft(network.id) if request.version is None else uow.version(network.id, request.version)
            )
            place = await uow.outlet_place(network.id, outlet) if outlet else None
            point_value_minor = await uow.point_value_minor(network.id)
        if stored is None:
            what = "no draft" if request.version is None else f"no version {request.version}"
            raise NotFound(f"this network has {what}", field="version")
        zone = ZoneInfo(place[1]) if place else ZoneInfo("UTC")
        facts = PurchaseFacts(
            lines, outlet, partner or (place[0] if place else ""), member, now, now.astimezone(zone), coupons
        )
        compiled = compile_rule_set(parse_rule_set(json.loads(stored.body), network.currency), stored.version)
        evaluation = evaluate(compiled, facts, request.trigger, explain=True)
        return explanation_of(evaluation, lines, request.redeem_points, network.currency, point_value_minor)

    async def simulate(
        self,
        network: NetworkRef,
        start: datetime,
        end: datetime,
        version: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Price the stored purchases of [start, end) with the draft (or a version); nothing is written.
        `progress(done, total)` is called after each page, for a progress bar."""
        partial = await self.simulate_part(network, start, end, version, progress)
        return report_of([partial], network.currency) | {"from": start.isoformat(), "to": end.isoformat()}

    async def count_purchases(self, network: NetworkRef, start: datetime, end: datetime) -> int:
        check_period(start, end)
        async with self.unit_of_work() as uow:
            return await uow.count_sales(network.id, start, end)

    async def simulate_part(
        self,
        network: NetworkRef,
        start: datetime,
        end: datetime,
        version: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """One stretch of a simulation, as plain data that `report_of` merges with the other stretches (a long
        period can be split across processes: each stretch starts from the members' spend before it)."""
        check_period(start, end)
        async with self.unit_of_work() as uow:
            stored = await (uow.draft(network.id) if version is None else uow.version(network.id, version))
            if stored is None:
                raise NotFound(
                    "there is no draft to simulate" if version is None else f"no version {version}", field="version"
                )
            point_value_minor = await uow.point_value_minor(network.id)
            await uow.summarize_time_index()
            spent = await uow.spend_before(network.id, start, end)
            total = await uow.count_sales(network.id, start, end)
        rules = compile_rule_set(parse_rule_set(json.loads(stored.body), network.currency), stored.version)
        simulation = Simulation(rules, point_value_minor)

        async def fetch(window: tuple[datetime, datetime]) -> list[StoredSale]:
            async with self.unit_of_work() as page_uow:  # a short transaction per window: tills keep writing
                return await page_uow.sales_between(network.id, *window)

        # Windows of time holding about a page of purchases each: read with a range scan of a BRIN index on
        # PostgreSQL (migration 0009), which costs a purchase nothing to maintain, unlike a B-tree by time.
        windows = split_period(start, end, max(1, -(-total // PAGE_SIZE)))
        done = 0
        following = asyncio.ensure_future(fetch(windows[0]))
        for position in range(len(windows)):
            page = await following
            if position + 1 < len(windows):  # the next window is read while this one is priced
                following = asyncio.ensure_future(fetch(windows[position + 1]))
            for index, sale in enumerate(page):
                if index % 250 == 0:
                    await asyncio.sleep(0)  # let the next window's query go out
                before = spent.get(sale.member_id, 0)
                simulation.add(sale, before)
                spent[sale.member_id] = before + sale.check_minor
            done += len(page)
            if progress is not None:
                progress(done, total)
        return simulation.partial()

    async def in_force_for(self, network_id: int) -> CompiledRuleSet | None:
        """The purchase path's lookup (PosService caches it for a few seconds)."""
        async with self.unit_of_work() as uow:
            currency = await uow.network_currency(network_id)
        if currency is None:
            return None
        return await self.in_force(NetworkRef(network_id, "", "", currency))

    async def _findings(
        self, uow: RulesUnitOfWork, network: NetworkRef, rule_set: RuleSet, version: int
    ) -> list[Finding]:
        partners, outlets = await uow.scope_names(network.id)
        gift_types = await uow.gift_type_codes(network.id)
        known = Network(partners, outlets, gift_types)
        now = self.clock.now()
        return await asyncio.to_thread(lambda: find_conflicts(compile_rule_set(rule_set, version), known, now))

    @staticmethod
    def _answer(
        network: NetworkRef, version: int, status: str, rule_set: RuleSet, findings: list[Finding]
    ) -> dict[str, Any]:
        return {
            "version": version,
            "status": status,
            "rules": rule_set_to_data(rule_set, network.currency)["rules"],
            "findings": [finding_json(finding) for finding in findings],
            "errors": sum(1 for f in findings if f.severity is Severity.ERROR),
            "warnings": sum(1 for f in findings if f.severity is Severity.WARNING),
        }


# --- explain: a hypothetical event run through a rule set, every rule with its reason -----------------------------


@dataclass(frozen=True, slots=True)
class ExplainRequest:
    facts_without_time: tuple[tuple[LineFacts, ...], str, str, MemberFacts, frozenset[str]]
    at: datetime | None
    redeem_points: int
    trigger: Trigger
    version: int | None  # None: the draft


def parse_explain(data: object, currency: str) -> ExplainRequest:
    """A hypothetical purchase, no larger than a till may send: the conditions' cost budget assumes those limits."""
    reader = Reader(data, "", currency)
    items = reader.children("items")
    if len(items) > MAX_BASKET_LINES:
        raise InvalidInput(f"a basket has at most {MAX_BASKET_LINES} lines", field="items")
    lines = tuple(_line(item) for item in items)
    if not lines and reader.has("amount"):
        lines = (LineFacts("", reader.amount("amount")),)
    if not lines and reader.data.get("trigger", "purchase") == "purchase":
        raise InvalidInput("send the check 'amount' or its 'items'", field="amount")
    m = reader.child("member")
    member = MemberFacts(
        kind=m.text("kind", default="personal"),
        tier=m.text("tier", default=""),
        segments=m.strings("segments"),
        lifetime_spend_minor=m.amount("lifetime_spend") if m.has("lifetime_spend") else 0,
        period_spend_minor=m.amount("period_spend") if m.has("period_spend") else 0,
        previous_period_spend_minor=m.amount("previous_period_spend") if m.has("previous_period_spend") else 0,
        visit_count=m.integer("visit_count", default=0),
        birth_date=_date(m, "birth_date"),
        card_type=m.text("card_type", default=""),
        points_balance=m.integer("points_balance", default=0),
    )
    if len(member.segments) > MAX_SEGMENTS:
        raise InvalidInput(f"a member has at most {MAX_SEGMENTS} segments", field="member.segments")
    coupons = reader.strings("coupons")
    if len(coupons) > MAX_COUPONS_PER_PURCHASE:
        raise InvalidInput(f"at most {MAX_COUPONS_PER_PURCHASE} coupons per purchase", field="coupons")
    redeem = reader.integer("redeem_points", default=0)
    if redeem < 0:
        raise InvalidInput("points to redeem cannot be negative", field="redeem_points")
    version = reader.data.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise InvalidInput("a version number, or leave it out for the draft", field="version")
    return ExplainRequest(
        (
            lines,
            reader.text("outlet", default=""),
            reader.text("partner", default=""),
            member,
            coupons,
        ),
        reader.moment("at"),
        redeem,
        reader.choice("trigger", Trigger, default=Trigger.PURCHASE),
        version,
    )


def _line(item: Reader) -> LineFacts:
    quantity_milli = parse_quantity_milli(item.data.get("quantity", 1), field=item.at("quantity"))
    unit_price_minor = item.amount("unit_price")
    tags = item.strings("tags")
    if len(tags) > MAX_LINE_TAGS:
        raise InvalidInput(f"a line has at most {MAX_LINE_TAGS} tags", field=item.at("tags"))
    return LineFacts(
        sku=item.text("sku", limit=100),
        total_minor=line_total_minor(quantity_milli, unit_price_minor),
        quantity_milli=quantity_milli,
        unit_price_minor=unit_price_minor,
        category=item.text("category", limit=100) if item.has("category") else None,
        tags=tags,
    )


def _date(reader: Reader, name: str) -> date | None:
    value = reader.data.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput("expected an ISO date such as 1990-05-04", field=reader.at(name)) from None
