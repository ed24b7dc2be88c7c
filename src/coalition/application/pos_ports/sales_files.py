"""What the import of purchases and refunds made elsewhere reads besides the POS ports (docs/files.md): the purchases
a refunds file names by their receipts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class SalesFilesPort(Protocol):
    async def purchases_by_receipt(self, outlet_id: int, receipts: Sequence[str]) -> dict[str, str]:
        """The id of the purchase recorded at the outlet under each receipt found."""
        ...
