"""Reports in the console: any day's figures per outlet and per cashier, with charts, and settlement statements."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/console", include_in_schema=False)
