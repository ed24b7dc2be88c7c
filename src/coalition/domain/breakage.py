"""Points breakage: what happens to the granting partner's obligation when its points expire unused (per network).

A partner owes the settlement node the settlement value of every point its outlets grant (domain.purchase). Points
that expire unused will never be honoured, so the node will never pay anyone for them. Each network chooses what
becomes of the granting partner's obligation for them:

- `kept` (the default): the node keeps it — the partner still owes the full value;
- `returned`: the node releases it — it posts the expired points' settlement value back to the partner;
- `shared`: the partner gets `share_bp` basis points of that value back and the node keeps the rest.

Rounding (`shared`): the partner's share is rounded down to the minor unit, once per granting partner and expiry
transaction (one member's sweep); the remainder stays with the node. Points the node itself granted (birthday
bonuses) are owed by nobody: their breakage is the node's whatever the policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from coalition.domain.errors import InvalidInput
from coalition.domain.money import BASIS_POINTS_PER_WHOLE, share_of_minor_floor


class PointsBreakage(StrEnum):
    KEPT = "kept"  # the node keeps the granting partner's obligation
    RETURNED = "returned"  # the node posts the expired points' value back to the granting partner
    SHARED = "shared"  # a share of that value goes back to the partner, the rest stays with the node


@dataclass(frozen=True, slots=True)
class BreakagePolicy:
    kind: PointsBreakage = PointsBreakage.KEPT
    share_bp: int | None = None  # `shared` only: the granting partner's share of the value, in basis points

    def __post_init__(self) -> None:
        if self.kind is not PointsBreakage.SHARED:
            if self.share_bp is not None:
                raise InvalidInput(
                    f"share_bp applies only to the 'shared' policy, not to '{self.kind.value}'", field="share_bp"
                )
            return
        if self.share_bp is None:
            raise InvalidInput("the 'shared' policy needs share_bp: the partner's share, 0 to 10000", field="share_bp")
        if not 0 <= self.share_bp <= BASIS_POINTS_PER_WHOLE:
            raise InvalidInput(
                f"share_bp is 0 to {BASIS_POINTS_PER_WHOLE} basis points, not {self.share_bp}", field="share_bp"
            )

    def returned_minor(self, value_minor: int) -> int:
        """What goes back to the partner that granted expired points worth `value_minor` (their settlement value).

        Rounding: under `shared` the partner's share rounds down to the minor unit; the remainder is the node's."""
        if self.kind is PointsBreakage.KEPT:
            return 0
        if self.kind is PointsBreakage.RETURNED:
            return value_minor
        return share_of_minor_floor(value_minor, self.share_bp or 0)


KEEP_BREAKAGE = BreakagePolicy()


def parse_breakage_policy(policy: object, share_bp: object = None) -> BreakagePolicy:
    """The policy an administrator sends: `policy` names it; `share_bp` only with `shared`."""
    choices = ", ".join(f"'{kind.value}'" for kind in PointsBreakage)
    if not isinstance(policy, str):
        raise InvalidInput(f"policy is one of {choices}", field="policy")
    try:
        kind = PointsBreakage(policy.strip())
    except ValueError:
        raise InvalidInput(f"'{policy}' is not a breakage policy: use one of {choices}", field="policy") from None
    if share_bp is not None and (isinstance(share_bp, bool) or not isinstance(share_bp, int)):
        raise InvalidInput("share_bp is a whole number of basis points (2500 = 25 %)", field="share_bp")
    return BreakagePolicy(kind, share_bp)
