"""Visits to a closed venue: started at the entry, ended once at the exit, in the reach of the partner that opened
them (docs/terminal-reach.md)."""

from __future__ import annotations

from typing import Protocol

from coalition.domain.visits import Visit


class VisitsPort(Protocol):
    async def insert_visit(self, network_id: int, visit: Visit) -> None: ...
    async def visit(
        self, network_id: int, visit_id: str, *, lock: bool, partner_id: int, bought_in: bool = False
    ) -> Visit | None:
        """The visit if it is in the reach of `partner_id`: opened at one of its outlets, or (`bought_in`) one in
        which the member bought at one of them."""
        ...

    async def open_visit_of(self, member_id: int) -> Visit | None: ...
    async def end_visit(self, visit: Visit, reset_tx_id: int | None) -> bool:
        """Record the end of a visit that is still open; False when it ended meanwhile."""
        ...
