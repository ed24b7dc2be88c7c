"""Members and cards in the console: search by any identifier, a member's statement, block, replace."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/console", include_in_schema=False)
