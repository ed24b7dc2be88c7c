"""Rule sets: edit a draft, see its conflicts, publish it now or later, read the history (issue 3).

The draft is checked whenever it is saved (a rule that does not parse or type-check is refused, naming the rule and
the field, and the stored draft is left as it was); publishing re-checks it and refuses while any conflict is an
error. Published versions never change: the next edit starts a new draft.
"""

from __future__ import annotations

import json
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from coalition.application.admin import NetworkRef
from coalition.application.ports import Clock
from coalition.domain.errors import Conflict, InvalidInput, NotFound
from coalition.domain.rules.conflicts import Finding, Network, Severity, find_conflicts
from coalition.domain.rules.engine import CompiledRuleSet, compile_rule_set
from coalition.domain.rules.model import RuleSet
from coalition.domain.rules.parsing import parse_rule_set, rule_set_to_data

MAX_BODY_CHARS = 2_000_000


@dataclass(frozen=True, slots=True)
class StoredRuleSet:
    version: int
    status: str  # draft | published
    body: str
    updated_at: datetime
    published_at: datetime | None = None
    effective_from: datetime | None = None


class RulesUnitOfWork(Protocol):
    async def draft(self, network_id: int) -> StoredRuleSet | None: ...
    async def version(self, network_id: int, version: int) -> StoredRuleSet | None: ...
    async def history(self, network_id: int) -> list[StoredRuleSet]: ...
    async def in_force(self, network_id: int, at: datetime) -> StoredRuleSet | None: ...
    async def save_draft(self, network_id: int, body: str, now: datetime) -> int: ...
    async def publish_draft(self, network_id: int, version: int, now: datetime, effective_from: datetime) -> bool: ...
    async def scope_names(self, network_id: int) -> tuple[frozenset[str], frozenset[str]]: ...


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


class RulesService:
    def __init__(self, unit_of_work: RulesUnitOfWorkFactory, clock: Clock) -> None:
        self.unit_of_work = unit_of_work
        self.clock = clock
        self._compiled: dict[tuple[int, int], CompiledRuleSet] = {}

    async def save_draft(self, network: NetworkRef, data: object) -> dict[str, Any]:
        """Check and store the draft (replacing the current one); answer its findings."""
        rule_set = parse_rule_set(data, network.currency)
        body = json.dumps(rule_set_to_data(rule_set, network.currency), ensure_ascii=False)
        if len(body) > MAX_BODY_CHARS:
            raise InvalidInput("this rule set is too large", field="rules")
        async with self.unit_of_work() as uow:
            version = await uow.save_draft(network.id, body, self.clock.now())
            findings = await self._findings(uow, network, rule_set, version)
        return self._answer(network, version, "draft", rule_set, findings)

    async def draft(self, network: NetworkRef) -> dict[str, Any]:
        async with self.unit_of_work() as uow:
            stored = await uow.draft(network.id)
            if stored is None:
                raise NotFound("this network has no draft rule set: PUT one first", field="draft")
            rule_set = parse_rule_set(json.loads(stored.body), network.currency)
            findings = await self._findings(uow, network, rule_set, stored.version)
        return self._answer(network, stored.version, stored.status, rule_set, findings)

    async def publish(self, network: NetworkRef, effective_from: datetime | None) -> dict[str, Any]:
        now = self.clock.now()
        start = effective_from or now
        if start.tzinfo is None:
            raise InvalidInput("effective_from needs its offset, e.g. +03:00", field="effective_from")
        async with self.unit_of_work() as uow:
            stored = await uow.draft(network.id)
            if stored is None:
                raise NotFound("there is no draft to publish", field="draft")
            rule_set = parse_rule_set(json.loads(stored.body), network.currency)
            findings = await self._findings(uow, network, rule_set, stored.version)
            errors = [f for f in findings if f.severity is Severity.ERROR]
            if errors:
                raise Conflict(
                    f"the draft has {len(errors)} conflict(s) that are errors: "
                    + "; ".join(f.message for f in errors[:5]),
                    field="draft",
                )
            if not await uow.publish_draft(network.id, stored.version, now, max(start, now)):
                raise Conflict("the draft changed while it was being published: try again", field="draft")
        answer = self._answer(network, stored.version, "published", rule_set, findings)
        return answer | {"published_at": now.isoformat(), "effective_from": max(start, now).isoformat()}

    async def history(self, network: NetworkRef) -> dict[str, Any]:
        async with self.unit_of_work() as uow:
            stored = await uow.history(network.id)
            current = await uow.in_force(network.id, self.clock.now())
        return {
            "in_force": current.version if current else None,
            "versions": [
                {
                    "version": s.version,
                    "status": s.status,
                    "rules": len(json.loads(s.body)["rules"]),
                    "updated_at": s.updated_at.isoformat(),
                    "published_at": s.published_at.isoformat() if s.published_at else None,
                    "effective_from": s.effective_from.isoformat() if s.effective_from else None,
                }
                for s in stored
            ],
        }

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
            rule_set = parse_rule_set(json.loads(stored.body), network.currency)
            self._compiled[key] = compile_rule_set(rule_set, stored.version)
        return self._compiled[key]

    async def _findings(
        self, uow: RulesUnitOfWork, network: NetworkRef, rule_set: RuleSet, version: int
    ) -> list[Finding]:
        partners, outlets = await uow.scope_names(network.id)
        return find_conflicts(compile_rule_set(rule_set, version), Network(partners, outlets), self.clock.now())

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
