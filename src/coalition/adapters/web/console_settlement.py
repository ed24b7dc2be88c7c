"""Periods and settlement in the console: close a period, its statement and transfer plan."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/console", include_in_schema=False)
