"""The network a caller acts on, as every service names it (its own module: the key checks need it, and the
administration that defines networks needs the key checks)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NetworkRef:
    id: int
    code: str
    name: str
    currency: str
