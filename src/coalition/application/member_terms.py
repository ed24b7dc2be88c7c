"""The terms in force in a till's member summary (GET /v1/members/{identifier}, the terminal's member panel).

The rule set in force prices the member's next check — the published one, else the built-in program's own rules
(domain.rules.builtin) — so the summary shows what that set gives the member at this outlet, now: the `tier` object
keeps its keys (the program's threshold only for the built-in set), and `terms` says it in basis points with the
rules that give it.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from coalition.application.ports import TerminalContext
from coalition.domain.bonus import BonusProgram
from coalition.domain.rules.builtin import builtin_rule_set
from coalition.domain.rules.context import MemberFacts
from coalition.domain.rules.engine import CompiledRuleSet
from coalition.domain.rules.terms import TermsInForce, terms_in_force


def member_terms(
    rules: CompiledRuleSet | None, program: BonusProgram, member: MemberFacts, ctx: TerminalContext, now: datetime
) -> TermsInForce:
    """The terms the rule set in force gives the member at the terminal's outlet, at its local time."""
    return terms_in_force(
        rules or builtin_rule_set(program),
        member,
        outlet=ctx.outlet_name,
        partner=ctx.partner_name,
        now_utc=now,
        local_time=now.astimezone(ZoneInfo(ctx.timezone)),
    )
