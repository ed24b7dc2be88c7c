"""The administrator sets the network's points breakage policy (domain.breakage): what becomes of the granting
partner's obligation for points that expire unused — kept by the node, returned to the partner, or shared."""

from __future__ import annotations

from typing import Any

from coalition.application.audit import entry
from coalition.application.points_expiry import breakage_json
from coalition.application.pos import PosService
from coalition.domain.breakage import parse_breakage_policy


class BreakageService:
    def __init__(self, pos: PosService) -> None:
        self.pos = pos

    async def points(self, network_id: int) -> dict[str, Any]:
        async with self.pos.unit_of_work() as uow:
            return breakage_json(await uow.points_breakage(network_id))

    async def set_points(self, network_id: int, policy: object, share_bp: object = None) -> dict[str, Any]:
        """Takes effect for the sweeps that follow: at once in this process, within seconds in others."""
        chosen = parse_breakage_policy(policy, share_bp)
        async with self.pos.unit_of_work() as uow:
            before = breakage_json(await uow.points_breakage(network_id))
            await uow.set_points_breakage(network_id, chosen)
            after = breakage_json(chosen)
            await uow.audit(entry(network_id, "points.breakage", "network", network_id, before=before, after=after))
        self.pos.forget_breakage_policies()
        return breakage_json(chosen)
