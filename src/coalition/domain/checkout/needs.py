"""What a rule set tells the loader to read beyond the member's points: only what its rules at this outlet use."""

from __future__ import annotations

from coalition.domain.rules.engine import CompiledRuleSet
from coalition.domain.rules.model import AccrueFixed, AccruePercent, ExpiryKind, GrantGift, Trigger


def needs_open_visit(rules: CompiledRuleSet | None, partner: str, outlet: str) -> bool:
    """A purchase rule here accrues points that end with the member's visit: the open visit is read."""
    if rules is None:
        return False
    return any(
        isinstance(effect, AccruePercent | AccrueFixed) and effect.expiry.kind is ExpiryKind.END_OF_VISIT
        for compiled in rules.candidates(Trigger.PURCHASE, partner, outlet)
        for effect in compiled.rule.effects
    )


def gift_codes(rules: CompiledRuleSet | None, partner: str, outlet: str) -> tuple[str, ...]:
    """The gift types purchase rules here may grant, sorted: their catalogue entries are read."""
    if rules is None:
        return ()
    return tuple(
        sorted(
            {
                effect.gift_type
                for compiled in rules.candidates(Trigger.PURCHASE, partner, outlet)
                for effect in compiled.rule.effects
                if isinstance(effect, GrantGift)
            }
        )
    )
