"""Rule sets in the console: the draft edited with its conflicts beside it, simulated, published; the history."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/console", include_in_schema=False)
